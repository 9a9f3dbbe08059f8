//! Reading evidence, which is untrusted: only regular files (no FIFO waited on, no device
//! read forever), never through a symbolic link, inside the tree under review, with a size cap.

use std::io;
use std::path::{Path, PathBuf};

/// What a results.json may weigh (its gates' messages are one line each).
pub const RESULTS_CAP: u64 = 64 << 20;

/// What a gate log of evidence may weigh when read (gaterun caps logs at 8 MiB).
pub const LOG_READ_CAP: u64 = (crate::about::LOG_CAP as u64) + (1 << 20);

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
