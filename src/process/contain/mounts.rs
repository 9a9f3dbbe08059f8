//! Where gaterun's own cgroup is, in each mounted hierarchy: read from
//! `/proc/self/mountinfo` and `/proc/self/cgroup`. Run cgroups are made beside it, and a dead
//! run's are found there.

use std::path::{Path, PathBuf};

/// A hierarchy mounted on this machine: its mount point, the path of its root within the
/// hierarchy, and what it is (`cgroup2`, or the v1 controllers it carries).
#[derive(Debug, Clone, PartialEq)]
struct Mount {
    point: PathBuf,
    root: String,
    v2: bool,
    options: Vec<String>,
}

/// The cgroup mounts in a `/proc/self/mountinfo` text.
fn parse_mounts(mountinfo: &str) -> Vec<Mount> {
    let mut out = Vec::new();
    for line in mountinfo.lines() {
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let fields: Vec<&str> = left.split(' ').collect();
        let rfields: Vec<&str> = right.split(' ').collect();
        let (Some(root), Some(point), Some(fstype)) =
            (fields.get(3), fields.get(4), rfields.first())
        else {
            continue;
        };
        let v2 = *fstype == "cgroup2";
        if !v2 && *fstype != "cgroup" {
            continue;
        }
        out.push(Mount {
            point: PathBuf::from(unescape(point)),
            root: unescape(root),
            v2,
            options: rfields
                .get(2)
                .map(|o| o.split(',').map(str::to_owned).collect())
                .unwrap_or_default(),
        });
    }
    out
}

/// mountinfo writes a space, tab, newline and backslash as `\ooo`.
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            let v = (b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0');
            out.push(v);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// gaterun's own cgroup per hierarchy, from `/proc/self/cgroup`: `("", path)` for v2, and
/// `(controllers, path)` for each v1 line.
fn parse_self(cgroup: &str) -> Vec<(String, String)> {
    cgroup
        .lines()
        .filter_map(|l| {
            let mut parts = l.splitn(3, ':');
            let _id = parts.next()?;
            let controllers = parts.next()?.to_owned();
            let path = parts.next()?.to_owned();
            Some((controllers, path))
        })
        .collect()
}

/// The directory of gaterun's own cgroup in `mount`, when it is visible there.
fn own_dir(mount: &Mount, path: &str) -> Option<PathBuf> {
    let root = mount.root.trim_end_matches('/');
    let rel = path.strip_prefix(root)?;
    if !rel.is_empty() && !rel.starts_with('/') {
        return None;
    }
    Some(mount.point.join(rel.trim_start_matches('/')))
}

/// gaterun's own cgroup directories: v2, then each v1 controller (or `name=`) by name.
#[derive(Debug, Default)]
pub(super) struct OwnDirs {
    pub(super) v2: Option<PathBuf>,
    pub(super) v1: Vec<(String, PathBuf)>,
}

pub(super) fn own_dirs() -> OwnDirs {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let cgroup = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    own_dirs_from(&parse_mounts(&mountinfo), &parse_self(&cgroup))
}

fn own_dirs_from(mounts: &[Mount], own: &[(String, String)]) -> OwnDirs {
    let mut dirs = OwnDirs::default();
    for (controllers, path) in own {
        if controllers.is_empty() {
            dirs.v2 = mounts
                .iter()
                .filter(|m| m.v2)
                .find_map(|m| own_dir(m, path));
            continue;
        }
        for c in controllers.split(',') {
            if let Some(dir) = mounts
                .iter()
                .filter(|m| !m.v2 && m.options.iter().any(|o| o == c))
                .find_map(|m| own_dir(m, path))
            {
                dirs.v1.push((c.to_owned(), dir));
            }
        }
    }
    dirs
}

impl OwnDirs {
    pub(super) fn v1(&self, controller: &str) -> Option<&Path> {
        self.v1
            .iter()
            .find(|(c, _)| c == controller)
            .map(|(_, d)| d.as_path())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOUNTINFO: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
50 31 0:40 /ns /mnt/with\\040space rw - cgroup2 cgroup2 rw
";

    #[test]
    fn own_cgroups_are_found_in_a_hybrid_layout() {
        let mounts = parse_mounts(MOUNTINFO);
        assert_eq!(mounts.len(), 5, "tmpfs is no cgroup: {mounts:?}");
        assert_eq!(mounts[4].point, PathBuf::from("/mnt/with space"));
        let own = parse_self("8:pids:/\n6:freezer:/a\n4:memory:/process_api/x\n0::/\n");
        let dirs = own_dirs_from(&mounts[..4], &own);
        assert_eq!(dirs.v2, Some(PathBuf::from("/sys/fs/cgroup/unified")));
        assert_eq!(
            dirs.v1("freezer"),
            Some(Path::new("/sys/fs/cgroup/freezer/a"))
        );
        assert_eq!(
            dirs.v1("memory"),
            Some(Path::new("/sys/fs/cgroup/memory/process_api/x"))
        );
        assert_eq!(dirs.v1("cpuacct"), None, "not mounted");
    }

    #[test]
    fn a_cgroup_outside_the_mounted_root_is_not_visible() {
        let mounts = parse_mounts(MOUNTINFO);
        let table = [
            ("/ns/gate", Some("/mnt/with space/gate")),
            ("/ns", Some("/mnt/with space")),
            ("/nsx", None),
            ("/other", None),
        ];
        for (path, want) in table {
            assert_eq!(own_dir(&mounts[4], path), want.map(PathBuf::from), "{path}");
        }
    }
}
