//! `gaterun verify [DIR]`: the whole evidence directory — the manifest and its Statement, each
//! stage directory with its own files, the history and the current stage files, the
//! invocation files and the sign-offs.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::attestation::attestation_problems;
use super::invocation::invocation_problems;
use super::ledger::{Ledger, read_results, stage_problems};
use super::problem::{Problem, problem};
use super::signoff::signoff_problems;
use crate::config::{Loaded, StageKey};
use crate::evidence::manifest::{self, Found};
use crate::evidence::paths::PARTIAL_DIR;
use crate::results::StageResult;

/// Every stage evidence directory under `dir`: `phase-1/stage-02` and `phase-1/stage-02/partial`.
fn stage_dirs(dir: &Path) -> Vec<String> {
    let subdirs = |rel: &str, prefix: &str| -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir.join(rel))
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| n.starts_with(prefix))
            .map(|n| {
                if rel.is_empty() {
                    n
                } else {
                    format!("{rel}/{n}")
                }
            })
            .collect();
        v.sort();
        v
    };
    let mut out = Vec::new();
    for phase in subdirs("", "phase-") {
        for stage in subdirs(&phase, "stage-") {
            let partial = format!("{stage}/{PARTIAL_DIR}");
            let has_partial =
                std::fs::symlink_metadata(dir.join(&partial)).is_ok_and(|m| m.file_type().is_dir());
            out.push(stage);
            if has_partial {
                out.push(partial);
            }
        }
    }
    out
}

/// Check the whole evidence directory. `loaded`: the current stage files, when at hand.
pub fn all(dir: &Path, loaded: Option<&Loaded>) -> Vec<Problem> {
    let ledger = Ledger::open(dir);
    let mut out = Vec::new();
    // The manifest: every covered file listed with its hash, nothing else there.
    let mut found = Vec::new();
    manifest::walk(dir, "", &mut found);
    let listed: BTreeMap<String, String> = match &ledger.manifest {
        Ok(Some(m)) => m.files.clone(),
        Ok(None) => {
            out.push(problem(manifest::MANIFEST, "missing"));
            BTreeMap::new()
        }
        Err(e) => {
            out.push(problem(manifest::MANIFEST, e.clone()));
            BTreeMap::new()
        }
    };
    let manifest_ok = matches!(ledger.manifest, Ok(Some(_)));
    let mut on_disk = BTreeSet::new();
    for f in &found {
        match f {
            Found::Other(rel, why) => out.push(problem(rel, *why)),
            Found::File(rel) => {
                on_disk.insert(rel.clone());
                if manifest_ok {
                    out.extend(ledger.hash_problem(rel));
                }
            }
        }
    }
    for rel in listed.keys() {
        if !on_disk.contains(rel) {
            out.push(problem(rel, "missing, but MANIFEST.json lists it"));
        }
    }
    if manifest_ok {
        out.extend(attestation_problems(dir, &listed));
    }
    // Each stage directory, with itself, the history and the stage files.
    let mut results: BTreeMap<String, StageResult> = BTreeMap::new();
    for rel in stage_dirs(dir) {
        match read_results(dir, &rel) {
            Err(p) => out.push(p),
            Ok(None) => out.push(problem(format!("{rel}/results.json"), "missing")),
            Ok(Some(r)) => {
                if manifest::stage_rel(r.phase, &r.stage)
                    != rel.trim_end_matches(&format!("/{PARTIAL_DIR}"))
                {
                    out.push(problem(
                        format!("{rel}/results.json"),
                        format!("is the result of phase {} stage {}", r.phase, r.stage),
                    ));
                }
                out.extend(stage_problems(&ledger, &rel, &r, false));
                if !rel.ends_with(&format!("/{PARTIAL_DIR}")) {
                    out.extend(definition_problems(&ledger, &rel, &r, loaded));
                }
                results.insert(rel, r);
            }
        }
    }
    // A full run the history records whose results.json is gone (a write that failed).
    if let Ok(lines) = &ledger.history {
        let mut seen = BTreeSet::new();
        for l in lines.iter().rev().filter(|l| !l.partial) {
            let rel = manifest::stage_rel(l.phase, &l.stage);
            if seen.insert(rel.clone()) && !results.contains_key(&rel) {
                out.push(problem(
                    format!("{rel}/results.json"),
                    format!(
                        "missing, but history.jsonl records a run of the stage ({} at {})",
                        l.status.as_str(),
                        l.started_at
                    ),
                ));
            }
        }
    }
    out.extend(invocation_problems(dir, &results));
    out.extend(signoff_problems(dir, &ledger, &results, loaded));
    out.extend(super::phases::ledger_problems(dir, loaded));
    out.sort();
    out.dedup();
    out
}

/// A full result against the stage file that defines the stage now, and the manifest's record.
fn definition_problems(
    ledger: &Ledger,
    rel: &str,
    r: &StageResult,
    loaded: Option<&Loaded>,
) -> Vec<Problem> {
    let mut out = Vec::new();
    let file = format!("{rel}/results.json");
    if let Ok(Some(m)) = &ledger.manifest {
        match m.stages.get(rel) {
            Some(e) if e.definition_hash != r.definition_hash => out.push(problem(
                &file,
                "its definition_hash differs from the one MANIFEST.json records for the stage",
            )),
            Some(_) => {}
            None => out.push(problem(&file, "MANIFEST.json records no stage file for it")),
        }
    }
    let Some(l) = loaded else {
        return out;
    };
    let key = StageKey::parse(&r.stage);
    match l
        .stages
        .iter()
        .find(|s| s.phase == r.phase && Some(s.key) == key)
    {
        None => out.push(problem(
            &file,
            format!(
                "no stage file defines phase {} stage {} now",
                r.phase, r.stage
            ),
        )),
        Some(s) if s.definition_hash != r.definition_hash => out.push(problem(
            &file,
            format!(
                "stale: {} changed since this run (definition {} then, {} now)",
                s.file.display(),
                short(&r.definition_hash),
                short(&s.definition_hash)
            ),
        )),
        Some(_) => {}
    }
    out
}

fn short(h: &str) -> String {
    h.strip_prefix("sha256:")
        .unwrap_or(h)
        .chars()
        .take(12)
        .collect()
}
