//! Whether a stage stands passed with its current definition: the prerequisite ledger's rule,
//! shared by the prerequisite check (`plan`) and `signoff`. It lives with the evidence checks
//! it applies, so that neither caller has to import the other.

use super::ledger::{Ledger, stage_problems};
use crate::config::{Project, Stage};
use crate::evidence;
use crate::results::Status;

/// Why a stage does not count as passed with its current definition — the prerequisite
/// ledger's rule, shared by the prerequisite check and `signoff` — or `None` when it does.
/// A passed results.json counts only when the rest of its evidence agrees with it (junit.xml,
/// report.md, the history, the manifest's hashes): a hand edit or a gate's write is no pass.
pub fn not_passed(project: &Project, stage: &Stage) -> Option<String> {
    let rel = evidence::manifest::stage_rel(stage.phase, &stage.key.to_string());
    match evidence::read_stage(project, stage.phase, stage.key) {
        None if evidence::read_partial(project, stage.phase, stage.key).is_some() => {
            Some("it has had only partial runs (--gate/--tag/--shard), never a full one".to_owned())
        }
        None => {
            let ledger = Ledger::open(&project.evidence_dir);
            Some(
                match ledger.last_run(stage.phase, &stage.key.to_string(), false) {
                    // A run whose evidence could not be written (a full disk).
                    Some(l) => format!(
                        "{rel}/results.json is missing, but history.jsonl records a run ({} at {})",
                        l.status.as_str(),
                        l.started_at
                    ),
                    None => "it has not been run".to_owned(),
                },
            )
        }
        Some(Err(e)) => Some(format!("its evidence is unreadable ({e})")),
        Some(Ok(r)) if r.definition_hash != stage.definition_hash => Some(format!(
            "its stage file changed since it last ran ({})",
            r.status.as_str()
        )),
        Some(Ok(r)) if r.status == Status::Blocked => Some("its last run was blocked".to_owned()),
        Some(Ok(r)) if r.status != Status::Passed => {
            Some(format!("its last run {}", r.status.as_str()))
        }
        // Evidence of an older gaterun, which kept a partial run as the ledger.
        Some(Ok(r)) if r.partial => {
            Some("its last run selected only some gates (--gate/--tag/--shard)".to_owned())
        }
        Some(Ok(r)) => {
            let ledger = Ledger::open(&project.evidence_dir);
            let problems = stage_problems(&ledger, &rel, &r, true);
            if problems.is_empty() {
                return None;
            }
            let shown: Vec<String> = problems.iter().take(3).map(|p| p.to_string()).collect();
            let more = problems.len().saturating_sub(3);
            Some(format!(
                "its evidence does not agree ({}{}; `gaterun verify` lists every disagreement)",
                shown.join("; "),
                if more > 0 {
                    format!("; {more} more")
                } else {
                    String::new()
                }
            ))
        }
    }
}
