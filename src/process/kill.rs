//! Signals: the one place gaterun sends one to a process or a process group (a PID namespace's
//! pid 1 is signalled through its pidfd in `pidns`, a cgroup killed through its files in
//! `contain`). Errors are ignored: the target may be gone already, which is what was wanted.

use rustix::process::{Pid, Signal};

/// Send `signal` to each of `pids`.
pub fn signal_pids(pids: &[i32], signal: Signal) {
    for pid in pids {
        if let Some(p) = Pid::from_raw(*pid) {
            let _ = rustix::process::kill_process(p, signal);
        }
    }
}

/// Send `signal` to each of the process groups `groups`.
pub fn signal_groups(groups: &[u32], signal: Signal) {
    for g in groups {
        if let Some(pid) = Pid::from_raw(*g as i32) {
            let _ = rustix::process::kill_process_group(pid, signal);
        }
    }
}

/// SIGKILL the process group `pgid`.
pub fn kill_group(pgid: u32) {
    signal_groups(&[pgid], Signal::KILL);
}

/// Whether any process is left in the process group `pgid`.
pub fn group_alive(pgid: u32) -> bool {
    Pid::from_raw(pgid as i32).is_some_and(|p| rustix::process::test_kill_process_group(p).is_ok())
}

/// SIGKILL `pid` if it is a process whose name (`/proc/<pid>/comm`) starts with `name`: a pid
/// read from a file may have been reused by anyone since.
pub fn kill_if_named(pid: i32, name: &str) {
    signal_if_named(pid, name, Signal::KILL);
}

/// Send `signal` to `pid` if it is a process whose name starts with `name`; whether it was.
pub fn signal_if_named(pid: i32, name: &str, signal: Signal) -> bool {
    let named = std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .is_ok_and(|c| c.trim().starts_with(name));
    if named && let Some(pid) = Pid::from_raw(pid) {
        let _ = rustix::process::kill_process(pid, signal);
    }
    named
}
