//! Reading a file gaterun does not trust to be one: only a regular file (a FIFO put in its
//! place is refused, never waited on; a device is never read), capped, and for evidence never
//! through a symbolic link. One reader for stage files, `gaterun.yaml` and evidence alike.

use std::io;
use std::path::{Path, PathBuf};

/// Why a file was not read.
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

/// A file's bytes, only from a regular file, never through a symbolic link at its last
/// component, at most `cap`: a FIFO put in place of a results.json must not block (with the
/// evidence lock held), nor `/dev/zero` never end.
pub fn read_regular(path: &Path, cap: u64) -> Result<Vec<u8>, ReadError> {
    read(path, cap, Links::Refuse)
}

/// A file's bytes as [`open`] allows them.
pub fn read(path: &Path, cap: u64, links: Links) -> Result<Vec<u8>, ReadError> {
    use std::io::Read;
    let mut data = Vec::new();
    open(path, cap, links)?
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
    open(path, cap, Links::Refuse)
}

/// Whether a symbolic link at the last component is followed: a stage file may be one (the
/// user's own tree); evidence under review may not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Links {
    Follow,
    Refuse,
}

/// `path` opened for reading if it is a regular file of at most `cap` bytes, opened without
/// waiting (a FIFO is refused, never waited on).
pub fn open(path: &Path, cap: u64, links: Links) -> Result<std::fs::File, ReadError> {
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
        .custom_flags(match links {
            Links::Refuse => {
                rustix::fs::OFlags::NOFOLLOW.bits() as i32
                    | rustix::fs::OFlags::NONBLOCK.bits() as i32
            }
            Links::Follow => rustix::fs::OFlags::NONBLOCK.bits() as i32,
        })
        .open(path)
        .map_err(|e| {
            // ELOOP under O_NOFOLLOW is a link at the last component; when links are
            // followed it is a loop of them, told as the system tells it.
            if links == Links::Refuse
                && e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error())
            {
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

/// Whether a relative path stays inside the directory it is relative to: not absolute, and
/// no `..` that climbs above its start (`a/../b` stays, `a/../../b` does not). Lexical: a
/// symbolic link inside is the project's own.
pub fn inside(path: &str) -> Result<(), String> {
    use std::path::Component;
    if path.trim().is_empty() {
        return Err("the path is empty".to_owned());
    }
    let mut depth = 0usize;
    for c in Path::new(path).components() {
        match c {
            Component::RootDir | Component::Prefix(_) => {
                return Err("the path must be relative to the gate's workdir".to_owned());
            }
            Component::ParentDir if depth == 0 => {
                return Err("the path climbs out of the gate's workdir with `..`".to_owned());
            }
            Component::ParentDir => depth -= 1,
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
        }
    }
    Ok(())
}

/// Whether a relative path to write names a file: not the directory it is relative to (`.`,
/// `a/..`), not a directory (`out/`, `out/.`). Lexical, like [`inside`].
pub fn names_file(path: &str) -> Result<(), String> {
    use std::path::Component;
    let last = Path::new(path).components().next_back();
    if path.ends_with('/') || path.ends_with("/.") || !matches!(last, Some(Component::Normal(_))) {
        return Err("the path names no file (it ends in `/`, `.` or `..`)".to_owned());
    }
    Ok(())
}

/// A path with `.` and `a/..` folded away, without the file system (`a/./b/../c` is `a/c`,
/// `/p/x/../evidence` is `/p/evidence`): for a path [`inside`], its parent and file name are
/// the real target's.
pub fn normalized(path: impl AsRef<Path>) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in path.as_ref().components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_path_inside_and_its_near_misses() {
        for ok in ["a", "a/b", "./a", "a/../b", "a/b/../../c"] {
            assert_eq!(super::inside(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            " ",
            "/etc/passwd",
            "..",
            "../a",
            "a/../../b",
            "a/./../..",
        ] {
            assert!(super::inside(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_path_to_write_names_a_file() {
        for ok in ["a", "./a", "a/b", "a/../b", "a/./b"] {
            assert_eq!(super::names_file(ok), Ok(()), "{ok}");
        }
        for bad in ["", ".", "./", "a/", "a/.", "a/..", "a/b/..", "a/../."] {
            assert!(super::names_file(bad).is_err(), "{bad}");
        }
        assert_eq!(
            super::normalized("./a/./b/../c"),
            std::path::Path::new("a/c")
        );
        assert_eq!(super::normalized("a/../b"), std::path::Path::new("b"));
    }
}
