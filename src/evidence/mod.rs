//! Evidence: `results.json` (the prerequisite ledger), JUnit, markdown and logs per stage, and
//! the invocation's `junit.xml` and `summary.md`.
//!
//! A stage's directory is built aside and swapped in with one atomic rename (`RENAME_EXCHANGE`),
//! so a crash or kill leaves either the old complete evidence or the new complete evidence,
//! never half of either. Single files are written aside and renamed over.
//!
//! A partial run (`--gate`, `--tag`, `--shard`) goes to the stage directory's `partial/`
//! subdirectory, swapped in the same way, so the stage's last full `results.json` — the
//! prerequisite ledger — survives it. A full run replaces the whole stage directory, the
//! older partial run with it.

pub mod history;
pub mod junit;
pub mod lock;
pub mod log;
pub mod manifest;
pub mod markdown;

use std::io;
use std::path::{Path, PathBuf};

use crate::config::{Project, StageKey};
use crate::results::StageResult;

#[derive(Debug, thiserror::Error)]
#[error("failed to write evidence to {path}: {source}")]
pub struct EvidenceError {
    pub path: PathBuf,
    #[source]
    pub source: io::Error,
}

fn err(path: &Path) -> impl FnOnce(io::Error) -> EvidenceError + '_ {
    move |source| EvidenceError {
        path: path.to_path_buf(),
        source,
    }
}

pub fn phase_dir(project: &Project, phase: u32) -> PathBuf {
    project.evidence_dir.join(format!("phase-{phase}"))
}

pub fn stage_dir(project: &Project, phase: u32, key: StageKey) -> PathBuf {
    phase_dir(project, phase).join(key.dir_name())
}

/// Where a partial run's evidence goes, inside its stage's directory.
pub const PARTIAL_DIR: &str = "partial";

/// Write a stage's whole evidence directory (its `partial/` one for a partial run), replacing
/// the previous one atomically.
pub fn write_stage(project: &Project, result: &StageResult) -> Result<(), EvidenceError> {
    StageWriter::begin(project, result.phase, &result.stage, result.partial)?
        .finish(project, result)
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
    pub fn begin(
        project: &Project,
        phase: u32,
        stage: &str,
        partial: bool,
    ) -> Result<Self, EvidenceError> {
        let mut parent = phase_dir(project, phase);
        let mut name = StageKey::parse(stage)
            .map(|k| k.dir_name())
            .unwrap_or_else(|| format!("stage-{stage}"));
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
    pub fn finish(mut self, project: &Project, result: &StageResult) -> Result<(), EvidenceError> {
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
        report.add_test_suite(junit::stage_suite(result));
        put("junit.xml", junit::to_xml(&report).as_bytes())?;
        let rates = history::pass_rates(project, result.phase, &result.stage);
        put(
            "report.md",
            markdown::stage_report(result, &rates).as_bytes(),
        )?;
        let written = std::mem::take(&mut *self.written.lock().unwrap_or_else(|e| e.into_inner()));
        for g in &result.gates {
            if g.status != crate::results::Status::Blocked
                && g.attempts > 0
                && !written.contains(&g.log)
            {
                put(&g.log, g.output.as_bytes())?;
            }
        }
        let mut ours: std::collections::HashSet<&str> =
            ["results.json", "junit.xml", "report.md"].into();
        ours.extend(result.gates.iter().map(|g| g.log.as_str()));
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
        if meta.is_dir() && child == "logs" {
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

/// Create `path` and write `data`: never through a symbolic link or into a file that is
/// already there (a gate that can write into evidence/ must not make gaterun write elsewhere).
fn write_new(path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
        .open(path)?
        .write_all(data)
}

/// Write a file aside and rename it over the target.
pub fn write_file(path: &Path, data: &[u8]) -> Result<(), EvidenceError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(err(dir))?;
    }
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let aside = path.with_file_name(format!(".{file_name}.new-{}", std::process::id()));
    // What a killed run of the same pid left, or anything planted there, is removed (a link
    // itself, never its target) and the file made anew.
    let _ = std::fs::remove_file(&aside);
    let written = write_new(&aside, data)
        .map_err(err(&aside))
        .and_then(|()| std::fs::rename(&aside, path).map_err(err(path)));
    if written.is_err() {
        let _ = std::fs::remove_file(&aside);
    }
    written
}

/// The invocation's `junit.xml` and `summary.md` at the evidence root.
pub fn write_invocation(project: &Project, results: &[StageResult]) -> Result<(), EvidenceError> {
    let mut report = quick_junit::Report::new("gaterun");
    for r in results {
        report.add_test_suite(junit::stage_suite(r));
    }
    write_file(
        &project.evidence_dir.join("junit.xml"),
        junit::to_xml(&report).as_bytes(),
    )?;
    write_file(
        &project.evidence_dir.join("summary.md"),
        markdown::summary(results).as_bytes(),
    )
}

/// The last full result of a stage (the ledger): `None` if never run whole, `Err` if
/// unreadable.
pub fn read_stage(
    project: &Project,
    phase: u32,
    key: StageKey,
) -> Option<Result<StageResult, String>> {
    read_results(
        project,
        &stage_dir(project, phase, key).join("results.json"),
    )
}

/// The stage's partial run since its last full one, if any (unreadable counts as none: it is
/// never a prerequisite).
pub fn read_partial(project: &Project, phase: u32, key: StageKey) -> Option<StageResult> {
    let dir = stage_dir(project, phase, key).join(PARTIAL_DIR);
    read_results(project, &dir.join("results.json")).and_then(Result::ok)
}

/// Read inside the evidence only: a stage directory replaced by a link is not read through.
fn read_results(project: &Project, path: &Path) -> Option<Result<StageResult, String>> {
    let bytes = match read_confined(&project.evidence_dir, path, RESULTS_CAP, "evidence") {
        Ok(b) => b,
        Err(e) if e.not_found() => return None,
        Err(e) => return Some(Err(e.to_string())),
    };
    Some(
        serde_json::from_slice(&bytes)
            .map_err(|e| format!("failed to parse {}: {e}", path.display())),
    )
}

/// What a results.json may weigh (its gates' messages are one line each).
pub const RESULTS_CAP: u64 = 64 << 20;

/// Why an evidence file was not read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("refusing {path}: {why}")]
    Refused { path: PathBuf, why: String },
    #[error("failed to read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

impl ReadError {
    pub fn not_found(&self) -> bool {
        matches!(self, ReadError::Io { source, .. } if source.kind() == io::ErrorKind::NotFound)
    }

    /// The reason alone, without the path (for a line that names the file itself).
    pub fn reason(&self) -> String {
        match self {
            ReadError::Refused { why, .. } => why.clone(),
            ReadError::Io { source, .. } => source.to_string(),
        }
    }
}

/// An evidence file's bytes, only from a regular file, never through a symbolic link at its
/// last component, at most `cap`: a FIFO put in place of a results.json must not block (with the
/// evidence lock held), nor `/dev/zero` never end.
pub fn read_regular(path: &Path, cap: u64) -> Result<Vec<u8>, ReadError> {
    use std::io::Read;
    let mut data = Vec::new();
    open_regular(path, cap)?
        .take(cap)
        .read_to_end(&mut data)
        .map_err(|source| ReadError::Io {
            path: path.to_path_buf(),
            source,
        })?;
    Ok(data)
}

/// `path` opened for reading if it is a regular file of at most `cap` bytes (no link followed,
/// no FIFO waited on).
pub fn open_regular(path: &Path, cap: u64) -> Result<std::fs::File, ReadError> {
    use std::os::unix::fs::OpenOptionsExt;
    let io = |source| ReadError::Io {
        path: path.to_path_buf(),
        source,
    };
    let refuse = |why: String| ReadError::Refused {
        path: path.to_path_buf(),
        why,
    };
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(
            rustix::fs::OFlags::NOFOLLOW.bits() as i32 | rustix::fs::OFlags::NONBLOCK.bits() as i32,
        )
        .open(path)
        .map_err(|e| {
            if e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) {
                refuse("a symbolic link is never followed".to_owned())
            } else {
                io(e)
            }
        })?;
    let meta = file.metadata().map_err(io)?;
    if !meta.is_file() {
        return Err(refuse(
            "not a regular file (a FIFO, a device or a socket is never read)".to_owned(),
        ));
    }
    if meta.len() > cap {
        return Err(refuse(format!("larger than {} MiB", cap >> 20)));
    }
    Ok(file)
}

/// `path` read as `read_regular` does, and only if it lies inside `root` with no symbolic link
/// on the way (a downloaded shard, evidence under review: untrusted trees).
/// `within` names the tree in messages ("a shard", "evidence").
pub fn read_confined(
    root: &Path,
    path: &Path,
    cap: u64,
    within: &str,
) -> Result<Vec<u8>, ReadError> {
    let refuse = |why: &str| ReadError::Refused {
        path: path.to_path_buf(),
        why: why.to_owned(),
    };
    let rel = path
        .strip_prefix(root)
        .map_err(|_| refuse(&format!("it is outside {within}")))?;
    let mut at = root.to_path_buf();
    for part in rel.components() {
        match part {
            std::path::Component::Normal(p) => at.push(p),
            _ => return Err(refuse(&format!("its path leaves {within} (`..`, `/`)"))),
        }
        let meta = std::fs::symlink_metadata(&at).map_err(|source| ReadError::Io {
            path: at.clone(),
            source,
        })?;
        if meta.file_type().is_symlink() {
            return Err(refuse(&format!(
                "a symbolic link in {within} is never followed"
            )));
        }
    }
    read_regular(path, cap)
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

/// The name of the stage's copy of the evidence, in the run's temp root.
pub const SNAPSHOT_DIR: &str = "gaterun-evidence";

/// What one file of a gate's copy of the evidence may weigh.
const SNAPSHOT_FILE_CAP: u64 = 64 << 20;

/// A copy of the evidence for a stage's gates (`GATERUN_EVIDENCE`): gates get no writable path
/// into evidence/, yet stage 10's `gaterun signoff` reads the ledger. Every file the manifest
/// covers but gate logs (they can be large, and no ledger check reads them), with the manifest
/// and the Statement; no symbolic link followed. What a gate writes there reaches nothing.
pub fn snapshot(evidence: &Path, to: &Path) -> io::Result<()> {
    std::fs::create_dir_all(to)?;
    let mut found = Vec::new();
    manifest::walk(evidence, "", &mut found);
    let rels = found
        .into_iter()
        .filter_map(|f| match f {
            manifest::Found::File(rel) => Some(rel),
            manifest::Found::Other(..) => None,
        })
        .filter(|rel| !rel.split('/').any(|p| p == "logs"))
        .chain([
            manifest::MANIFEST.to_owned(),
            manifest::ATTESTATION.to_owned(),
        ]);
    for rel in rels {
        let data = match read_confined(
            evidence,
            &evidence.join(&rel),
            SNAPSHOT_FILE_CAP,
            "evidence",
        ) {
            Ok(d) => d,
            // Gone meanwhile, or not a file to copy: the gate's copy goes without it.
            Err(_) => continue,
        };
        let dest = to.join(&rel);
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent)?;
        }
        write_new(&dest, &data)?;
    }
    Ok(())
}

/// A run that failed to write its evidence: the invocation files of an earlier run would
/// otherwise stand for this one.
pub fn discard_invocation(project: &Project) {
    for name in ["junit.xml", "summary.md"] {
        let _ = std::fs::remove_file(project.evidence_dir.join(name));
    }
}

/// Remove what a killed earlier run may have left aside: `.stage-02.new-<pid>` directories,
/// `.junit.xml.new-<pid>` files, `.stage-02.new-<pid>.old` directories, at the evidence root,
/// in each phase directory and in each stage directory (`.partial.new-<pid>`). Called with the
/// evidence lock held.
pub fn sweep_leftovers(project: &Project) {
    let subdirs = |dir: &Path| -> Vec<PathBuf> {
        std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
            .map(|e| e.path())
            .collect()
    };
    let phases = subdirs(&project.evidence_dir);
    let stages: Vec<PathBuf> = phases.iter().flat_map(|p| subdirs(p)).collect();
    let mut dirs = vec![project.evidence_dir.clone()];
    dirs.extend(phases);
    dirs.extend(stages);
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let Some((_, rest)) = name.rsplit_once(".new-") else {
                continue;
            };
            if !name.starts_with('.') {
                continue;
            }
            let pid = rest.trim_end_matches(".old").parse::<i32>().ok();
            let alive = pid.is_some_and(|p| {
                p != std::process::id() as i32 && Path::new(&format!("/proc/{p}")).exists()
            });
            if !alive {
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    let _ = std::fs::remove_dir_all(e.path());
                } else {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
    }
}
