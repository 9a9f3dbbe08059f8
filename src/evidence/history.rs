//! `evidence/history.jsonl`: one line per stage run, appended, for pass rates over time and
//! flake hunting.

use std::collections::HashMap;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;

use serde::{Deserialize, Serialize};

use crate::config::Project;
use crate::results::{StageResult, Status};

/// How many of a gate's latest stage runs its pass rate covers.
pub const WINDOW: usize = 30;

#[derive(Debug, Serialize, Deserialize)]
pub struct Line {
    pub started_at: String,
    pub phase: u32,
    pub stage: String,
    pub status: Status,
    /// A `--gate`/`--tag`/`--shard` run: its stage status is not the stage's.
    #[serde(default)]
    pub partial: bool,
    pub commit: Option<String>,
    pub duration_ms: u64,
    pub gates: Vec<GateLine>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct GateLine {
    pub id: String,
    pub status: Status,
    /// Runs of the gate in that stage run (`--repeat`) and how many passed.
    pub runs: u32,
    pub passes: u32,
}

/// What the history may weigh when read (one line per stage run): `verify` and the ledger hold
/// a larger one unreadable, and a report never reads it whole into memory.
pub const CAP: u64 = 256 << 20;

pub(super) fn path(project: &Project) -> std::path::PathBuf {
    project.evidence_dir.join("history.jsonl")
}

/// Append one stage run (one write, so concurrent appenders never interleave a line).
pub fn append(project: &Project, r: &StageResult) -> Result<(), super::write::EvidenceError> {
    let gates = r
        .gates
        .iter()
        .filter(|g| g.attempts > 0)
        .map(|g| {
            let runs = g.attempts.max(1);
            let passes = match g.status {
                Status::Passed => runs - g.failed_runs.len() as u32,
                _ => 0,
            };
            GateLine {
                id: g.id.clone(),
                status: g.status,
                runs,
                passes,
            }
        })
        .collect();
    let line = Line {
        started_at: r.started_at.clone(),
        phase: r.phase,
        stage: r.stage.clone(),
        status: r.status,
        partial: r.partial,
        commit: r.commit.clone(),
        duration_ms: r.duration_ms,
        gates,
    };
    let mut text = serde_json::to_string(&line).expect("history serializes");
    text.push('\n');
    let p = path(project);
    let err = |source| super::write::EvidenceError {
        path: p.clone(),
        source,
    };
    std::fs::create_dir_all(&project.evidence_dir).map_err(err)?;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .read(true)
        // A symbolic link or FIFO planted in evidence/ is never followed or waited on.
        .custom_flags(
            rustix::fs::OFlags::NOFOLLOW.bits() as i32 | rustix::fs::OFlags::NONBLOCK.bits() as i32,
        )
        .open(&p)
        .map_err(err)?;
    if !f.metadata().map_err(err)?.is_file() {
        return Err(err(std::io::Error::other("not a regular file")));
    }
    // A line cut short by a full disk or a kill stays alone on its line, unreadable and
    // skipped, instead of spoiling this one.
    if ends_mid_line(&mut f) {
        text.insert(0, '\n');
    }
    f.write_all(text.as_bytes()).map_err(err)
}

fn ends_mid_line(f: &mut std::fs::File) -> bool {
    use std::io::{Read, Seek, SeekFrom};
    let mut last = [0u8; 1];
    f.seek(SeekFrom::End(-1)).is_ok() && f.read_exact(&mut last).is_ok() && last[0] != b'\n'
}

/// Pass rates of one stage's gates over their latest `WINDOW` stage runs: id → (passes, runs).
pub fn pass_rates(project: &Project, phase: u32, stage: &str) -> HashMap<String, (u32, u32)> {
    // Capped, and only a regular file: a history grown to gigabytes (or a FIFO) costs no
    // memory and no wait; the report then shows no pass rates.
    let Ok(bytes) = super::read::read_regular(&path(project), CAP) else {
        return HashMap::new();
    };
    let text = String::from_utf8_lossy(&bytes);
    let mut seen: HashMap<String, (u32, u32, usize)> = HashMap::new();
    for line in text.lines().rev() {
        let Ok(l) = serde_json::from_str::<Line>(line) else {
            continue;
        };
        if l.phase != phase || l.stage != stage {
            continue;
        }
        for g in l.gates {
            let e = seen.entry(g.id).or_insert((0, 0, 0));
            if e.2 < WINDOW {
                e.0 += g.passes;
                e.1 += g.runs;
                e.2 += 1;
            }
        }
    }
    seen.into_iter().map(|(k, (p, r, _))| (k, (p, r))).collect()
}
