//! One `http` step attempt: send, read, check.

use super::{checks, request, response};
use crate::config::HttpStep;
use crate::runner::gate::ctx::GateCtx;
use crate::steps::outcome::{Deadline, Failure};

pub async fn attempt(
    ctx: &mut GateCtx,
    step: &HttpStep,
    captures: &[(String, String)],
    deadline: &Deadline,
) -> Result<(), Failure> {
    let sent = request::send(ctx, step, deadline).await?;
    let received = response::read(ctx, sent).await?;
    checks::check(ctx, step, captures, &received)
}
