//! gaterun's side of the gates' namespaces: making one (through `gaterun __init --gate`),
//! holding its pid 1 by a pidfd checked against the namespace it reported, signalling it, and
//! forgetting it when the gate is over. One registry for the run: every gate's teardown and
//! every command of a gate look their namespace up by token.

use std::collections::BTreeMap;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::subcommand::INIT_ARG;

/// One gate's namespace: a pidfd of its pid 1, that pid (in gaterun's namespace), and whether a
/// user namespace owns it (then a joiner enters that too).
pub(super) struct GateNs {
    pub(super) init: OwnedFd,
    pid: i32,
    pub(super) user: bool,
}

impl GateNs {
    /// pid 1 has exited (and so the namespace is empty). Reaps it when it is gaterun's child.
    pub(super) fn exited(&self) -> bool {
        let mut pfd = libc::pollfd {
            fd: self.init.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd, no timeout.
        let n = unsafe { libc::poll(&mut pfd, 1, 0) };
        let gone = n > 0 && pfd.revents & (libc::POLLIN | libc::POLLHUP) != 0;
        if gone {
            // SAFETY: a zeroed siginfo is a valid out-parameter; P_PIDFD with our own pidfd.
            // ECHILD (not our child, or already reaped by the orphan sweep) is fine.
            unsafe {
                let mut info: libc::siginfo_t = std::mem::zeroed();
                libc::waitid(
                    libc::P_PIDFD,
                    self.init.as_raw_fd() as libc::id_t,
                    &mut info,
                    libc::WEXITED | libc::WNOHANG,
                );
            }
        }
        gone
    }

    pub(super) fn signal(&self, signal: rustix::process::Signal) {
        let _ = rustix::process::pidfd_send_signal(&self.init, signal);
    }
}

/// Each gate's namespace, by token. Global because the commands of a gate (run steps,
/// services, readiness probes) and its teardown reach the namespace by the token alone.
static GATES: Mutex<BTreeMap<String, GateNs>> = Mutex::new(BTreeMap::new());

pub(super) fn gates() -> MutexGuard<'static, BTreeMap<String, GateNs>> {
    GATES.lock().unwrap_or_else(|e| e.into_inner())
}

/// Whether this machine lets gaterun make a PID namespace (and a user namespace if needed):
/// makes one and kills it. `Ok` says which kind, `Err` why not.
pub fn available() -> Result<&'static str, String> {
    let ns = create(None)?;
    ns.signal(rustix::process::Signal::KILL);
    let deadline = Instant::now() + Duration::from_secs(2);
    while !ns.exited() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
    Ok(if ns.user {
        "a PID namespace per gate (in a user namespace)"
    } else {
        "a PID namespace per gate"
    })
}

/// Make a gate's namespaces: run `gaterun __init --gate`, which unshares them, forks their
/// pid 1 and prints its pid, the namespace's inode and whether a user namespace owns it. pid 1
/// carries the gate's token in its environment, so a later run's sweep of dead runs' strays
/// finds it (and killing it kills the namespace).
pub(super) fn create(token: Option<&str>) -> Result<GateNs, String> {
    use std::os::unix::process::CommandExt as _;
    let mut cmd = std::process::Command::new("/proc/self/exe");
    cmd.arg0("gaterun")
        .arg(INIT_ARG)
        .arg("--gate")
        .env_clear()
        .current_dir("/")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    if let Some(token) = token {
        cmd.env(crate::process::token::TOKEN_VAR, token);
    }
    let child = crate::process::owned::spawn_std(&mut cmd)
        .map_err(|e| format!("failed to start gaterun's namespace init: {e}"))?;
    let pid = child.id();
    let out = child.wait_with_output();
    crate::process::owned::forget(pid);
    let out = out.map_err(|e| format!("failed to wait for gaterun's namespace init: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut fields = text.split_whitespace();
    let (Some(pid), Some(ino), Some(user)) = (
        fields.next().and_then(|f| f.parse::<i32>().ok()),
        fields.next().and_then(|f| f.parse::<u64>().ok()),
        fields.next(),
    ) else {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(format!(
            "cannot make a PID namespace: {}",
            err.trim().trim_start_matches("gaterun: ")
        ));
    };
    let init = rustix::process::Pid::from_raw(pid)
        .ok_or_else(|| "the namespace init reported pid 0".to_owned())
        .and_then(|p| {
            rustix::process::pidfd_open(p, rustix::process::PidfdFlags::empty())
                .map_err(|e| format!("pidfd_open of the namespace init: {e}"))
        })?;
    // The pidfd is of the process that now has that pid: it is our pid 1 only if it is in the
    // namespace that was made.
    let same = std::fs::metadata(format!("/proc/{pid}/ns/pid")).is_ok_and(|m| m.ino() == ino);
    if !same {
        return Err("the namespace init exited at once".to_owned());
    }
    Ok(GateNs {
        init,
        pid,
        user: user == "user",
    })
}

/// Signal pid 1 of the gate's namespace: SIGTERM is passed on to every process in it; SIGKILL
/// kills the namespace.
pub fn signal(token: &str, signal: rustix::process::Signal) {
    if let Some(ns) = gates().get(token) {
        ns.signal(signal);
    }
}

/// Whether the gate's namespace still has its pid 1 (and so, maybe, other processes).
pub fn alive(token: &str) -> bool {
    gates().get(token).is_some_and(|ns| !ns.exited())
}

/// The pid (in gaterun's namespace) of the gate's pid 1, while it lives: processes that
/// daemonized inside the gate are its children.
pub fn init_pid(token: &str) -> Option<i32> {
    gates()
        .get(token)
        .filter(|ns| !ns.exited())
        .map(|ns| ns.pid)
}

/// The gate is over: kill its namespace if anything is left (teardown has normally emptied
/// it) and forget it.
pub fn forget(token: &str) {
    if let Some(ns) = gates().remove(token)
        && !ns.exited()
    {
        ns.signal(rustix::process::Signal::KILL);
    }
}
