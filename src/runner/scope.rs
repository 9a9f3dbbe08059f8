//! A stage's scope: its `setup:` steps, shared `services:` and `database:`, brought up once
//! before the stage's gates and torn down after the last. It runs through the gate executor as
//! a gate of its own (id `_setup`, which no gate id can be: they start with a letter or digit),
//! so it gets everything a gate gets — its own token, containment, temp directory, log, masking,
//! and a teardown that leaves no process — and is held between setup and teardown while the
//! gates run ([`gate::Hold`]). Its result is the stage's `setup` record, its log
//! `logs/_setup.log`.

use std::sync::Arc;

use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

use super::context::RunContext;
use super::gate::{self, Hold, StageShare};
use crate::config::Stage;
use crate::results::{GateResult, Status};

/// The id of the scope's gate, and so the name of its log.
pub const SETUP_ID: &str = "_setup";

/// A stage's scope while its gates run.
pub struct Scope {
    pub share: Arc<StageShare>,
    release: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<GateResult>>,
    /// Its result, when it ended before its gates could run.
    done: Option<GateResult>,
}

/// Bring up the stage's scope, if it has one: the database, the shared services, setup's
/// steps. Its failure is in `share.failure`.
pub async fn open(
    stage: &Stage,
    rc: &Arc<RunContext>,
    cancel: &watch::Receiver<bool>,
) -> Option<Scope> {
    if stage.scope.is_empty() {
        return None;
    }
    let s = &stage.scope;
    let gate = stage.scope.as_gate(SETUP_ID);
    let scope_stage = Arc::new(Stage {
        gates: vec![gate],
        ..stage.clone()
    });
    let (ready, ready_rx) = oneshot::channel();
    let (release, release_rx) = oneshot::channel();
    let hold = Hold {
        ready,
        release: release_rx,
    };
    let turn = rc.fixed_ports.turn(&s.services).await;
    let run = gate::run(
        scope_stage,
        0,
        rc.clone(),
        cancel.clone(),
        Arc::default(),
        Some(hold),
    );
    let task = tokio::spawn(async move {
        let result = run.await;
        drop(turn);
        result
    });
    let mut scope = Scope {
        share: Arc::default(),
        release: Some(release),
        task: Some(task),
        done: None,
    };
    match ready_rx.await {
        Ok(share) => scope.share = Arc::new(share),
        // It ended before its setup ran (no temp directory, a port taken): its result says why.
        Err(_) => {
            let result = scope.finish().await;
            let message = result.message.as_deref().unwrap_or("it did not start");
            scope.share = Arc::new(StageShare {
                failure: Some((Status::Error, format!("stage setup: {message}"))),
                ..StageShare::default()
            });
            scope.done = Some(result);
        }
    }
    Some(scope)
}

impl Scope {
    /// Tear the scope down after the stage's last gate: its record, with its log as output.
    pub async fn close(mut self) -> GateResult {
        match self.done.take() {
            Some(r) => r,
            None => self.finish().await,
        }
    }

    async fn finish(&mut self) -> GateResult {
        if let Some(r) = self.release.take() {
            let _ = r.send(());
        }
        let Some(task) = self.task.take() else {
            return GateResult::new(SETUP_ID, "stage setup", String::new(), 0, Status::Error);
        };
        match task.await {
            Ok(r) => r,
            Err(e) => GateResult {
                message: Some(format!("internal error: the stage setup task failed: {e}")),
                ..GateResult::new(SETUP_ID, "stage setup", String::new(), 0, Status::Error)
            },
        }
    }
}
