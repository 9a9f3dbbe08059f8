//! The per-stage rules every stage that counts is held to: a stage directory's results.json
//! agrees with itself, its junit.xml and report.md, the history and the manifest's hashes. The
//! prerequisite check, `signoff`, `merge` and `verify` all apply them, so a results.json
//! flipped to `passed` by hand, or changed after gaterun wrote it, no longer counts as a pass.

use std::path::Path;

use super::junit::junit_problems;
use super::problem::{Problem, problem};
use super::report::report_problems;
use crate::config::StageKey;
use crate::evidence::history::{self, Line};
use crate::evidence::manifest::{self, Manifest};
use crate::evidence::read::{LOG_READ_CAP, RESULTS_CAP, read_confined};
use crate::results::{StageResult, Status};

/// The files every stage is checked against, read once.
pub struct Ledger<'a> {
    pub(super) dir: &'a Path,
    pub(super) manifest: Result<Option<Manifest>, String>,
    /// The history's lines in order; `Err` when it cannot be read.
    pub(super) history: Result<Vec<Line>, String>,
}

impl<'a> Ledger<'a> {
    pub fn open(dir: &'a Path) -> Ledger<'a> {
        let manifest = Manifest::load(dir).map_err(|e| e.reason());
        let history = match read_confined(dir, &dir.join("history.jsonl"), history::CAP, "evidence")
        {
            Ok(bytes) => Ok(String::from_utf8_lossy(&bytes)
                .lines()
                // A line cut by a full disk or a kill stays unreadable and is skipped.
                .filter_map(|l| serde_json::from_str::<Line>(l).ok())
                .collect()),
            Err(e) if e.not_found() => Ok(Vec::new()),
            Err(e) => Err(e.reason()),
        };
        Ledger {
            dir,
            manifest,
            history,
        }
    }

    /// The latest history line of a stage's full (or partial) runs.
    pub fn last_run(&self, phase: u32, stage: &str, partial: bool) -> Option<&Line> {
        self.history.as_ref().ok()?.iter().rev().find(|l| {
            l.phase == phase
                && StageKey::parse(&l.stage) == StageKey::parse(stage)
                && l.partial == partial
        })
    }

    /// Whether `rel` has the hash the manifest lists for it.
    pub(super) fn hash_problem(&self, rel: &str) -> Option<Problem> {
        let m = match &self.manifest {
            Ok(Some(m)) => m,
            Ok(None) => {
                return Some(problem(
                    rel,
                    "no MANIFEST.json lists it (evidence not written by this gaterun, or its manifest removed)",
                ));
            }
            Err(e) => return Some(problem(rel, format!("MANIFEST.json is unreadable ({e})"))),
        };
        let Some(want) = m.files.get(rel) else {
            return Some(problem(
                rel,
                "not listed in MANIFEST.json (gaterun did not write it)",
            ));
        };
        // A gate log larger than gaterun writes one is refused unread: a sparse file of
        // gigabytes is free to plant, and hashing it is not.
        let cap = if rel.split('/').any(|p| p == "logs") {
            LOG_READ_CAP
        } else {
            manifest::HASH_CAP
        };
        match manifest::hash_file_within(&self.dir.join(rel), cap) {
            Err(e) if e.not_found() => Some(problem(rel, "missing, but MANIFEST.json lists it")),
            Err(e) => Some(problem(rel, e.reason())),
            Ok(h) if &h != want => Some(problem(
                rel,
                "its sha256 differs from MANIFEST.json's (changed after gaterun wrote it)",
            )),
            Ok(_) => None,
        }
    }
}

/// Read and parse a stage's results.json (`rel` is its stage directory).
pub fn read_results(dir: &Path, rel: &str) -> Result<Option<StageResult>, Problem> {
    let file = format!("{rel}/results.json");
    match read_confined(dir, &dir.join(&file), RESULTS_CAP, "evidence") {
        Err(e) if e.not_found() => Ok(None),
        Err(e) => Err(problem(file, e.reason())),
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| problem(file, format!("not a gaterun results.json: {e}"))),
    }
}

/// A stage's evidence directory (`phase-1/stage-02`, or its `partial`): does its results.json
/// agree with itself, its junit.xml and report.md, the history and (with `hashes`) the manifest?
pub fn stage_problems(ledger: &Ledger, rel: &str, r: &StageResult, hashes: bool) -> Vec<Problem> {
    let mut out = Vec::new();
    let results = format!("{rel}/results.json");
    if hashes {
        for name in ["results.json", "junit.xml", "report.md"] {
            out.extend(ledger.hash_problem(&format!("{rel}/{name}")));
        }
    }
    // results.json with itself: a stage passes only when every gate did.
    if r.status == Status::Passed
        && let Some(g) = r.gates.iter().find(|g| g.status != Status::Passed)
    {
        out.push(problem(
            &results,
            format!(
                "status passed, but its gate `{}` {}",
                g.id,
                g.status.as_str()
            ),
        ));
    }
    if r.gates.is_empty() && r.status == Status::Passed {
        out.push(problem(&results, "status passed with no gate"));
    }
    out.extend(junit_problems(ledger.dir, rel, r));
    out.extend(report_problems(ledger.dir, rel, r));
    match &ledger.history {
        Err(e) => out.push(problem("history.jsonl", e.clone())),
        Ok(_) => match ledger.last_run(r.phase, &r.stage, r.partial) {
            None => out.push(problem(
                &results,
                format!(
                    "history.jsonl has no line for this run ({} at {})",
                    r.status.as_str(),
                    r.started_at
                ),
            )),
            Some(l) if l.started_at != r.started_at => out.push(problem(
                &results,
                format!(
                    "history.jsonl records a later run ({} at {}) than this one ({} at {})",
                    l.status.as_str(),
                    l.started_at,
                    r.status.as_str(),
                    r.started_at
                ),
            )),
            Some(l) => {
                if l.status != r.status {
                    out.push(problem(
                        &results,
                        format!(
                            "status {}, but history.jsonl says this run {}",
                            r.status.as_str(),
                            l.status.as_str()
                        ),
                    ));
                }
                for g in r.gates.iter().filter(|g| g.attempts > 0) {
                    match l.gates.iter().find(|x| x.id == g.id) {
                        Some(x) if x.status == g.status => {}
                        Some(x) => out.push(problem(
                            &results,
                            format!(
                                "gate `{}` {}, but history.jsonl says {}",
                                g.id,
                                g.status.as_str(),
                                x.status.as_str()
                            ),
                        )),
                        None => out.push(problem(
                            &results,
                            format!(
                                "gate `{}` is not in history.jsonl's line for this run",
                                g.id
                            ),
                        )),
                    }
                }
            }
        },
    }
    out
}
