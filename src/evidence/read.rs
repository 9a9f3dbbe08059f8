//! Reading evidence, which is untrusted: only regular files (no FIFO waited on, no device
//! read forever), never through a symbolic link, inside the tree under review, with a size cap.

use std::path::Path;

pub use crate::files::{ReadError, open_regular, read_regular};

/// What a results.json may weigh (its gates' messages are one line each).
pub const RESULTS_CAP: u64 = 64 << 20;

/// What a gate log of evidence may weigh when read (gaterun caps logs at 8 MiB).
pub const LOG_READ_CAP: u64 = (crate::about::LOG_CAP as u64) + (1 << 20);

/// `path` read as `read_regular` does, and only if it lies inside `root` with no symbolic link
/// on the way (a downloaded shard, evidence under review: untrusted trees).
/// `within` names the tree in messages ("a shard", "evidence").
pub fn read_confined(
    root: &Path,
    path: &Path,
    cap: u64,
    within: &str,
) -> Result<Vec<u8>, ReadError> {
    confined(root, path, within)?;
    read_regular(path, cap)
}

/// At most the last `tail` bytes of `path`, read as [`read_confined`] allows it (a log's tail
/// for an excerpt, without reading the 8 MiB before it).
pub fn read_confined_tail(
    root: &Path,
    path: &Path,
    cap: u64,
    tail: u64,
    within: &str,
) -> Result<Vec<u8>, ReadError> {
    use std::io::{Read, Seek, SeekFrom};
    confined(root, path, within)?;
    let io = |source| ReadError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut f = open_regular(path, cap)?;
    let len = f.metadata().map_err(io)?.len();
    f.seek(SeekFrom::Start(len.saturating_sub(tail)))
        .map_err(io)?;
    let mut data = Vec::new();
    f.take(tail).read_to_end(&mut data).map_err(io)?;
    Ok(data)
}

/// `path` lies inside `root` with no symbolic link on the way.
pub(crate) fn confined(root: &Path, path: &Path, within: &str) -> Result<(), ReadError> {
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
    Ok(())
}
