//! A directory tree as one file, for the warm cluster's cache (`warm.rs`). A fresh data
//! directory is some 1,300 small files; creating them on a disk file system costs a second on
//! ext4 (what inode allocation costs), one file of the same 24 MiB a few milliseconds. Reading
//! it back into the run's directory (in memory, `/dev/shm`) is as fast as a copy.
//!
//! The format: a header (magic, the entry's key, the root's mode), then entries in pre-order — a kind byte
//! (`d` directory, `f` file, `l` symbolic link), the mode, the path relative to the root, and
//! a file's bytes or a link's target — and a trailer (`E`, the number of entries). A file
//! without its trailer, of another key, or with a path out of the root is refused whole.

use std::io::{self, BufReader, BufWriter, Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Component, Path};

const MAGIC: &[u8; 8] = b"gaterun1";

/// Write the tree below `root` to `out`, with `key` in its header.
pub fn pack(root: &Path, key: &str, out: std::fs::File) -> io::Result<()> {
    let mut w = BufWriter::with_capacity(256 << 10, out);
    w.write_all(MAGIC)?;
    bytes(&mut w, key.as_bytes())?;
    let mode = std::fs::metadata(root)?.mode() & 0o7777;
    w.write_all(&mode.to_le_bytes())?;
    let mut count = 0u64;
    walk(root, "", &mut w, &mut count)?;
    w.write_all(b"E")?;
    w.write_all(&count.to_le_bytes())?;
    // No fsync: an entry cut by a crash fails its trailer check, one with garbage the server's
    // start, and either is made again.
    w.flush()
}

fn walk(dir: &Path, rel: &str, w: &mut impl Write, count: &mut u64) -> io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name();
        let name = name
            .to_str()
            .ok_or_else(|| io::Error::other("a file name that is not UTF-8"))?;
        let path = if rel.is_empty() {
            name.to_owned()
        } else {
            format!("{rel}/{name}")
        };
        let meta = std::fs::symlink_metadata(e.path())?;
        let kind = meta.file_type();
        let tag = if kind.is_dir() {
            b'd'
        } else if kind.is_symlink() {
            b'l'
        } else if kind.is_file() {
            b'f'
        } else {
            continue;
        };
        w.write_all(&[tag])?;
        w.write_all(&(meta.mode() & 0o7777).to_le_bytes())?;
        bytes(w, path.as_bytes())?;
        *count += 1;
        match tag {
            b'd' => walk(&e.path(), &path, w, count)?,
            b'l' => bytes(
                w,
                std::fs::read_link(e.path())?.as_os_str().as_encoded_bytes(),
            )?,
            _ => {
                w.write_all(&meta.len().to_le_bytes())?;
                let copied = io::copy(&mut std::fs::File::open(e.path())?.take(meta.len()), w)?;
                if copied != meta.len() {
                    return Err(io::Error::other("a file changed while it was packed"));
                }
            }
        }
    }
    Ok(())
}

fn bytes(w: &mut impl Write, b: &[u8]) -> io::Result<()> {
    w.write_all(&(b.len() as u32).to_le_bytes())?;
    w.write_all(b)
}

/// Recreate the tree of `input` as `root` (which must not exist), owned by `owner` when given
/// (as root, the cluster's user). On an error `root` may be left half made: the caller removes
/// it.
pub fn unpack(
    input: std::fs::File,
    key: &str,
    root: &Path,
    owner: Option<(u32, u32)>,
) -> io::Result<()> {
    let bad = |why: &str| io::Error::new(io::ErrorKind::InvalidData, why.to_owned());
    let mut r = BufReader::with_capacity(256 << 10, input);
    let mut magic = [0u8; 8];
    r.read_exact(&mut magic)?;
    if &magic != MAGIC || read_bytes(&mut r, 256)? != key.as_bytes() {
        return Err(bad("not an entry of this key"));
    }
    let mut mode = [0u8; 4];
    r.read_exact(&mut mode)?;
    std::fs::create_dir(root)?;
    let mut dirs = vec![(root.to_path_buf(), u32::from_le_bytes(mode))];
    let mut count = 0u64;
    loop {
        let mut tag = [0u8; 1];
        r.read_exact(&mut tag)?;
        if tag[0] == b'E' {
            let mut n = [0u8; 8];
            r.read_exact(&mut n)?;
            if u64::from_le_bytes(n) != count {
                return Err(bad("the entry count does not match"));
            }
            break;
        }
        let mut mode = [0u8; 4];
        r.read_exact(&mut mode)?;
        let mode = u32::from_le_bytes(mode);
        let rel = String::from_utf8(read_bytes(&mut r, 4096)?).map_err(|_| bad("a path"))?;
        let below = Path::new(&rel)
            .components()
            .all(|c| matches!(c, Component::Normal(_)));
        if rel.is_empty() || !below {
            return Err(bad("a path out of the root"));
        }
        let path = root.join(&rel);
        match tag[0] {
            b'd' => {
                std::fs::create_dir(&path)?;
                dirs.push((path.clone(), mode));
            }
            b'l' => {
                let target = read_bytes(&mut r, 4096)?;
                let target = <std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(&target);
                std::os::unix::fs::symlink(target, &path)?;
            }
            b'f' => {
                let mut len = [0u8; 8];
                r.read_exact(&mut len)?;
                let len = u64::from_le_bytes(len);
                let mut file = std::fs::File::create_new(&path)?;
                if io::copy(&mut (&mut r).take(len), &mut file)? != len {
                    return Err(bad("a file cut short"));
                }
                file.set_permissions(std::fs::Permissions::from_mode(mode))?;
            }
            _ => return Err(bad("an unknown entry")),
        }
        chown(&path, owner, tag[0] != b'l')?;
        count += 1;
    }
    // Directories' modes last: one without the owner's write bit would refuse its content.
    for (dir, mode) in dirs.iter().rev() {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(*mode))?;
    }
    chown(root, owner, true)
}

fn read_bytes(r: &mut impl Read, cap: u32) -> io::Result<Vec<u8>> {
    let mut len = [0u8; 4];
    r.read_exact(&mut len)?;
    let len = u32::from_le_bytes(len);
    if len > cap {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "a name too long",
        ));
    }
    let mut buf = vec![0u8; len as usize];
    r.read_exact(&mut buf)?;
    Ok(buf)
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

    fn tree(root: &Path) {
        for d in ["base/1", "global", "pg_wal/archive_status"] {
            std::fs::create_dir_all(root.join(d)).expect("mkdir");
        }
        std::fs::write(root.join("PG_VERSION"), "15\n").expect("w");
        std::fs::write(root.join("global/pg_control"), vec![7u8; 8192]).expect("w");
        std::fs::write(root.join("base/1/1259"), vec![1u8; 300_000]).expect("w");
        std::os::unix::fs::symlink("../global", root.join("base/link")).expect("ln");
        std::fs::set_permissions(
            root.join("PG_VERSION"),
            std::fs::Permissions::from_mode(0o600),
        )
        .expect("chmod");
        std::fs::set_permissions(root.join("global"), std::fs::Permissions::from_mode(0o750))
            .expect("chmod");
    }

    #[test]
    fn a_tree_comes_back_whole_with_its_modes() {
        let dir = tempfile::tempdir().expect("dir");
        let (src, file, out) = (
            dir.path().join("src"),
            dir.path().join("p"),
            dir.path().join("out"),
        );
        std::fs::create_dir(&src).expect("mkdir");
        tree(&src);
        pack(&src, "k1", std::fs::File::create(&file).expect("f")).expect("pack");
        unpack(std::fs::File::open(&file).expect("f"), "k1", &out, None).expect("unpack");
        assert_eq!(
            std::fs::read(out.join("base/1/1259")).expect("r"),
            vec![1u8; 300_000]
        );
        assert_eq!(
            std::fs::read(out.join("global/pg_control")).expect("r"),
            vec![7u8; 8192]
        );
        assert_eq!(
            std::fs::read_link(out.join("base/link")).expect("l"),
            Path::new("../global")
        );
        let mode = |p: &str| std::fs::symlink_metadata(out.join(p)).expect("m").mode() & 0o777;
        assert_eq!(mode("PG_VERSION"), 0o600);
        assert_eq!(mode("global"), 0o750);
        assert!(out.join("pg_wal/archive_status").is_dir());
        // The near misses: another key; the file cut anywhere.
        let other = dir.path().join("other");
        assert!(unpack(std::fs::File::open(&file).expect("f"), "k2", &other, None).is_err());
        let whole = std::fs::read(&file).expect("r");
        for cut in [whole.len() - 1, whole.len() - 9, whole.len() / 2, 20] {
            let short = dir.path().join(format!("short-{cut}"));
            std::fs::write(&short, &whole[..cut]).expect("w");
            let to = dir.path().join(format!("to-{cut}"));
            let r = unpack(std::fs::File::open(&short).expect("f"), "k1", &to, None);
            assert!(r.is_err(), "cut at {cut} of {}", whole.len());
        }
    }

    #[test]
    fn a_path_out_of_the_root_is_refused() {
        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join("p");
        let mut bad = MAGIC.to_vec();
        for b in [&b"k"[..], b"../evil"] {
            if b == b"../evil" {
                bad.extend(0o700u32.to_le_bytes());
                bad.push(b'f');
                bad.extend(0o600u32.to_le_bytes());
            }
            bad.extend((b.len() as u32).to_le_bytes());
            bad.extend(b);
        }
        bad.extend(1u64.to_le_bytes());
        bad.push(b'x');
        std::fs::write(&file, bad).expect("w");
        let out = dir.path().join("out");
        let r = unpack(std::fs::File::open(&file).expect("f"), "k", &out, None);
        assert!(r.is_err());
        assert!(!dir.path().join("evil").exists());
    }
}
