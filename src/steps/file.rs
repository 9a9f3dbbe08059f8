//! The `file` step: a path relative to the gate's `workdir` exists (or not) and its content
//! satisfies patterns.

use tokio::io::AsyncReadExt;

use super::outcome::Failure;
use super::probe::io_reason;
use crate::expect::{self, Pattern};
use crate::runner::gate::ctx::GateCtx;
use crate::vars;

/// How much of a file `contains` reads.
const READ_CAP: u64 = 16 << 20;

pub async fn attempt(
    ctx: &GateCtx,
    path: &str,
    exists: bool,
    contains: &[Pattern],
) -> Result<(), Failure> {
    let rel = vars::interpolate(path, &ctx.vars).map_err(|e| Failure::Error(e.to_string()))?;
    let full = ctx.workdir.join(&rel);
    let meta = tokio::fs::metadata(&full).await;
    match (exists, meta) {
        (false, Err(_)) => Ok(()),
        (false, Ok(m)) => Err(Failure::Check(format!(
            "expected file {rel} not to exist, got a file of {} bytes",
            m.len()
        ))),
        (true, Err(e)) => Err(Failure::Check(format!(
            "expected file {rel} to exist, got {}",
            io_reason(&e)
        ))),
        (true, Ok(_)) if contains.is_empty() => Ok(()),
        (true, Ok(_)) => {
            let mut data = Vec::new();
            let file = tokio::fs::File::open(&full)
                .await
                .map_err(|e| Failure::Check(format!("failed to read {rel}: {}", io_reason(&e))))?;
            file.take(READ_CAP + 1)
                .read_to_end(&mut data)
                .await
                .map_err(|e| Failure::Check(format!("failed to read {rel}: {}", io_reason(&e))))?;
            // One byte past the cap tells that the file goes on.
            let cut = data.len() as u64 > READ_CAP;
            data.truncate(READ_CAP as usize);
            let text = String::from_utf8_lossy(&data);
            let observed = expect::Observed {
                head: &text,
                tail: None,
                cut: cut.then(|| format!("only its first {} MiB were read", READ_CAP >> 20)),
            };
            expect::check_observed(&format!("file {rel}"), contains, &observed, &ctx.vars)?;
            Ok(())
        }
    }
}
