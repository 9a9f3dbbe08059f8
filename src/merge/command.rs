//! `gaterun merge DIR…`: the shards read and checked against their own evidence, refused
//! when they ran different definitions or commits, combined per stage and written as one
//! evidence directory.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::combine::merge_stage;
use super::error::MergeError;
use super::shards::{check_gate, read_confined, stage_results};
use crate::config::{Loaded, Project, StageKey};
use crate::evidence::{self, EvidenceError};
use crate::results::{StageNotes, StageResult, Status};

fn short_hash(h: &str) -> String {
    h.strip_prefix("sha256:")
        .unwrap_or(h)
        .chars()
        .take(12)
        .collect()
}

/// What a merge wrote, for the command to tell.
pub struct Merged {
    pub stages: usize,
    pub gates: usize,
    /// Every merged stage passed.
    pub passed: bool,
}

/// The shards in `dirs` merged into the project's evidence, or why nothing was merged.
pub fn merge(
    project: &Project,
    loaded: Option<&Loaded>,
    dirs: &[PathBuf],
) -> Result<Merged, MergeError> {
    let mut by_stage: BTreeMap<(u32, StageKey), Vec<(PathBuf, StageResult)>> = BTreeMap::new();
    for dir in dirs {
        let found = stage_results(dir)?;
        if found.is_empty() {
            return Err(MergeError::Refused(format!(
                "no stage evidence under {}",
                dir.display()
            )));
        }
        let ledger = crate::verify::Ledger::open(dir);
        for (path, mut r) in found {
            // A shard whose own evidence disagrees (a results.json edited after its run, a
            // stage directory glued from two runs) is no result to merge.
            let rel = path
                .strip_prefix(dir)
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            let problems = crate::verify::stage_problems(&ledger, &rel, &r, true);
            for g in &mut r.gates {
                check_gate(&path.join("results.json"), g)?;
                // The log is `logs/<id>.log` inside the shard; one that is missing is empty,
                // one that is not a plain file of the shard refuses the merge.
                let log = path.join(&g.log);
                g.output = match std::fs::symlink_metadata(&log) {
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
                    _ => String::from_utf8_lossy(&read_confined(
                        &path,
                        &log,
                        evidence::LOG_READ_CAP,
                    )?)
                    .into_owned(),
                };
            }
            if let Some(p) = problems.first() {
                return Err(MergeError::Refused(format!(
                    "refusing {}: its evidence does not agree: {p}{}",
                    dir.display(),
                    match problems.len() {
                        1 => String::new(),
                        n => format!(" (and {} more: `gaterun verify {}`)", n - 1, dir.display()),
                    }
                )));
            }
            let key = StageKey::parse(&r.stage).ok_or_else(|| {
                MergeError::Refused(format!("invalid stage `{}` in {}", r.stage, path.display()))
            })?;
            by_stage.entry((r.phase, key)).or_default().push((path, r));
        }
    }
    // Shards of one stage run from different stage files, or at different commits, are no one
    // result (the merged result names one definition and one commit, and a gate of another
    // shard never ran with them): refused, naming the stage and where each came from.
    // Each: what differs, the value compared, how it is shown, what to do.
    type Of = fn(&StageResult) -> String;
    let commit: Of = |r| match &r.commit {
        Some(c) => format!("commit {}", crate::text::shown(c)),
        None => "no commit".to_owned(),
    };
    let differences: [(&str, Of, Of, &str); 2] = [
        (
            "different definitions",
            |r| r.definition_hash.clone(),
            |r| short_hash(&r.definition_hash),
            "from the same stage files",
        ),
        ("at different commits", commit, commit, "at the same commit"),
    ];
    for ((phase, key), parts) in &by_stage {
        let first = &parts[0];
        for (what, value, of, fix) in differences {
            if let Some(other) = parts.iter().find(|(_, r)| value(r) != value(&first.1)) {
                return Err(MergeError::Refused(format!(
                    "refusing to merge stage {key} of phase {phase}: its shards ran {what} ({} in {}, {} in {}); run every shard {fix}",
                    of(&first.1),
                    first.0.display(),
                    of(&other.1),
                    other.0.display()
                )));
            }
        }
    }
    let mut merged = Vec::new();
    for ((phase, key), parts) in by_stage {
        let stage = loaded.and_then(|l| l.stages.iter().find(|s| s.phase == phase && s.key == key));
        merged.push(merge_stage(
            parts,
            stage.map(|s| s.gates.iter().map(|g| g.id.as_str()).collect()),
        ));
    }
    let mut manifest = evidence::manifest::Manifest::load_or_new(&project.evidence_dir);
    let written = write_merged(project, loaded, &merged, &mut manifest);
    if written.is_err() {
        evidence::discard_invocation(project);
    }
    for name in evidence::INVOCATION_FILES.iter().chain(&["history.jsonl"]) {
        manifest.record_file(&project.evidence_dir, name);
    }
    let commit = merged.iter().find_map(|r| r.commit.clone());
    let recorded = manifest.write(project, commit);
    written?;
    recorded?;
    Ok(Merged {
        stages: merged.len(),
        gates: merged.iter().map(|r| r.gates.len()).sum(),
        passed: merged.iter().all(|r| r.status == Status::Passed),
    })
}

/// The merged stages' evidence, each with its history line (so the ledger's history agrees
/// with it), the implementation logs and the invocation files. A stage whose evidence could not
/// be written is removed rather than left claiming an earlier result.
fn write_merged(
    project: &Project,
    loaded: Option<&Loaded>,
    merged: &[StageResult],
    manifest: &mut evidence::manifest::Manifest,
) -> Result<(), EvidenceError> {
    for r in merged {
        let stage = loaded.and_then(|l| {
            l.stages
                .iter()
                .find(|s| s.phase == r.phase && Some(s.key) == StageKey::parse(&r.stage))
        });
        // What the stage file says, when it is at hand; else only the file its gates name.
        let notes = stage.map(|s| s.notes()).unwrap_or_else(|| StageNotes {
            file: r.gates.first().map(|g| g.file.clone()).unwrap_or_default(),
            ..StageNotes::default()
        });
        if let Err(e) = evidence::history::append(project, r)
            .and_then(|()| evidence::write_stage(project, r, &notes))
        {
            evidence::discard_stage(project, r.phase, &r.stage, r.partial);
            manifest.forget_stage(project, r.phase, &r.stage, r.partial);
            return Err(e);
        }
        manifest.record_stage(project, r, stage);
    }
    if let Some(l) = loaded {
        let phases: std::collections::BTreeSet<u32> = merged.iter().map(|r| r.phase).collect();
        for phase in phases {
            let stages: Vec<_> = l.stages.iter().filter(|s| s.phase == phase).collect();
            let rel = format!("phase-{phase}/IMPLEMENTATION_LOG.md");
            let logged = evidence::log::write(project, phase, &stages);
            if logged.is_err() {
                let _ = std::fs::remove_file(project.evidence_dir.join(&rel));
            }
            manifest.record_file(&project.evidence_dir, &rel);
            logged?;
        }
    }
    evidence::write_invocation(project, merged)?;
    Ok(())
}
