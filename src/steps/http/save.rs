//! `save: PATH`: the response body (decoded) written to a file for later steps, relative to
//! the gate's workdir and inside it, atomically (written aside, then renamed over the target:
//! a later step never reads half a body), its directories made; never through a symbolic link
//! out of the workdir, never into the evidence directory (`paths`).

use super::json::invalid;
use super::response::{BODY_CAP, Received};
use crate::runner::gate::ctx::GateCtx;
use crate::steps::outcome::Failure;
use crate::steps::probe::io_reason;
use crate::vars;

pub(super) async fn save(ctx: &GateCtx, path: &str, received: &Received) -> Result<(), Failure> {
    let rel = vars::interpolate(path, &ctx.vars).map_err(invalid)?;
    crate::files::inside(&rel)
        .and_then(|()| crate::files::names_file(&rel))
        .map_err(|why| Failure::Error(format!("`save` {rel}: {why}")))?;
    // Half a body saved would pass for the whole one in a later check.
    if received.cut {
        return Err(Failure::Check(format!(
            "the body is longer than {} MiB, the most gaterun reads: not saved to {rel}",
            BODY_CAP >> 20
        )));
    }
    // Still-encoded bytes saved would pass for the body in a later step.
    if let Some(encoding) = &received.undecoded {
        return Err(Failure::Check(format!(
            "the body is {encoding}-encoded, which gaterun does not decode: it cannot be saved"
        )));
    }
    let (workdir, evidence) = (ctx.workdir.clone(), ctx.evidence_dir.clone());
    let body = received.body.clone();
    let len = body.len();
    let name = rel.clone();
    tokio::task::spawn_blocking(move || {
        let full = super::paths::write_target(&workdir, &evidence, &name)
            .map_err(|why| Failure::Error(format!("`save` {name}: {why}")))?;
        crate::evidence::write_file(&full, &body).map_err(|e| {
            Failure::Error(format!(
                "failed to save the body to {name}: {}",
                io_reason(&e.source)
            ))
        })
    })
    .await
    .map_err(|e| Failure::Error(e.to_string()))??;
    ctx.log_line(&format!("< [body saved to {rel}: {len} bytes]"));
    Ok(())
}
