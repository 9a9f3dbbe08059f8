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
    // One name per write, not per process: two gates saving the same file at once (`save:`)
    // each write their own aside, and the last rename wins whole.
    static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let aside = path.with_file_name(format!(".{file_name}.new-{}-{n}", std::process::id()));
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

#[cfg(test)]
mod tests {
    use super::write_file;

    /// Two writers of the same file at once (two gates `save`-ing it) each succeed, and the
    /// file is one of the two whole: never "file exists", never half of each.
    #[test]
    fn concurrent_writes_of_one_file_all_succeed_whole() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("out/hello.txt");
        let a = vec![b'a'; 64 * 1024];
        let b = vec![b'b'; 64 * 1024];
        std::thread::scope(|s| {
            for body in [&a, &b] {
                let path = &path;
                s.spawn(move || {
                    for _ in 0..200 {
                        write_file(path, body).expect("each write succeeds");
                    }
                });
            }
        });
        let got = std::fs::read(&path).expect("read");
        assert!(got == a || got == b, "a mixed file");
        let left: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(left.len(), 1, "nothing left aside: {left:?}");
    }
}
