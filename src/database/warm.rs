//! The warm cluster (issue 18): `initdb` costs most of a throw-away cluster's start, and its
//! result is the same every run for the same binaries and settings. So the first run on a
//! machine keeps a copy of the fresh data directory in the user's cache directory
//! (`$GATERUN_CACHE_DIR`, else `$XDG_CACHE_HOME/gaterun`, else `~/.cache/gaterun`, then
//! `postgres/<key>`), and later runs start their cluster from a copy of it.
//!
//! The key is a hash of the binaries (the path, size and modification time of `postgres` and
//! `initdb`: an upgrade makes a new key) and of the `initdb` arguments. An entry is written
//! under a temporary name and renamed into place, so a run never sees half of one; two runs
//! that both build it keep the first rename, the other's copy goes. An entry is used only if it
//! names its key and has the files a data directory cannot lack; one the cluster does not start
//! from is removed, and the run falls back to `initdb` (and writes the entry again).

use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};

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
        self.dir.join(&self.key)
    }

    /// Copy the entry to `data` (which must not exist), owned by `owner` if given. Whether
    /// it was there, complete, and copied; a failed copy leaves no `data`.
    pub(super) fn restore(&self, data: &Path, owner: Option<(u32, u32)>) -> bool {
        let entry = self.entry();
        let named = std::fs::read_to_string(entry.join("key")).is_ok_and(|k| k == self.key);
        let whole = ["PG_VERSION", "global/pg_control", "base", "pg_wal"]
            .iter()
            .all(|f| entry.join("data").join(f).exists());
        if !named || !whole {
            if entry.exists() {
                self.discard();
            }
            return false;
        }
        match copy_tree(&entry.join("data"), data, owner) {
            Ok(()) => true,
            Err(_) => {
                let _ = std::fs::remove_dir_all(data);
                false
            }
        }
    }

    /// Keep a fresh data directory (before the cluster ever started on it) as the entry,
    /// unless one is there already. Best effort: without a cache the run is only slower.
    pub(super) fn save(&self, data: &Path) {
        if self.entry().join("key").exists() {
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
        let tmp = self.dir.join(format!(".tmp-{}", crate::process::run_id()));
        let _ = std::fs::remove_dir_all(&tmp);
        let written = std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&tmp)
            .and_then(|()| copy_tree(data, &tmp.join("data"), None))
            .and_then(|()| std::fs::write(tmp.join("key"), &self.key));
        // The rename fails when another run's entry is there already: that one stays.
        if written.is_err() || std::fs::rename(&tmp, self.entry()).is_err() {
            let _ = std::fs::remove_dir_all(&tmp);
        }
    }

    /// The entry is bad: out of the way at once (a rename), then removed.
    pub(super) fn discard(&self) {
        let stale = self
            .dir
            .join(format!(".stale-{}", crate::process::run_id()));
        if std::fs::rename(self.entry(), &stale).is_ok() {
            let _ = std::fs::remove_dir_all(&stale);
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
                let _ = std::fs::remove_dir_all(e.path());
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

/// Copy a directory tree: directories and files with their modes, symbolic links as links;
/// owned by `owner` when given (as root, the cluster's user).
fn copy_tree(from: &Path, to: &Path, owner: Option<(u32, u32)>) -> io::Result<()> {
    let meta = std::fs::symlink_metadata(from)?;
    std::fs::DirBuilder::new().mode(0o700).create(to)?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        let (src, dst) = (e.path(), to.join(e.file_name()));
        let kind = e.file_type()?;
        if kind.is_dir() {
            copy_tree(&src, &dst, owner)?;
        } else if kind.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&src)?, &dst)?;
            chown(&dst, owner, false)?;
        } else if kind.is_file() {
            std::fs::copy(&src, &dst)?;
            chown(&dst, owner, true)?;
        }
    }
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(meta.mode() & 0o7777))?;
    chown(to, owner, true)
}

fn chown(path: &Path, owner: Option<(u32, u32)>, follow: bool) -> io::Result<()> {
    let Some((uid, gid)) = owner else {
        return Ok(());
    };
    let (uid, gid) = (
        Some(rustix::fs::Uid::from_raw(uid)),
        Some(rustix::fs::Gid::from_raw(gid)),
    );
    let flags = if follow {
        rustix::fs::AtFlags::empty()
    } else {
        rustix::fs::AtFlags::SYMLINK_NOFOLLOW
    };
    rustix::fs::chownat(rustix::fs::CWD, path, uid, gid, flags).map_err(io::Error::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_is_used_only_whole_and_a_second_save_keeps_the_first() {
        let home = tempfile::tempdir().expect("dir");
        let bin = tempfile::tempdir().expect("bin");
        for p in ["postgres", "initdb"] {
            std::fs::write(bin.path().join(p), p).expect("w");
        }
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
        // A second save leaves the first entry alone.
        std::fs::write(data.join("PG_VERSION"), "16\n").expect("w");
        cache.save(&data);
        let kept = cache.entry().join("data/PG_VERSION");
        assert_eq!(std::fs::read_to_string(kept).expect("r"), "15\n");
        // A part missing: not used, and removed.
        std::fs::remove_file(cache.entry().join("data/global/pg_control")).expect("rm");
        let out2 = home.path().join("out2");
        assert!(!cache.restore(&out2, None));
        assert!(!out2.exists() && !cache.entry().exists());
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
