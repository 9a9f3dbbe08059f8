//! The `file` step: a path relative to the gate's `workdir` exists (or not) and its content
//! satisfies patterns.

use std::os::unix::fs::FileTypeExt;

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
        (true, Ok(m)) if !m.is_file() => Err(Failure::Check(format!(
            "expected file {rel} to be a regular file to read, got {}",
            kind_of(&m)
        ))),
        (true, Ok(_)) => {
            let mut data = Vec::new();
            // Without blocking: what was a file when looked at may be a FIFO by now, and
            // opening a FIFO waits for a writer that may never come.
            let file = tokio::fs::OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_NONBLOCK)
                .open(&full)
                .await
                .map_err(|e| Failure::Check(format!("failed to read {rel}: {}", io_reason(&e))))?;
            let m = file
                .metadata()
                .await
                .map_err(|e| Failure::Check(format!("failed to read {rel}: {}", io_reason(&e))))?;
            if !m.is_file() {
                return Err(Failure::Check(format!(
                    "expected file {rel} to be a regular file to read, got {}",
                    kind_of(&m)
                )));
            }
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

/// What a path that is not a regular file is, in a word.
fn kind_of(m: &std::fs::Metadata) -> &'static str {
    let t = m.file_type();
    if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_char_device() || t.is_block_device() {
        "a device"
    } else {
        "not a regular file"
    }
}
