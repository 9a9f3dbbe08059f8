//! A stage's evidence directory: built aside while the stage runs, then swapped in with one
//! atomic rename (`RENAME_EXCHANGE`), so a crash or kill leaves either the old complete
//! evidence or the new complete evidence, never half of either; or removed when the run's
//! result could not be written.

use std::path::{Path, PathBuf};

use super::paths::{PARTIAL_DIR, phase_dir, stage_dir, stage_dir_name};
use super::write::{EvidenceError, err, write_new};
use crate::config::{Project, StageKey};
use crate::results::{StageNotes, StageResult};

/// Write a stage's whole evidence directory (its `partial/` one for a partial run), replacing
/// the previous one atomically.
pub fn write_stage(
    project: &Project,
    result: &StageResult,
    notes: &StageNotes,
) -> Result<(), EvidenceError> {
    let dir_name = stage_dir_name(&result.stage);
    StageWriter::begin(project, result.phase, dir_name, result.partial)?
        .finish(project, result, notes)
}

/// A stage's evidence directory being built aside: gate logs can go in while the stage still
/// runs (so on a slow file system their creation overlaps the next gates), the rest when it
/// ends, then one atomic swap. Files inside the aside directory are written directly: the
/// directory as a whole is what appears atomically. Dropped unfinished, it is removed.
pub struct StageWriter {
    aside: PathBuf,
    target: PathBuf,
    written: std::sync::Mutex<std::collections::HashSet<String>>,
    failed: std::sync::Mutex<Option<EvidenceError>>,
    done: bool,
}

impl StageWriter {
    /// `dir_name`: the stage's directory (`stage-04a`, [`StageKey::dir_name`]).
    pub fn begin(
        project: &Project,
        phase: u32,
        dir_name: String,
        partial: bool,
    ) -> Result<Self, EvidenceError> {
        let mut parent = phase_dir(project, phase);
        let mut name = dir_name;
        if partial {
            parent.push(&name);
            name = PARTIAL_DIR.to_owned();
        }
        let aside = parent.join(format!(".{name}.new-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&aside);
        let logs = aside.join("logs");
        let writer = StageWriter {
            target: parent.join(&name),
            aside,
            written: Default::default(),
            failed: Default::default(),
            done: false,
        };
        std::fs::create_dir_all(&logs).map_err(err(&logs))?;
        Ok(writer)
    }

    /// One gate's log (`logs/<id>.log`). A failure is kept and reported by `finish`.
    pub fn write_log(&self, rel: &str, text: &str) {
        let path = self.aside.join(rel);
        match write_new(&path, text.as_bytes()) {
            Ok(()) => {
                self.written
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(rel.to_owned());
            }
            Err(source) => {
                self.failed
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .get_or_insert(EvidenceError { path, source });
            }
        }
    }

    /// The results, JUnit, report and any log not written yet; then the swap.
    pub fn finish(
        mut self,
        project: &Project,
        result: &StageResult,
        notes: &StageNotes,
    ) -> Result<(), EvidenceError> {
        if let Some(e) = self.failed.lock().unwrap_or_else(|e| e.into_inner()).take() {
            return Err(e);
        }
        let put = |name: &str, data: &[u8]| {
            let path = self.aside.join(name);
            write_new(&path, data).map_err(err(&path))
        };
        let json = serde_json::to_string_pretty(result).expect("results serialize");
        put("results.json", json.as_bytes())?;
        let mut report = quick_junit::Report::new(format!("gaterun {}", result.name));
        let dir = super::paths::stage_dir_for_reports(project, result);
        report.add_test_suite(super::junit::stage_suite(result, &dir));
        put("junit.xml", super::junit::to_xml(&report).as_bytes())?;
        let rates = super::history::pass_rates(project, result.phase, &result.stage);
        put(
            "report.md",
            super::markdown::stage_report(result, notes, &rates).as_bytes(),
        )?;
        let written = std::mem::take(&mut *self.written.lock().unwrap_or_else(|e| e.into_inner()));
        for g in result.gates.iter().chain(&result.setup) {
            if g.status != crate::results::Status::Blocked
                && g.attempts > 0
                && !written.contains(&g.log)
            {
                put(&g.log, g.output.as_bytes())?;
            }
            // Issue 19: its browser screenshots, `logs/<gate>/NN.png`.
            for shot in &g.screenshots {
                let path = self.aside.join(&shot.path);
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir).map_err(err(dir))?;
                }
                put(&shot.path, &shot.png)?;
            }
        }
        let mut ours: std::collections::HashSet<&str> =
            ["results.json", "junit.xml", "report.md"].into();
        ours.extend(
            result
                .gates
                .iter()
                .chain(&result.setup)
                .map(|g| g.log.as_str()),
        );
        ours.extend(
            result
                .gates
                .iter()
                .chain(&result.setup)
                .flat_map(|g| g.screenshots.iter().map(|s| s.path.as_str())),
        );
        prune_foreign(&self.aside, "", &ours);
        swap_in(&self.aside, &self.target)?;
        self.done = true;
        Ok(())
    }
}

/// Remove from the aside directory whatever gaterun did not write there: its path is known
/// while the stage runs, and a gate (running as gaterun's user) could plant a file that the
/// swap would then present as evidence. Links and other non-regular entries go too.
fn prune_foreign(dir: &Path, rel: &str, ours: &std::collections::HashSet<&str>) {
    let Ok(entries) = std::fs::read_dir(dir.join(rel)) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let child = if rel.is_empty() {
            name
        } else {
            format!("{rel}/{name}")
        };
        let path = dir.join(&child);
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        // `logs/<gate>/` holds a gate's screenshots.
        if meta.is_dir() && (child == "logs" || rel == "logs") {
            prune_foreign(dir, &child, ours);
        } else if meta.is_dir() {
            let _ = std::fs::remove_dir_all(&path);
        } else if !(meta.is_file() && ours.contains(child.as_str())) {
            let _ = std::fs::remove_file(&path);
        }
    }
}

impl Drop for StageWriter {
    fn drop(&mut self) {
        if !self.done {
            // A full disk, a read-only directory, an error before the end: leave no partial
            // directory behind.
            let _ = std::fs::remove_dir_all(&self.aside);
        }
    }
}

fn swap_in(aside: &Path, target: &Path) -> Result<(), EvidenceError> {
    if target.exists() {
        let exchanged = rustix::fs::renameat_with(
            rustix::fs::CWD,
            aside,
            rustix::fs::CWD,
            target,
            rustix::fs::RenameFlags::EXCHANGE,
        );
        match exchanged {
            Ok(()) => {
                let _ = std::fs::remove_dir_all(aside);
                return Ok(());
            }
            Err(_) => {
                // No RENAME_EXCHANGE on this filesystem: move the old one away first.
                let old = aside.with_extension("old");
                let _ = std::fs::remove_dir_all(&old);
                std::fs::rename(target, &old).map_err(err(target))?;
                std::fs::rename(aside, target).map_err(err(target))?;
                let _ = std::fs::remove_dir_all(&old);
                return Ok(());
            }
        }
    }
    std::fs::rename(aside, target).map_err(err(target))
}

/// A run whose result for a stage could not be written: the stage's previous evidence no
/// longer tells its latest run, so it goes rather than keep claiming a pass the history
/// contradicts (a full disk). Removing frees space; it cannot fail for want of it.
pub fn discard_stage(project: &Project, phase: u32, stage: &str, partial: bool) {
    let Some(key) = StageKey::parse(stage) else {
        return;
    };
    let mut dir = stage_dir(project, phase, key);
    if partial {
        dir.push(PARTIAL_DIR);
    }
    let _ = std::fs::remove_dir_all(&dir);
}
