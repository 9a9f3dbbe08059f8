//! A cgroup directory and everything below it: its processes, killing them all (v2
//! `cgroup.kill`, v1 freeze and SIGKILL each), and removing the directories deepest first; and
//! the run cgroups of dead runs, found beside gaterun's own.

use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::mounts::own_dirs;

/// The pids in `dir`'s `cgroup.procs` and its descendants' (a root process may make some).
pub(super) fn procs_under(dir: &Path, out: &mut Vec<i32>) {
    let mut dirs = Vec::new();
    collect_dirs(dir, &mut dirs);
    for d in dirs {
        if let Ok(text) = std::fs::read_to_string(d.join("cgroup.procs")) {
            out.extend(
                text.split_whitespace()
                    .filter_map(|p| p.parse::<i32>().ok()),
            );
        }
    }
}

/// v1: freeze `dir` (waiting up to `wait` for it to be frozen), SIGKILL every member, thaw.
pub(super) fn kill_v1(dir: &Path, wait: Duration) {
    let state = dir.join("freezer.state");
    let frozen = std::fs::write(&state, "FROZEN").is_ok();
    if frozen {
        let start = Instant::now();
        while start.elapsed() < wait
            && std::fs::read_to_string(&state).is_ok_and(|s| s.trim() != "FROZEN")
        {
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    let mut pids = Vec::new();
    procs_under(dir, &mut pids);
    crate::process::kill::signal_pids(&pids, rustix::process::Signal::KILL);
    if frozen {
        let _ = std::fs::write(&state, "THAWED");
    }
}

/// Kill whatever is in `dir` and below, then remove the directories, deepest first; retried
/// for up to `wait` (a killed process leaves its cgroup a moment after the signal).
pub(super) fn remove_tree(dir: &Path, wait: Duration) -> Result<(), String> {
    let start = Instant::now();
    loop {
        let mut subdirs = Vec::new();
        collect_dirs(dir, &mut subdirs);
        let mut busy = None;
        for d in subdirs.iter().rev() {
            if let Err(e) = std::fs::remove_dir(d)
                && e.kind() != io::ErrorKind::NotFound
            {
                busy = Some(e);
            }
        }
        match busy {
            None => return Ok(()),
            Some(e) if start.elapsed() >= wait => {
                let mut pids = Vec::new();
                procs_under(dir, &mut pids);
                return Err(format!(
                    "the cgroup {} could not be removed ({e}); processes still in it: {pids:?}",
                    dir.display()
                ));
            }
            Some(_) => {
                kill_tree(dir);
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
}

/// Kill everything in a cgroup directory, whichever hierarchy it is in.
pub(super) fn kill_tree(dir: &Path) {
    if dir.join("cgroup.kill").exists() {
        let _ = std::fs::write(dir.join("cgroup.kill"), "1");
    } else if dir.join("freezer.state").exists() {
        kill_v1(dir, Duration::from_millis(200));
    } else {
        let mut pids = Vec::new();
        procs_under(dir, &mut pids);
        crate::process::kill::signal_pids(&pids, rustix::process::Signal::KILL);
    }
}

/// `dir` and every directory below it, parents before children. A loop, not a recursion: a
/// gate's root process may nest cgroups as deep as it likes (the kernel has no limit by
/// default), and one it hid below a bounded walk was never signalled (v1) nor removed (v2).
/// cgroupfs has no links, so the walk ends; it is bounded in count all the same.
fn collect_dirs(dir: &Path, out: &mut Vec<PathBuf>) {
    const MAX_DIRS: usize = 1 << 20;
    if !dir.is_dir() {
        return;
    }
    let first = out.len();
    out.push(dir.to_path_buf());
    let mut next = first;
    while next < out.len() && out.len() - first < MAX_DIRS {
        if let Ok(entries) = std::fs::read_dir(&out[next]) {
            for e in entries.flatten() {
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    out.push(e.path());
                }
            }
        }
        next += 1;
    }
}

/// The run ids of `gaterun-<run id>` cgroups beside gaterun's own, in every hierarchy, with
/// their directories.
pub fn run_cgroups() -> Vec<(String, PathBuf)> {
    let own = own_dirs();
    let mut out = Vec::new();
    for parent in own.v2.iter().chain(own.v1.iter().map(|(_, d)| d)) {
        let Ok(entries) = std::fs::read_dir(parent) else {
            continue;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some(run) = name.strip_prefix("gaterun-")
                && e.file_type().is_ok_and(|t| t.is_dir())
            {
                out.push((run.to_owned(), e.path()));
            }
        }
    }
    out
}

/// Kill everything in a dead run's cgroup and remove it. A message if it will not go.
pub fn remove_dead_run(dir: &Path) -> Result<(), String> {
    kill_tree_deep(dir);
    remove_tree(dir, Duration::from_secs(2))
}

fn kill_tree_deep(dir: &Path) {
    let mut dirs = Vec::new();
    collect_dirs(dir, &mut dirs);
    for d in dirs.iter().rev() {
        kill_tree(d);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_directory_is_walked_however_deep_parents_first() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let mut deep = tmp.path().to_path_buf();
        for i in 0..100 {
            deep.push(format!("d{i}"));
        }
        std::fs::create_dir_all(&deep).expect("mkdir");
        std::fs::create_dir(tmp.path().join("side")).expect("mkdir");
        std::os::unix::fs::symlink(tmp.path(), tmp.path().join("d0/loop")).expect("symlink");
        let mut dirs = Vec::new();
        collect_dirs(tmp.path(), &mut dirs);
        assert_eq!(
            dirs.len(),
            102,
            "the root, 100 nested, one beside; no link followed"
        );
        assert_eq!(dirs[0], tmp.path());
        assert!(dirs.contains(&deep), "the deepest");
        for (i, d) in dirs.iter().enumerate() {
            if let Some(parent) = d.parent().and_then(|p| dirs.iter().position(|x| x == p)) {
                assert!(parent < i, "{} before its parent", d.display());
            }
        }
    }
}
