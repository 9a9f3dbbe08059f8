//! Where an `http` step's file really is. `body_file`, a multipart `file:` and `save` are
//! relative to the gate's workdir and must stay inside it: `check` refuses an absolute path
//! and a `..` that climbs out (`files::inside`, lexical); here, when the step runs, the real
//! location is resolved through every symbolic link and refused when it lies outside the
//! workdir (`lnk -> /tmp`, `sec -> /etc/…`). A write is also refused inside the project's
//! evidence directory, which gaterun alone writes and `MANIFEST.json` vouches for.

use std::path::{Path, PathBuf};

use crate::steps::probe::io_reason;

const OUT: &str = "the path leads out of the gate's workdir through a symbolic link";

/// The file `rel` (already [`crate::files::inside`]) names for reading: its real path, inside
/// the real workdir. A missing file is the system's reason.
pub(super) fn read_target(workdir: &Path, rel: &str) -> Result<PathBuf, String> {
    let root = real(workdir)?;
    let target = real(&root.join(crate::files::normalized(rel)))?;
    if !target.starts_with(&root) {
        return Err(OUT.to_owned());
    }
    Ok(target)
}

/// The file `rel` (already [`crate::files::inside`] and [`crate::files::names_file`]) names
/// for writing, its directories made: its parent is the real one (every directory on the way
/// that exists resolved through its links and kept inside the real workdir, none made
/// elsewhere); its last component is left as it is (the write replaces a link there, never
/// writes through it). Refused inside `evidence`.
pub(super) fn write_target(workdir: &Path, evidence: &Path, rel: &str) -> Result<PathBuf, String> {
    let root = real(workdir)?;
    let rel = crate::files::normalized(rel);
    let Some(name) = rel.file_name() else {
        return Err("the path names no file".to_owned());
    };
    let mut dir = root.clone();
    for part in rel.parent().into_iter().flat_map(Path::components) {
        let next = dir.join(part);
        match std::fs::symlink_metadata(&next) {
            Ok(_) => dir = real(&next)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                // Another gate saving into the same directory may make it first: then it is
                // there, and resolved like any that was.
                match std::fs::create_dir(&next) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                    Err(e) => return Err(io_reason(&e)),
                }
                dir = real(&next)?;
            }
            Err(e) => return Err(io_reason(&e)),
        }
        if !dir.starts_with(&root) {
            return Err(OUT.to_owned());
        }
    }
    let target = dir.join(name);
    let evidence_real = evidence.canonicalize().ok();
    if target.starts_with(evidence) || evidence_real.is_some_and(|e| target.starts_with(e)) {
        return Err(
            "the path is in the project's evidence directory, which only gaterun writes".to_owned(),
        );
    }
    Ok(target)
}

fn real(path: &Path) -> Result<PathBuf, String> {
    path.canonicalize().map_err(|e| io_reason(&e))
}
