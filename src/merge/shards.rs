//! Reading a shard's evidence: it was downloaded, so it is untrusted — only regular files
//! inside it, no symbolic link followed, gate ids and log paths as gaterun writes them.

use std::io;
use std::path::{Path, PathBuf};

use super::error::MergeError;
use crate::evidence;
use crate::results::{GateResult, StageResult};

/// A shard is downloaded, so untrusted: read `path` only if it is a regular file inside `root`
/// (no symlink on the way, no `..`), at most `cap` bytes.
pub(super) fn read_confined(root: &Path, path: &Path, cap: u64) -> Result<Vec<u8>, MergeError> {
    Ok(evidence::read_confined(root, path, cap, "a shard")?)
}

/// A gate of a shard: its id as the stage file rules allow (a matrix combination's too), and
/// its log where gaterun writes it, so neither can name a path outside the shard or the
/// evidence.
pub(super) fn check_gate(path: &Path, g: &GateResult) -> Result<(), MergeError> {
    let id_ok =
        g.id.len() <= crate::config::validate::MAX_ID && crate::config::validate::is_gate_id(&g.id);
    if !id_ok {
        return Err(MergeError::Refused(format!(
            "refusing {}: invalid gate id {:?}",
            path.display(),
            g.id
        )));
    }
    if g.log != format!("logs/{}.log", g.id) {
        return Err(MergeError::Refused(format!(
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
pub(super) fn stage_results(dir: &Path) -> Result<Vec<(PathBuf, StageResult)>, MergeError> {
    let entries = std::fs::read_dir(dir).map_err(|source| match source.kind() {
        // The argument names no directory: the command line's fault.
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory => {
            MergeError::Refused(format!("failed to read {}: {source}", dir.display()))
        }
        _ => MergeError::Read {
            path: dir.to_path_buf(),
            source,
        },
    })?;
    let mut out = Vec::new();
    // Directories of the shard only: a symbolic link could lead anywhere on the machine.
    let real_dir = |e: &std::fs::DirEntry| -> Result<bool, MergeError> {
        let t = e.file_type().map_err(|source| MergeError::Read {
            path: e.path(),
            source,
        })?;
        if t.is_symlink() {
            return Err(MergeError::Refused(format!(
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
                    return Err(MergeError::Refused(format!(
                        "refusing {}: a symbolic link in a shard is never followed",
                        dir.display()
                    )));
                }
                let path = dir.join("results.json");
                if std::fs::symlink_metadata(&path).is_err() {
                    continue;
                }
                let bytes = read_confined(&dir, &path, evidence::RESULTS_CAP)?;
                let text = String::from_utf8(bytes).map_err(|e| {
                    MergeError::Refused(format!("failed to read {}: {e}", path.display()))
                })?;
                let r: StageResult = serde_json::from_str(&text).map_err(|e| {
                    MergeError::Refused(format!("failed to parse {}: {e}", path.display()))
                })?;
                out.push((dir, r));
            }
        }
    }
    Ok(out)
}
