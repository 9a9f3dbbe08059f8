//! What a stage's scope (its `setup:`, shared `services:` and `database:`, run by the gate
//! executor as a gate of its own, see [`crate::runner::scope`]) hands each gate of the stage:
//! variables the gate may use but not redefine, the stage database's variables for a gate
//! without its own, the news of the shared services' exits, and the secrets setup captured.
//! The gate executor owns this type so the scope can import the executor, not the reverse.

use tokio::sync::oneshot;

use super::ctx::GateCtx;
use crate::database::GateDb;
use crate::expect::value::Typed;
use crate::results::{GateResult, Status};
use crate::services::SharedWatch;

/// What every gate of a stage gets from the stage's scope. Empty for a stage without one.
#[derive(Default)]
pub struct StageShare {
    /// `<NAME>_PORT`, `<NAME>_URL` of the shared services, setup's captures: fixed names.
    pub vars: Vec<(String, String)>,
    /// Their typed values (ports are numbers, captures keep their JSON type).
    pub typed: Typed,
    /// The stage database's variables, for a gate that does not declare its own database.
    pub db_vars: Vec<(String, String)>,
    /// The stage database itself, for those gates' `sql` steps.
    pub db: Option<GateDb>,
    pub watch: SharedWatch,
    /// Values of setup's `secret: true` captures: masked in every gate's output.
    pub secrets: Vec<String>,
    /// Issue 20: the stage's mocks, for the gates' `received` steps.
    pub mocks: Vec<std::sync::Arc<crate::mock::Shared>>,
    /// The scope did not come up: every gate of the stage ends with this, unrun.
    pub failure: Option<(Status, String)>,
}

/// The scope's gate, holding its processes after setup: it sends what the gates get, then
/// waits for the stage's last gate before its teardown.
pub struct Hold {
    pub ready: oneshot::Sender<StageShare>,
    pub release: oneshot::Receiver<()>,
}

impl Hold {
    /// Hand the gates the scope's variables (or setup's failure), and wait until they are done.
    /// `mask` hides the secrets known so far in the failure's message.
    pub async fn share(
        self,
        ctx: &GateCtx,
        fixed: &[(String, &'static str)],
        result: &GateResult,
        mask: impl Fn(&str) -> String,
    ) {
        let mut share = StageShare {
            watch: ctx.services.shared_watch(),
            secrets: ctx.secrets.clone(),
            db: ctx.db.as_ref().map(GateDb::share),
            failure: failure(result).map(|(s, m)| (s, mask(&m))),
            mocks: ctx
                .mocks
                .own
                .iter()
                .filter_map(crate::mock::Mock::shared)
                .collect(),
            ..StageShare::default()
        };
        for (name, what) in fixed {
            let Some(value) = ctx.vars.get(name) else {
                continue;
            };
            match *what {
                "a database variable" => share.db_vars.push((name.clone(), value.clone())),
                "a service port" | "a service URL" | "a mock port" | "a mock URL" => {
                    share.vars.push((name.clone(), value.clone()))
                }
                _ => {}
            }
        }
        // Whatever has a type was captured (or is a port): setup's captures reach the gates.
        for (name, value) in &ctx.typed {
            if !share.vars.iter().any(|(n, _)| n == name)
                && let Some(text) = ctx.vars.get(name)
            {
                share.vars.push((name.clone(), text.clone()));
            }
            share.typed.insert(name.clone(), value.clone());
        }
        if self.ready.send(share).is_ok() {
            let _ = self.release.await;
        }
    }
}

/// Setup's failure as the message of every gate of the stage, naming the step that failed:
/// `stage setup step 2 (run: ./migrate): exit 1`.
pub fn failure(result: &GateResult) -> Option<(Status, String)> {
    if result.status == Status::Passed {
        return None;
    }
    if result.status == Status::Interrupted {
        return Some((Status::Interrupted, "not run: interrupted".to_owned()));
    }
    let status = Status::Error;
    let Some(p) = result
        .steps
        .iter()
        .position(|s| !matches!(s.status, Status::Passed | Status::Skipped))
    else {
        let m = result.message.as_deref().unwrap_or("failed");
        return Some((status, format!("stage setup: {m}")));
    };
    let step = &result.steps[p];
    let message = step.message.as_deref().unwrap_or(step.status.as_str());
    // The steps recorded: the database, the services' starts, then setup's steps.
    let first_setup = result
        .steps
        .iter()
        .take_while(|s| s.kind == "database" || s.name.starts_with("start service `"))
        .count();
    let text = if p >= first_setup {
        format!(
            "stage setup step {} ({}): {message}",
            p - first_setup + 1,
            step.name
        )
    } else {
        format!("stage setup: {} ({message})", step.name)
    };
    Some((status, text))
}
