//! Shards: `--shard K/N` picks gates by a stable hash, and `gaterun merge DIR…` combines the
//! shards' evidence into one `junit.xml`, `summary.md` and per-stage results, so a CI matrix is
//! the way past one machine.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::config::{Loaded, Project, StageKey};
use crate::evidence;
use crate::exit::{self, Error};
use crate::results::{GateResult, StageResult, Status};

/// Whether gate `id` of (phase, stage) belongs to shard `k` of `n` (1-based). The same on every
/// run and machine: a hash of the three names, not their order in the files.
pub fn in_shard(phase: u32, stage: &str, id: &str, (k, n): (u32, u32)) -> bool {
    let digest = Sha256::digest(format!("{phase}/{stage}/{id}").as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first) % u64::from(n) == u64::from(k - 1)
}

fn short_hash(h: &str) -> String {
    h.strip_prefix("sha256:")
        .unwrap_or(h)
        .chars()
        .take(12)
        .collect()
}

/// A shard is downloaded, so untrusted: read `path` only if it is a regular file inside `root`
/// (no symlink on the way, no `..`), at most `cap` bytes.
fn read_confined(root: &Path, path: &Path, cap: u64) -> Result<Vec<u8>, Error> {
    evidence::read_confined(root, path, cap, "a shard").map_err(|e| Error::Usage(e.to_string()))
}

/// A gate of a shard: its id as the stage file rules allow, and its log where gaterun writes
/// it, so neither can name a path outside the shard or the evidence.
fn check_gate(path: &Path, g: &GateResult) -> Result<(), Error> {
    let id_ok = !g.id.is_empty()
        && g.id.len() <= crate::config::validate::MAX_ID
        && g.id
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && g.id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if !id_ok {
        return Err(Error::Usage(format!(
            "refusing {}: invalid gate id {:?}",
            path.display(),
            g.id
        )));
    }
    if g.log != format!("logs/{}.log", g.id) {
        return Err(Error::Usage(format!(
            "refusing {}: gate `{}` names its log {:?}, not `logs/{}.log`",
            path.display(),
            g.id,
            g.log,
            g.id
        )));
    }
    Ok(())
}

/// Every stage result under an evidence directory, with the directory it came from.
fn stage_results(dir: &Path) -> Result<Vec<(PathBuf, StageResult)>, Error> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| Error::Usage(format!("failed to read {}: {e}", dir.display())))?;
    let mut out = Vec::new();
    // Directories of the shard only: a symbolic link could lead anywhere on the machine.
    let real_dir = |e: &std::fs::DirEntry| -> Result<bool, Error> {
        let t = e
            .file_type()
            .map_err(|err| Error::Usage(format!("failed to read {}: {err}", e.path().display())))?;
        if t.is_symlink() {
            return Err(Error::Usage(format!(
                "refusing {}: a symbolic link in a shard is never followed",
                e.path().display()
            )));
        }
        Ok(t.is_dir())
    };
    for phase in entries.flatten() {
        if !phase.file_name().to_string_lossy().starts_with("phase-") || !real_dir(&phase)? {
            continue;
        }
        for stage in std::fs::read_dir(phase.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            if !stage.file_name().to_string_lossy().starts_with("stage-") || !real_dir(&stage)? {
                continue;
            }
            // A shard's run is partial: its evidence is in `partial/`, beside any full run.
            for dir in [stage.path(), stage.path().join(evidence::PARTIAL_DIR)] {
                if std::fs::symlink_metadata(&dir).is_ok_and(|m| m.file_type().is_symlink()) {
                    return Err(Error::Usage(format!(
                        "refusing {}: a symbolic link in a shard is never followed",
                        dir.display()
                    )));
                }
                let path = dir.join("results.json");
                if std::fs::symlink_metadata(&path).is_err() {
                    continue;
                }
                let bytes = read_confined(&dir, &path, evidence::RESULTS_CAP)?;
                let text = String::from_utf8(bytes)
                    .map_err(|e| Error::Usage(format!("failed to read {}: {e}", path.display())))?;
                let r: StageResult = serde_json::from_str(&text).map_err(|e| {
                    Error::Usage(format!("failed to parse {}: {e}", path.display()))
                })?;
                out.push((dir, r));
            }
        }
    }
    Ok(out)
}

pub fn run(project: &Project, loaded: Option<&Loaded>, dirs: &[PathBuf]) -> Result<i32, Error> {
    let mut by_stage: BTreeMap<(u32, StageKey), Vec<(PathBuf, StageResult)>> = BTreeMap::new();
    for dir in dirs {
        let found = stage_results(dir)?;
        if found.is_empty() {
            return Err(Error::Usage(format!(
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
                return Err(Error::Usage(format!(
                    "refusing {}: its evidence does not agree: {p}{}",
                    dir.display(),
                    match problems.len() {
                        1 => String::new(),
                        n => format!(" (and {} more: `gaterun verify {}`)", n - 1, dir.display()),
                    }
                )));
            }
            let key = StageKey::parse(&r.stage).ok_or_else(|| {
                Error::Usage(format!("invalid stage `{}` in {}", r.stage, path.display()))
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
                return Err(Error::Usage(format!(
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
        let mut r = merge_stage(
            parts,
            stage.map(|s| s.gates.iter().map(|g| g.id.as_str()).collect()),
        );
        if let Some(s) = stage {
            r.goal = s.goal.clone();
            r.risk = s.risk.clone();
            r.open_questions = s.open_questions.clone();
            r.file = s.file.display().to_string();
        }
        merged.push(r);
    }
    let mut manifest = evidence::manifest::Manifest::load_or_new(&project.evidence_dir);
    let written = write_merged(project, loaded, &merged, &mut manifest);
    if written.is_err() {
        evidence::discard_invocation(project);
    }
    for name in ["junit.xml", "summary.md", "history.jsonl"] {
        manifest.record_file(&project.evidence_dir, name);
    }
    let commit = merged.iter().find_map(|r| r.commit.clone());
    let recorded = manifest.write(project, commit);
    written?;
    recorded?;
    let gates: usize = merged.iter().map(|r| r.gates.len()).sum();
    out!(
        "merged {} director{} into {}: {} stages, {gates} gates",
        dirs.len(),
        if dirs.len() == 1 { "y" } else { "ies" },
        project.evidence_dir.display(),
        merged.len()
    );
    let ok = merged.iter().all(|r| r.status == Status::Passed);
    Ok(if ok { exit::PASSED } else { exit::FAILED })
}

/// The merged stages' evidence, each with its history line (so the ledger's history agrees
/// with it), the implementation logs and the invocation files. A stage whose evidence could not
/// be written is removed rather than left claiming an earlier result.
fn write_merged(
    project: &Project,
    loaded: Option<&Loaded>,
    merged: &[StageResult],
    manifest: &mut evidence::manifest::Manifest,
) -> Result<(), Error> {
    for r in merged {
        let stage = loaded.and_then(|l| {
            l.stages
                .iter()
                .find(|s| s.phase == r.phase && Some(s.key) == StageKey::parse(&r.stage))
        });
        if let Err(e) =
            evidence::history::append(project, r).and_then(|()| evidence::write_stage(project, r))
        {
            evidence::discard_stage(project, r.phase, &r.stage, r.partial);
            manifest.forget_stage(project, r.phase, &r.stage, r.partial);
            return Err(e.into());
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

/// One stage from its shards: the union of their gates (a gate run by two shards keeps its
/// later run), in the stage file's order when the stage file is at hand.
fn merge_stage(parts: Vec<(PathBuf, StageResult)>, order: Option<Vec<&str>>) -> StageResult {
    let mut gates: BTreeMap<String, (String, GateResult)> = BTreeMap::new();
    for (_, r) in &parts {
        for g in &r.gates {
            // Its output was read from the shard, confined, in `run`.
            let g = g.clone();
            let replace = gates.get(&g.id).is_none_or(|(at, _)| *at <= r.started_at);
            if replace {
                gates.insert(g.id.clone(), (r.started_at.clone(), g));
            }
        }
    }
    let mut list: Vec<GateResult> = gates.into_values().map(|(_, g)| g).collect();
    match &order {
        Some(ids) => {
            list.sort_by_key(|g| ids.iter().position(|i| *i == g.id).unwrap_or(usize::MAX))
        }
        None => list.sort_by_key(|g| g.line),
    }
    let first = &parts[0].1;
    let mut status = StageResult::status_from(&list);
    let blocked_by = parts.iter().find_map(|(_, r)| r.blocked_by.clone());
    if status == Status::Passed && blocked_by.is_some() {
        status = Status::Blocked;
    }
    let partial = !merges_to_full(&parts, order.as_deref(), &list);
    // A merge of partial runs keeps their selection when they all had the same one.
    let selection = match parts.iter().map(|(_, r)| &r.selection).collect::<Vec<_>>()[..] {
        [first, ref rest @ ..] if partial && rest.iter().all(|s| *s == first) => first.clone(),
        _ => None,
    };
    StageResult {
        gaterun_version: first.gaterun_version.clone(),
        phase: first.phase,
        stage: first.stage.clone(),
        name: first.name.clone(),
        definition_hash: first.definition_hash.clone(),
        status,
        partial,
        selection,
        started_at: parts
            .iter()
            .map(|(_, r)| r.started_at.clone())
            .min()
            .unwrap_or_default(),
        duration_ms: parts.iter().map(|(_, r)| r.duration_ms).max().unwrap_or(0),
        commit: first.commit.clone(),
        blocked_by,
        // Shards contained alike, or no claim.
        containment: first
            .containment
            .clone()
            .filter(|c| parts.iter().all(|(_, r)| r.containment.as_ref() == Some(c))),
        gates: list,
        file: first
            .gates
            .first()
            .map(|g| g.file.clone())
            .unwrap_or_default(),
        goal: None,
        risk: None,
        open_questions: Vec::new(),
    }
}

/// Whether the merged parts make a full result of their stage: every part a full run or a
/// `--shard`-only one, all of one stage definition, and every gate present — with the stage
/// file at hand, every gate it defines; without it, every shard `1/N` … `N/N` of one `N`.
fn merges_to_full(
    parts: &[(PathBuf, StageResult)],
    order: Option<&[&str]>,
    gates: &[GateResult],
) -> bool {
    let runs_whole =
        |r: &StageResult| !r.partial || r.selection.as_ref().is_some_and(|s| s.shard_only());
    let Some((_, first)) = parts.first() else {
        return false;
    };
    if !parts
        .iter()
        .all(|(_, r)| runs_whole(r) && r.definition_hash == first.definition_hash)
    {
        return false;
    }
    match order {
        Some(ids) => ids.iter().all(|id| gates.iter().any(|g| g.id == *id)),
        None if parts.iter().any(|(_, r)| !r.partial) => true,
        None => {
            let shards: Vec<(u32, u32)> = parts
                .iter()
                .filter_map(|(_, r)| r.selection.as_ref()?.shard.as_deref())
                .filter_map(|s| crate::cli::parse_shard(s).ok())
                .collect();
            let Some(&(_, n)) = shards.first() else {
                return false;
            };
            shards.iter().all(|&(_, m)| m == n)
                && (1..=n).all(|k| shards.iter().any(|&(j, _)| j == k))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{in_shard, merges_to_full};
    use crate::results::{Selection, StageResult, Status};

    fn part(selection: Option<Selection>, hash: &str) -> (std::path::PathBuf, StageResult) {
        let r = StageResult {
            gaterun_version: String::new(),
            phase: 1,
            stage: "2".into(),
            name: String::new(),
            definition_hash: hash.into(),
            status: Status::Passed,
            partial: selection.is_some(),
            selection,
            started_at: String::new(),
            duration_ms: 0,
            commit: None,
            blocked_by: None,
            containment: None,
            gates: Vec::new(),
            file: String::new(),
            goal: None,
            risk: None,
            open_questions: Vec::new(),
        };
        (std::path::PathBuf::new(), r)
    }

    fn shard(s: &str) -> Option<Selection> {
        Selection::of(&[], &[], crate::cli::parse_shard(s).ok())
    }

    /// Without the stage file: every shard of one count, only shards, one definition.
    #[test]
    fn shards_merge_to_full_only_when_all_are_there() {
        let gate = || Selection::of(&["x".to_owned()], &[], None);
        let cases: &[(Vec<(std::path::PathBuf, StageResult)>, bool)] = &[
            (vec![part(shard("1/2"), "h"), part(shard("2/2"), "h")], true),
            (vec![part(None, "h")], true),
            (vec![part(shard("1/2"), "h")], false),
            (
                vec![part(shard("1/3"), "h"), part(shard("2/3"), "h")],
                false,
            ),
            (
                vec![part(shard("1/2"), "h"), part(shard("2/3"), "h")],
                false,
            ),
            (
                vec![part(shard("1/2"), "h"), part(shard("2/2"), "other")],
                false,
            ),
            (vec![part(shard("1/2"), "h"), part(gate(), "h")], false),
            (vec![part(None, "h"), part(gate(), "h")], false),
        ];
        for (i, (parts, full)) in cases.iter().enumerate() {
            assert_eq!(merges_to_full(parts, None, &[]), *full, "case {i}");
        }
    }

    #[test]
    fn every_gate_lands_in_exactly_one_shard() {
        for n in 1..6 {
            for i in 0..200 {
                let id = format!("gate-{i}");
                let count = (1..=n).filter(|k| in_shard(1, "2", &id, (*k, n))).count();
                assert_eq!(count, 1, "{id} of {n}");
            }
        }
        // Stable: the same answer as the first time this was written.
        assert!(in_shard(1, "2", "healthz", (1, 1)));
    }
}
