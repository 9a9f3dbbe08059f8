//! The `tcp` step: is `HOST:PORT` accepting connections (or, with `open: false`, not)?

use std::time::Duration;

use super::outcome::{Deadline, Failure};
use super::probe::{Connect, tcp_connect};
use crate::runner::gate::ctx::GateCtx;
use crate::vars;

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
    let outcome = match tcp_connect(&addr, limit).await {
        Connect::Open => Ok(()),
        Connect::Failed(reason) => Err(reason),
        Connect::TimedOut => Err("no answer (connect timed out)".to_owned()),
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
