//! What the page shows, read from the whole evidence — every phase, not only this run: each
//! phase directory's stages (results.json, its partial run), history.jsonl for pass rates and
//! durations, and for each gate that did not pass the tail of its log. Evidence is untrusted:
//! everything is read inside the evidence directory only, capped, never through a link; what
//! cannot be read is shown as not run rather than stop the run that writes the page.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use crate::config::{Project, StageKey};
use crate::evidence::history::{self, Line, WINDOW};
use crate::evidence::ledger::{read_partial, read_stage};
use crate::evidence::paths::{self, PARTIAL_DIR};
use crate::evidence::read::{LOG_READ_CAP, read_confined_tail, read_regular};
use crate::results::{GateResult, StageResult, Status};

/// The stages the method numbers; each phase's row shows them all, run or not.
const METHOD_STAGES: u32 = 10;
/// Phases, and stages of one phase, the page shows at most (crafted evidence may name more).
const MAX_PHASES: usize = 100;
const MAX_STAGES: usize = 200;
/// Bytes of a log read for its excerpt, and lines kept of them.
const TAIL_BYTES: u64 = 64 * 1024;
pub const TAIL_LINES: usize = 40;

pub struct Phase {
    pub phase: u32,
    pub stages: Vec<StageView>,
}

pub struct StageView {
    pub key: StageKey,
    /// `phase-1/stage-02`: where its files are, relative to the evidence directory.
    pub dir: String,
    /// The last full run (the prerequisite ledger).
    pub result: Option<StageResult>,
    /// A partial run since it.
    pub partial: Option<StageResult>,
    /// The status of the stage's latest history line, for a stage with no readable result
    /// (blocked before it ran).
    pub last_status: Option<Status>,
    /// Durations of its latest full runs, oldest first.
    pub durations: Vec<u64>,
    /// Each gate's `(passes, runs)` per stage run, oldest first.
    pub rates: HashMap<String, Vec<(u32, u32)>>,
    /// The masked tail of the log of each gate that did not pass, by gate id (full run first,
    /// then the partial run's under `partial/`).
    pub tails: HashMap<(bool, String), String>,
    /// Each screenshot that is a regular file inside the stage's directory, by (partial run,
    /// path as results.json names it): its path relative to the evidence directory.
    pub shots: HashMap<(bool, String), String>,
}

impl StageView {
    /// The status the stage row shows: the last full run's, else the partial run's, else the
    /// history's, else `None` (not run).
    pub fn status(&self) -> Option<Status> {
        self.result
            .as_ref()
            .or(self.partial.as_ref())
            .map(|r| r.status)
            .or(self.last_status)
    }
}

/// Every phase of the evidence, each with its stages 0–10 and any other stage it holds.
pub fn gather(project: &Project) -> Vec<Phase> {
    let lines = history_lines(project);
    let mut keys: BTreeMap<u32, BTreeSet<StageKey>> = BTreeMap::new();
    for l in &lines {
        if let Some(k) = StageKey::parse(&l.stage) {
            keys.entry(l.phase).or_default().insert(k);
        }
    }
    for (phase, dir) in entries(&project.evidence_dir, "phase-") {
        let Ok(phase) = phase.parse::<u32>() else {
            continue;
        };
        let set = keys.entry(phase).or_default();
        for (stage, _) in entries(&dir, "stage-") {
            if let Some(k) = StageKey::parse(&stage) {
                set.insert(k);
            }
        }
    }
    keys.into_iter()
        .take(MAX_PHASES)
        .map(|(phase, mut set)| {
            set.extend((0..=METHOD_STAGES).map(|number| StageKey {
                number,
                letter: None,
            }));
            let stages = set
                .into_iter()
                .take(MAX_STAGES)
                .map(|key| stage(project, phase, key, &lines))
                .collect();
            Phase { phase, stages }
        })
        .collect()
}

fn stage(project: &Project, phase: u32, key: StageKey, lines: &[Line]) -> StageView {
    let result = read_stage(project, phase, key).and_then(Result::ok);
    let partial = read_partial(project, phase, key);
    let mine: Vec<&Line> = lines
        .iter()
        .filter(|l| l.phase == phase && StageKey::parse(&l.stage) == Some(key))
        .collect();
    let latest: Vec<&&Line> = mine.iter().rev().take(WINDOW).collect();
    let mut durations: Vec<u64> = mine
        .iter()
        .rev()
        .filter(|l| !l.partial)
        .take(WINDOW)
        .map(|l| l.duration_ms)
        .collect();
    durations.reverse();
    let mut rates: HashMap<String, Vec<(u32, u32)>> = HashMap::new();
    for l in latest.iter().rev() {
        for g in &l.gates {
            rates
                .entry(g.id.clone())
                .or_default()
                .push((g.passes.min(g.runs), g.runs));
        }
    }
    let dir = format!("phase-{phase}/{}", key.dir_name());
    let mut tails = HashMap::new();
    let mut shots = HashMap::new();
    for (is_partial, r) in [(false, &result), (true, &partial)] {
        let Some(r) = r else { continue };
        let mut base = paths::stage_dir(project, phase, key);
        let mut rel = dir.clone();
        if is_partial {
            base.push(PARTIAL_DIR);
            rel = format!("{rel}/{}", PARTIAL_DIR);
        }
        for shot in r.setup.iter().chain(&r.gates).flat_map(|g| &g.screenshots) {
            if let Some(found) = screenshot(&project.evidence_dir, &rel, &shot.path) {
                shots.insert((is_partial, shot.path.clone()), found);
            }
        }
        for g in failed(r) {
            if let Some(t) = tail(&project.evidence_dir, &base, g) {
                tails.insert((is_partial, g.id.clone()), t);
            }
        }
    }
    StageView {
        key,
        dir,
        result,
        partial,
        last_status: mine.last().map(|l| l.status),
        durations,
        rates,
        tails,
        shots,
    }
}

/// The gates (and the stage's setup) of a run that did not pass.
pub fn failed(r: &StageResult) -> impl Iterator<Item = &GateResult> {
    r.setup.iter().chain(&r.gates).filter(|g| {
        matches!(
            g.status,
            Status::Failed | Status::Error | Status::Interrupted
        )
    })
}

/// The last lines of a gate's log as the evidence holds it (masked when it was written).
fn tail(root: &Path, stage_dir: &Path, g: &GateResult) -> Option<String> {
    let path = stage_dir.join(&g.log);
    let bytes = read_confined_tail(root, &path, LOG_READ_CAP, TAIL_BYTES, "evidence").ok()?;
    let mut text = String::from_utf8_lossy(&bytes).into_owned();
    let whole = std::fs::symlink_metadata(&path).is_ok_and(|m| m.len() <= TAIL_BYTES);
    if !whole {
        // The first line read is most likely cut: it is left out.
        text = text
            .split_once('\n')
            .map(|(_, r)| r.to_owned())
            .unwrap_or_default();
    }
    Some(crate::evidence::markdown::last_lines(
        &crate::text::sanitize(&text),
        TAIL_LINES,
    ))
}

/// A screenshot's path relative to the evidence directory, if it names a regular file inside
/// the stage's directory (no `..`, no link on the way): crafted evidence may name any path.
fn screenshot(root: &Path, stage_rel: &str, shot: &str) -> Option<String> {
    let rel = format!("{stage_rel}/{shot}");
    super::escape::href(&rel)?;
    if !shot.starts_with("logs/") || !shot.ends_with(".png") {
        return None;
    }
    let path = root.join(&rel);
    crate::evidence::read::confined(root, &path, "evidence").ok()?;
    std::fs::symlink_metadata(&path)
        .is_ok_and(|m| m.is_file())
        .then_some(rel)
}

/// Directory entries named `<prefix><rest>` (real directories, no links): `(rest, path)`.
fn entries(dir: &Path, prefix: &str) -> Vec<(String, std::path::PathBuf)> {
    let mut out: Vec<(String, std::path::PathBuf)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|e| {
            let name = e.file_name().to_str()?.to_owned();
            let rest = name.strip_prefix(prefix)?.to_owned();
            Some((rest, e.path()))
        })
        .collect();
    out.sort();
    out
}

/// Every readable line of history.jsonl, oldest first (capped as every reader caps it).
fn history_lines(project: &Project) -> Vec<Line> {
    let Ok(bytes) = read_regular(&history::path(project), history::CAP) else {
        return Vec::new();
    };
    String::from_utf8_lossy(&bytes)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}
