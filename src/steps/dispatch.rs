//! One attempt of a step: the one `match` on the step's kind, each arm handing the step to its
//! kind's file. A new kind is one arm here and its executor (a small one may live here).

use std::future::Future;

use super::outcome::{Deadline, Failure, cancelled};
use super::{browser, file, http, received, run, service, sql, tcp};
use crate::config::{Step, StepKind};
use crate::runner::gate::ctx::GateCtx;

/// One attempt of a step, bounded by its deadline and by an interrupt.
pub async fn attempt(
    step: &Step,
    ctx: &mut GateCtx,
    deadline: &Deadline,
    gate_deadline: &Deadline,
) -> Result<(), Failure> {
    let cancel = ctx.cancel.clone();
    match &step.kind {
        // `run` stops its own processes on a deadline; the others are plain futures.
        StepKind::Run { command, expect } => {
            run::attempt(ctx, command, expect, &step.captures, deadline).await
        }
        StepKind::Http(h) => {
            bounded(
                cancel,
                deadline,
                http::attempt(ctx, h, &step.captures, deadline),
            )
            .await
        }
        StepKind::Tcp { address, open } => {
            bounded(
                cancel,
                deadline,
                tcp::attempt(ctx, address, *open, deadline),
            )
            .await
        }
        StepKind::File {
            path,
            exists,
            contains,
        } => {
            bounded(
                cancel,
                deadline,
                file::attempt(ctx, path, *exists, contains),
            )
            .await
        }
        StepKind::Sql {
            statement,
            expect,
            db,
        } => {
            bounded(
                cancel,
                deadline,
                sql::attempt(ctx, statement, expect, db.as_deref(), &step.captures),
            )
            .await
        }
        StepKind::Service {
            action,
            service,
            signal,
        } => {
            let work = service::attempt(ctx, *action, service, *signal, gate_deadline);
            bounded(cancel, deadline, work).await
        }
        StepKind::Browser(b) => {
            // Starting the run's browser and the gate's page is not the step's own time.
            let opening = std::time::Instant::now();
            bounded(cancel.clone(), gate_deadline, browser::open(ctx)).await?;
            let deadline = &browser::later(deadline, opening.elapsed(), gate_deadline);
            let waits = browser::Waits {
                own_timeout: step.timeout.is_some(),
                eventually: step.eventually.is_some(),
            };
            let work = browser::attempt(ctx, b, &step.captures, waits, deadline);
            bounded(cancel, deadline, work).await
        }
        StepKind::Received(r) => bounded(cancel, deadline, received::attempt(ctx, r)).await,
        // A template's steps run each through the gate executor (`runner::gate::template`,
        // which steps may not import); a `use` never comes here as one attempt.
        StepKind::Use { template, .. } => Err(Failure::Error(format!(
            "internal error: `use: {template}` was run as a single step"
        ))),
    }
}

/// `work`, unless the deadline or an interrupt comes first.
async fn bounded(
    mut cancel: tokio::sync::watch::Receiver<bool>,
    deadline: &Deadline,
    work: impl Future<Output = Result<(), Failure>>,
) -> Result<(), Failure> {
    tokio::select! {
        r = work => r,
        _ = tokio::time::sleep_until(deadline.at.into()) => Err(Failure::Timeout(deadline.message.clone())),
        _ = cancelled(&mut cancel) => Err(Failure::Interrupted),
    }
}
