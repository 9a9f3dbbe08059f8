//! One `http` step attempt: send, read, check.

use super::{checks, request, response, save, version};
use crate::config::HttpStep;
use crate::runner::gate::ctx::GateCtx;
use crate::steps::outcome::{Deadline, Failure};

pub async fn attempt(
    ctx: &mut GateCtx,
    step: &HttpStep,
    captures: &[(String, String)],
    deadline: &Deadline,
) -> Result<(), Failure> {
    // `expect.duration`: from sending the request to the end of the last hop's body.
    let started = std::time::Instant::now();
    let sent = request::send(ctx, step, deadline).await?;
    let got = sent.response.version();
    let received = response::read(ctx, sent).await?;
    let took = started.elapsed();
    ctx.log_line(&format!("< [took {}ms]", took.as_millis()));
    // Saved before the checks, so a failed gate leaves what it got.
    if let Some(path) = &step.save {
        save::save(ctx, path, &received).await?;
    }
    version::check(step.expect.version, got)?;
    checks::check(ctx, step, captures, &received, took, deadline).await
}
