//! The warm cluster (issue 18): `initdb` costs most of a throw-away cluster's start, and its
//! result is the same every run for the same binaries and settings. So the first run on a
//! machine keeps the fresh data directory in the user's cache directory (`$GATERUN_CACHE_DIR`,
//! else `$XDG_CACHE_HOME/gaterun`, else `~/.cache/gaterun`, then `postgres/<key>.pgdata`, one
//! file: `pack.rs`), and later runs start their cluster from a copy of it.
//!
//! The key is a hash of the binaries (the path, size and modification time of `postgres` and
//! `initdb`: an upgrade makes a new key) and of the `initdb` arguments. An entry is written
//! under a temporary name and renamed into place, so a run never sees half of one (two runs
//! that both write it each rename a whole one). An entry is used only whole (its header names
//! its key, its trailer counts its entries); one that is not, or that the cluster does not
//! start from, is removed, and the run falls back to `initdb` (and writes the entry again).

use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};

use super::pack;

/// The environment variable that overrides the cache directory.
pub const CACHE_VAR: &str = "GATERUN_CACHE_DIR";

/// Leftovers of a run that died while writing or removing an entry go after this long.
const LEFTOVER_AGE: Duration = Duration::from_secs(600);

pub(super) struct WarmCache {
    /// `<cache>/postgres`.
    dir: PathBuf,
    key: String,
}

impl WarmCache {
    /// The cache entry for these binaries and `initdb` arguments; `None` if there is no cache
    /// directory (no `HOME`).
    pub(super) fn new(bin: &Path, initdb_args: &[&str]) -> Option<WarmCache> {
        let dir = cache_dir()?.join("postgres");
        let mut h = Sha256::new();
        h.update(b"gaterun warm cluster 2\0");
        for program in ["postgres", "initdb"] {
            let path = bin.join(program);
            let meta = std::fs::metadata(&path).ok()?;
            h.update(path.as_os_str().as_encoded_bytes());
            h.update(meta.len().to_le_bytes());
            h.update(meta.mtime().to_le_bytes());
            h.update(meta.mtime_nsec().to_le_bytes());
        }
        for arg in initdb_args {
            h.update(arg.as_bytes());
            h.update(b"\0");
        }
        let key: String = h.finalize()[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Some(WarmCache {
            dir,
            key: format!("initdb-{key}"),
        })
    }

    fn entry(&self) -> PathBuf {
        self.dir.join(format!("{}.pgdata", self.key))
    }

    /// Recreate the entry's data directory as `data` (which must not exist), owned by `owner`
    /// if given. Whether it was there, whole, and recreated; a failure leaves no `data`, and
    /// an entry that is not whole is removed.
    pub(super) fn restore(&self, data: &Path, owner: Option<(u32, u32)>) -> bool {
        let Ok(file) = std::fs::File::open(self.entry()) else {
            return false;
        };
        match pack::unpack(file, &self.key, data, owner) {
            Ok(()) => true,
            Err(e) => {
                let _ = std::fs::remove_dir_all(data);
                if e.kind() == io::ErrorKind::InvalidData
                    || e.kind() == io::ErrorKind::UnexpectedEof
                {
                    self.discard();
                }
                false
            }
        }
    }

    /// Keep a fresh data directory (before the cluster ever started on it) as the entry,
    /// unless one is there already. Best effort: without a cache the run is only slower.
    pub(super) fn save(&self, data: &Path) {
        if self.entry().exists() {
            return;
        }
        let made = std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir);
        if made.is_err() {
            return;
        }
        self.sweep();
        let tmp = self
            .dir
            .join(format!(".tmp-{}.pgdata", crate::process::run_id()));
        let _ = std::fs::remove_file(&tmp);
        let written = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .and_then(|f| pack::pack(data, &self.key, f));
        // Renamed whole into place: a run that reads it sees all of one entry or none.
        if written.is_err() || std::fs::rename(&tmp, self.entry()).is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
    }

    /// The entry is bad: out of the way at once (a rename), then removed.
    pub(super) fn discard(&self) {
        let stale = self
            .dir
            .join(format!(".stale-{}.pgdata", crate::process::run_id()));
        if std::fs::rename(self.entry(), &stale).is_ok() {
            let _ = std::fs::remove_file(&stale);
        }
    }

    /// Remove what runs that died left: temporary and stale entries, after a while.
    fn sweep(&self) {
        let Ok(list) = std::fs::read_dir(&self.dir) else {
            return;
        };
        for e in list.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let old = e
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| SystemTime::now().duration_since(t).ok())
                .is_some_and(|age| age > LEFTOVER_AGE);
            if (name.starts_with(".tmp-") || name.starts_with(".stale-")) && old {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

/// `$GATERUN_CACHE_DIR`, else `$XDG_CACHE_HOME/gaterun`, else `~/.cache/gaterun` (absolute
/// paths only, as the XDG specification says).
pub fn cache_dir() -> Option<PathBuf> {
    let absolute = |var: &str| {
        std::env::var_os(var)
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
    };
    absolute(CACHE_VAR)
        .or_else(|| absolute("XDG_CACHE_HOME").map(|p| p.join("gaterun")))
        .or_else(|| absolute("HOME").map(|p| p.join(".cache").join("gaterun")))
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn an_entry_is_used_only_whole_and_leaves_nothing_half_made() {
        let home = tempfile::tempdir().expect("dir");
        let data = home.path().join("made");
        for d in ["base/1", "global", "pg_wal"] {
            std::fs::create_dir_all(data.join(d)).expect("mkdir");
        }
        std::fs::write(data.join("PG_VERSION"), "15\n").expect("w");
        std::fs::write(data.join("global/pg_control"), "c").expect("w");
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o750)).expect("chmod");
        let cache = WarmCache {
            dir: home.path().join("cache/postgres"),
            key: "initdb-test".to_owned(),
        };
        let out = home.path().join("out");
        assert!(!cache.restore(&out, None), "nothing cached yet");
        cache.save(&data);
        assert!(cache.restore(&out, None));
        assert_eq!(
            std::fs::read_to_string(out.join("PG_VERSION")).expect("r"),
            "15\n"
        );
        let mode = std::fs::metadata(&out).expect("m").mode() & 0o777;
        assert_eq!(mode, 0o750, "the mode is kept");
        // Cut short (a full disk, a crash): not used, removed, and nothing half made.
        let entry = cache.entry();
        let whole = std::fs::read(&entry).expect("r");
        std::fs::write(&entry, &whole[..whole.len() - 3]).expect("w");
        let out2 = home.path().join("out2");
        assert!(!cache.restore(&out2, None));
        assert!(!out2.exists() && !entry.exists());
        let left: Vec<_> = std::fs::read_dir(&cache.dir)
            .expect("dir")
            .flatten()
            .collect();
        assert!(left.is_empty(), "no half entry: {left:?}");
    }

    #[test]
    fn the_key_changes_with_the_binaries_and_the_arguments() {
        let bin = tempfile::tempdir().expect("bin");
        for p in ["postgres", "initdb"] {
            std::fs::write(bin.path().join(p), p).expect("w");
        }
        let key = |args: &[&str]| WarmCache::new(bin.path(), args).map(|c| c.key);
        let a = key(&["-E", "UTF8"]);
        assert!(a.is_some());
        assert_eq!(a, key(&["-E", "UTF8"]));
        assert_ne!(a, key(&["-E", "LATIN1"]));
        std::fs::write(bin.path().join("postgres"), "postgres 16").expect("w");
        assert_ne!(a, key(&["-E", "UTF8"]));
    }
}
