//! A phase's SIGNOFF.md held to the evidence: every stage it counts passed (by the ledger's
//! rules) and its figures are the results'. The sign-off stage's number lives here, beside the
//! rule that reads it, so that `signoff` and `verify` share it without importing each other.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::ledger::{Ledger, stage_problems};
use super::problem::{Problem, problem, read_text};
use crate::config::{Loaded, StageKey};
use crate::evidence::manifest;
use crate::evidence::paths::PARTIAL_DIR;
use crate::results::{StageResult, Status};

/// Stage 10 signs the phase off; the stages before it are the criteria.
pub const SIGNOFF_STAGE: u32 = 10;

/// `phase-1` → 1.
fn phase_of(rel: &str) -> Option<u32> {
    rel.split('/').next()?.strip_prefix("phase-")?.parse().ok()
}

/// A SIGNOFF.md: every stage it counts passed, and its figures are the results'.
pub(super) fn signoff_problems(
    dir: &Path,
    ledger: &Ledger,
    results: &BTreeMap<String, StageResult>,
    loaded: Option<&Loaded>,
) -> Vec<Problem> {
    let mut out = Vec::new();
    let phases: BTreeSet<u32> = results.keys().filter_map(|r| phase_of(r)).collect();
    for phase in phases {
        let file = format!("phase-{phase}/SIGNOFF.md");
        let text = match read_text(dir, &file) {
            Ok(Some(t)) => t,
            Ok(None) => continue,
            Err(p) => {
                out.push(p);
                continue;
            }
        };
        // The criteria: every stage before the sign-off stage, from the stage files when at
        // hand, else from the evidence.
        let criteria: Vec<String> = match loaded {
            Some(l) => l
                .stages
                .iter()
                .filter(|s| s.phase == phase && s.key.number < SIGNOFF_STAGE)
                .map(|s| manifest::stage_rel(phase, &s.key.to_string()))
                .collect(),
            None => results
                .iter()
                .filter(|(rel, r)| {
                    !rel.ends_with(PARTIAL_DIR)
                        && r.phase == phase
                        && StageKey::parse(&r.stage).is_some_and(|k| k.number < SIGNOFF_STAGE)
                })
                .map(|(rel, _)| rel.clone())
                .collect(),
        };
        for rel in &criteria {
            let why = match results.get(rel) {
                None => Some("it has no results.json".to_owned()),
                Some(r) if r.status != Status::Passed => Some(format!("it {}", r.status.as_str())),
                Some(r) => stage_problems(ledger, rel, r, true)
                    .first()
                    .map(|p| format!("its evidence does not agree ({p})")),
            };
            if let Some(why) = why {
                out.push(problem(
                    &file,
                    format!("signs off phase {phase}, but {rel} has not passed: {why}"),
                ));
            }
        }
        static ROW: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
            regex::Regex::new(
                r"(?m)^\| (\w+) \| .*? \| (\d+) \| (\d+) \| [^|]* \| [^|]* \| (?:(\d+)% \((\d+)/(\d+)\)|—) \|$",
            )
            .expect("static regex")
        });
        for c in ROW.captures_iter(&text) {
            let stage = &c[1];
            let (gates, passed) = (&c[2], &c[3]);
            if gates != passed {
                out.push(problem(
                    &file,
                    format!("stage {stage}: {passed} of {gates} gates passed, yet signed off"),
                ));
            }
            if let Some(r) = results.get(&manifest::stage_rel(phase, stage))
                && (r.gates.len().to_string() != gates || r.passed_count().to_string() != passed)
            {
                out.push(problem(
                    &file,
                    format!(
                        "stage {stage}: says {passed}/{gates} passed, but its results.json {}/{}",
                        r.passed_count(),
                        r.gates.len()
                    ),
                ));
            }
            if let Some(p) = c.get(5).and_then(|m| m.as_str().parse::<u64>().ok())
                && passed.parse::<u64>().is_ok_and(|n| p < n)
            {
                out.push(problem(
                    &file,
                    format!(
                        "stage {stage}: says {passed} gates passed beside a pass rate of {}% ({}/{})",
                        &c[4], &c[5], &c[6]
                    ),
                ));
            }
        }
    }
    out
}
