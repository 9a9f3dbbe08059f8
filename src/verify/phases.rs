//! Phases build on each other: whether a phase stands signed off with its current
//! definitions — the rule the prerequisite check (`plan`), the run between phases, `signoff`
//! and `verify` share. A phase counts as signed off only when its `signoff.json` is there, is
//! the one gaterun wrote (MANIFEST.json's sha256), was written for the definitions the phase
//! has now, and every stage it counted still stands passed by the stage ledger's rule.

use super::ledger::Ledger;
use super::problem::{Problem, problem};
use super::signoff::SIGNOFF_STAGE;
use super::standing::not_passed;
use crate::config::{Loaded, Project, Stage};
use crate::evidence::phase_signoff;

/// The phases a stage of `phase` builds on: every defined phase below it, lowest first. A phase
/// number with no stage files is skipped (a project may start at phase 2).
pub fn earlier_phases(stages: &[Stage], phase: u32) -> Vec<u32> {
    let mut out: Vec<u32> = stages
        .iter()
        .map(|s| s.phase)
        .filter(|p| *p < phase)
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// Why `phase` does not stand signed off with its current definitions, or `None` when it does.
pub fn not_signed_off(project: &Project, stages: &[Stage], phase: u32) -> Option<String> {
    let rel = phase_signoff::rel(phase);
    let ledger = match phase_signoff::read(project, phase) {
        None => return Some(format!("no {rel} in the evidence")),
        Some(Err(e)) => return Some(format!("its sign-off ledger {rel} is {e}")),
        Some(Ok(l)) => l,
    };
    // The ledger gaterun wrote, never one written or edited by anyone else since.
    let evidence = Ledger::open(&project.evidence_dir);
    if let Some(p) = evidence.hash_problem(&rel) {
        return Some(format!("its sign-off ledger does not agree ({p})"));
    }
    let (now, defs) = phase_signoff::definitions(stages, phase);
    if now != ledger.definitions {
        return Some(format!(
            "its definitions changed since its sign-off at {}: {}",
            ledger.signed_off_at,
            phase_signoff::changes(&ledger, &defs)
        ));
    }
    // Every stage the sign-off counted still stands passed: a stage re-run since and failed
    // takes the ledger with it, and evidence edited by hand is no pass.
    for s in stages
        .iter()
        .filter(|s| s.phase == phase && s.key.number < SIGNOFF_STAGE)
    {
        if let Some(why) = not_passed(project, s) {
            return Some(format!(
                "its stage {} ({}) no longer stands passed: {why}",
                s.key, s.name
            ));
        }
    }
    None
}

/// Every earlier phase `phase` builds on that is not signed off, lowest first, with why.
pub fn unmet_phases(project: &Project, stages: &[Stage], phase: u32) -> Vec<(u32, String)> {
    earlier_phases(stages, phase)
        .into_iter()
        .filter_map(|p| not_signed_off(project, stages, p).map(|why| (p, why)))
        .collect()
}

/// The command that signs off `phase`: its run, whose stage 10 writes the sign-off; without a
/// stage 10, the run and then `gaterun signoff`.
pub fn signoff_command(stages: &[Stage], phase: u32) -> String {
    let has_signoff_stage = stages
        .iter()
        .any(|s| s.phase == phase && s.key.number == SIGNOFF_STAGE);
    if has_signoff_stage {
        format!("gaterun phase {phase}")
    } else {
        format!("gaterun phase {phase}` then `gaterun signoff --phase {phase}")
    }
}

/// `verify`'s look at each phase's `signoff.json`: readable and well formed, beside its
/// SIGNOFF.md, and (with the stage files at hand) for the definitions the phase has now.
pub(super) fn ledger_problems(dir: &std::path::Path, loaded: Option<&Loaded>) -> Vec<Problem> {
    let mut out = Vec::new();
    let phases: Vec<u32> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.strip_prefix("phase-")?.parse().ok())
        .collect();
    let project = Project {
        root: dir.to_path_buf(),
        gates_dir: dir.to_path_buf(),
        evidence_dir: dir.to_path_buf(),
        current_phase: None,
    };
    for phase in phases {
        let rel = phase_signoff::rel(phase);
        let md = format!("phase-{phase}/SIGNOFF.md");
        let has_md = std::fs::symlink_metadata(dir.join(&md)).is_ok();
        let ledger = match phase_signoff::read(&project, phase) {
            None => {
                if has_md {
                    out.push(problem(
                        &md,
                        format!("there is no {rel} beside it (signed off by an older gaterun, or the ledger removed): run `gaterun signoff --phase {phase}`"),
                    ));
                }
                continue;
            }
            Some(Err(e)) => {
                out.push(problem(&rel, e.to_string()));
                continue;
            }
            Some(Ok(l)) => l,
        };
        if !has_md {
            out.push(problem(&rel, "there is no SIGNOFF.md beside it"));
        }
        let Some(l) = loaded else { continue };
        let (now, defs) = phase_signoff::definitions(&l.stages, phase);
        if now != ledger.definitions {
            out.push(problem(
                &rel,
                format!(
                    "stale: phase {phase}'s definitions changed since its sign-off: {}",
                    phase_signoff::changes(&ledger, &defs)
                ),
            ));
        }
    }
    out
}
