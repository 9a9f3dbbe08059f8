//! The `tcp` step: is `HOST:PORT` accepting connections (or, with `open: false`, not)?

use std::time::Duration;

use super::{Deadline, Failure, GateCtx};
use crate::vars;

/// `connection refused`, not `Connection refused (os error 111)`.
pub fn io_reason(e: &std::io::Error) -> String {
    let text = e.to_string();
    let text = text.split(" (os error").next().unwrap_or(&text);
    let mut chars = text.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => "an unknown error".to_owned(),
    }
}

pub async fn attempt(
    ctx: &GateCtx,
    address: &str,
    open: bool,
    deadline: &Deadline,
) -> Result<(), Failure> {
    let addr = vars::interpolate(address, &ctx.vars).map_err(|e| Failure::Error(e.to_string()))?;
    let limit = deadline
        .at
        .saturating_duration_since(std::time::Instant::now())
        .min(Duration::from_secs(5));
    let outcome = match tokio::time::timeout(limit, tokio::net::TcpStream::connect(&addr)).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(io_reason(&e)),
        Err(_) => Err("no answer (connect timed out)".to_owned()),
    };
    match (open, outcome) {
        (true, Ok(())) | (false, Err(_)) => Ok(()),
        (true, Err(reason)) => Err(Failure::Check(format!(
            "expected {addr} to be open, got {reason}"
        ))),
        (false, Ok(())) => Err(Failure::Check(format!(
            "expected {addr} to be closed, got a connection"
        ))),
    }
}
