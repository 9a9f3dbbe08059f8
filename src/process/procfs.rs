//! Reading `/proc`: the pid counter, the pids to look at, a process's state, parent, group
//! and whether it is dying. Small fixed buffers: a gate's teardown reads these in a loop.

use std::collections::HashMap;

pub(super) struct ProcInfo {
    pub(super) ppid: i32,
    pub(super) zombie: bool,
}

/// Read a small `/proc` file in one `read`: no size probe, no allocation beyond the buffer.
fn read_small(path: &str, buf: &mut [u8]) -> Option<usize> {
    use std::io::Read;
    let mut f = std::fs::File::open(path).ok()?;
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(_) => return None,
        }
    }
    Some(n)
}

/// A process's initial environment (`/proc/<pid>/environ`), read into a buffer big enough for
/// most in one `read`: `fs::read` sees a size of 0 and grows from 32 bytes, a dozen reads a
/// process, and the start-up sweep reads every process on the machine.
pub(super) fn environ(pid: i32) -> Option<Vec<u8>> {
    use std::io::Read;
    let mut f = std::fs::File::open(format!("/proc/{pid}/environ")).ok()?;
    let mut env = Vec::with_capacity(16 * 1024);
    f.read_to_end(&mut env).ok()?;
    Some(env)
}

/// The last pid the kernel handed out in this pid namespace.
pub fn last_pid() -> Option<i32> {
    let mut buf = [0u8; 16];
    let n = read_small("/proc/sys/kernel/ns_last_pid", &mut buf)?;
    std::str::from_utf8(&buf[..n]).ok()?.trim().parse().ok()
}

/// The pids to look at: those handed out after `floor` when the counter has not wrapped
/// since (a gate's processes all came after its floor, and orphans of the gate are
/// reparented to gaterun, so the walk down from gaterun still reaches them); every pid in
/// `/proc` otherwise, and on every 64th call, so old orphaned zombies are reaped too.
pub(super) fn candidates(floor: Option<i32>) -> Vec<i32> {
    static CALLS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let nth = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    if let (Some(floor), Some(last)) = (floor, last_pid())
        && last >= floor
        && last - floor <= 4096
        && nth % 64 != 63
    {
        return (floor + 1..=last).collect();
    }
    all_pids()
}

/// Every pid in `/proc`.
pub fn all_pids() -> Vec<i32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()))
        .collect()
}

/// A process's state letter, parent and process group, from `/proc/<pid>/stat`.
pub(super) fn stat(pid: i32, buf: &mut [u8]) -> Option<(char, i32, i32)> {
    let n = read_small(&format!("/proc/{pid}/stat"), buf)?;
    let stat = String::from_utf8_lossy(&buf[..n]);
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    let pgrp = fields.next()?.parse().ok()?;
    Some((state, ppid, pgrp))
}

/// A process's process group.
pub fn group_of(pid: i32) -> Option<i32> {
    stat(pid, &mut [0u8; 1024]).map(|(_, _, pgrp)| pgrp)
}

/// A process's parent.
pub fn parent_of(pid: i32) -> Option<i32> {
    stat(pid, &mut [0u8; 1024]).map(|(_, ppid, _)| ppid)
}

/// Whether `pid` is gone, a zombie, exiting, or bound to die: a fatal signal (a SIGKILL, or
/// any signal whose default action kills, which the kernel turns into a SIGKILL of the whole
/// process) is pending. A process killed a moment ago is not reaped yet; this still says so.
pub fn is_dying(pid: i32) -> bool {
    const PF_EXITING: u64 = 0x4;
    const SIGKILL_BIT: u64 = 1 << (9 - 1);
    let mut buf = [0u8; 1024];
    let Some(n) = read_small(&format!("/proc/{pid}/stat"), &mut buf) else {
        return true;
    };
    let stat = String::from_utf8_lossy(&buf[..n]);
    let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
        return true;
    };
    // After the name: state, ppid, pgrp, session, tty_nr, tpgid, flags.
    let fields: Vec<&str> = rest.split_whitespace().take(7).collect();
    if matches!(fields.first(), Some(&("Z" | "X" | "x"))) {
        return true;
    }
    if fields
        .get(6)
        .and_then(|f| f.parse::<u64>().ok())
        .is_some_and(|flags| flags & PF_EXITING != 0)
    {
        return true;
    }
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status.lines().any(|line| {
        line.strip_prefix("SigPnd:")
            .or_else(|| line.strip_prefix("ShdPnd:"))
            .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
            .is_some_and(|mask| mask & SIGKILL_BIT != 0)
    })
}

/// The processes among `pids`, with their parent and whether each is a zombie.
pub(super) fn snapshot(pids: Vec<i32>) -> HashMap<i32, ProcInfo> {
    let mut out = HashMap::new();
    let mut buf = [0u8; 1024];
    for pid in pids {
        if let Some((state, ppid, _)) = stat(pid, &mut buf) {
            let zombie = state == 'Z' || state == 'X';
            out.insert(pid, ProcInfo { ppid, zombie });
        }
    }
    out
}

pub(super) fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    // The environment block starts with a variable or follows a NUL.
    haystack
        .windows(needle.len())
        .enumerate()
        .any(|(i, w)| w == needle && (i == 0 || haystack[i - 1] == 0))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_child_gets_a_pid_after_the_floor_and_the_range_scan_finds_it() {
        let Some(floor) = super::last_pid() else {
            errln!("skipping: no /proc/sys/kernel/ns_last_pid");
            return;
        };
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .expect("spawn sleep");
        let pid = child.id() as i32;
        let last = super::last_pid().expect("ns_last_pid");
        assert!(
            pid > floor && pid <= last,
            "floor {floor}, child {pid}, last {last}"
        );
        assert!(super::candidates(Some(floor)).contains(&pid));
        assert!(super::snapshot(super::candidates(Some(floor))).contains_key(&pid));
        let _ = child.kill();
        let _ = child.wait();
    }
}
