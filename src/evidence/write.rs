//! Atomic writing: a file is written aside and renamed over its target, never through a
//! symbolic link or into a file already there (a gate that can write into evidence/ must not
//! make gaterun write elsewhere). Every write failure is one `EvidenceError` naming the path.

use std::io;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
#[error("failed to write evidence to {path}: {source}")]
pub struct EvidenceError {
    pub path: PathBuf,
    #[source]
    pub source: io::Error,
}

pub(super) fn err(path: &Path) -> impl FnOnce(io::Error) -> EvidenceError + '_ {
    move |source| EvidenceError {
        path: path.to_path_buf(),
        source,
    }
}

/// Create `path` and write `data`: never through a symbolic link or into a file that is
/// already there (a gate that can write into evidence/ must not make gaterun write elsewhere).
pub(super) fn write_new(path: &Path, data: &[u8]) -> std::io::Result<()> {
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
