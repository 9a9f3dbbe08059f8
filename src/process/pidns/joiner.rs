//! gaterun's side of a joiner: the command that starts a gate's command inside the gate's
//! namespaces (`gaterun __init --join …`), the descriptors it inherits, and its report of
//! whether the command started.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::namespace::{self, GateNs};
use super::subcommand::INIT_ARG;

/// How long gaterun waits for a joiner to say whether the command started.
const REPORT_WAIT: Duration = Duration::from_secs(10);

/// What a spawned joiner's report is read from, and the descriptors the joiner inherits,
/// closed in gaterun once it is spawned.
pub struct Pending {
    report: OwnedFd,
    inherited: Vec<OwnedFd>,
}

/// A command of the gate `token`, made to run in the gate's namespaces (made on first use):
/// `gaterun __init --join …` with `program` and `args`. Configure it (environment, stdio,
/// process group) as the command itself; spawn it, then call [`started`] with the `Pending`.
pub fn command(
    token: &str,
    program: &OsStr,
    args: &[OsString],
) -> io::Result<(tokio::process::Command, Pending)> {
    // Made without holding the registry (other gates' teardowns use it meanwhile); a gate's
    // commands are spawned one after the other, so no two makers race for one token.
    if namespace::gates().get(token).is_none_or(GateNs::exited) {
        let ns = namespace::create(Some(token)).map_err(io::Error::other)?;
        if let Some(old) = namespace::gates().insert(token.to_owned(), ns) {
            old.signal(rustix::process::Signal::KILL);
        }
    }
    let (pidfd, user) = {
        let gates = namespace::gates();
        let ns = gates
            .get(token)
            .ok_or_else(|| io::Error::other("the gate's namespace was forgotten"))?;
        (dup_high(ns.init.as_raw_fd())?, ns.user)
    };
    let mut ends = [0; 2];
    // SAFETY: pipe2 fills two descriptors we then own.
    if unsafe { libc::pipe2(ends.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: just made, owned by nobody else.
    let (report, write) = unsafe { (OwnedFd::from_raw_fd(ends[0]), OwnedFd::from_raw_fd(ends[1])) };
    let write = dup_high(write.as_raw_fd())?;
    let mut cmd = tokio::process::Command::new("/proc/self/exe");
    cmd.arg0("gaterun")
        .arg(INIT_ARG)
        .arg("--join")
        .arg(pidfd.as_raw_fd().to_string())
        .arg("--report")
        .arg(write.as_raw_fd().to_string());
    if user {
        cmd.arg("--user");
    }
    cmd.arg("--").arg(program).args(args);
    let keep = [pidfd.as_raw_fd(), write.as_raw_fd()];
    // SAFETY: only fcntl, which is async-signal-safe, between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            for fd in keep {
                if libc::fcntl(fd, libc::F_SETFD, 0) == -1 {
                    return Err(io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    Ok((
        cmd,
        Pending {
            report,
            inherited: vec![pidfd, write],
        },
    ))
}

/// A copy of `fd` at 3 or above (the child's stdio setup overwrites 0 to 2), close-on-exec.
fn dup_high(fd: RawFd) -> io::Result<OwnedFd> {
    // SAFETY: F_DUPFD_CLOEXEC returns a new descriptor we own, or -1.
    let new = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 3) };
    if new < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: just made, owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(new) })
}

/// The command each living joiner started: joiner pid → command pid (both as gaterun sees
/// them). The command is the joiner's child, so its pid is not reused while the joiner lives.
/// Global because a service's death is judged by the pid gaterun holds (the joiner's).
static COMMANDS: Mutex<BTreeMap<u32, i32>> = Mutex::new(BTreeMap::new());

fn commands() -> MutexGuard<'static, BTreeMap<u32, i32>> {
    COMMANDS.lock().unwrap_or_else(|e| e.into_inner())
}

/// The command started by joiner `joiner` (while the joiner has not been released).
pub fn command_of(joiner: u32) -> Option<i32> {
    commands().get(&joiner).copied()
}

/// The joiner has been reaped: forget its command.
pub(crate) fn released(joiner: u32) {
    commands().remove(&joiner);
}

/// The joiner `joiner` of a [`command`] was spawned: wait (at most 10 s) for its report. `Err`
/// when the command did not start, with the error its `execve` gave (`No such file or
/// directory`) or why the namespace could not be entered; the joiner then exits 127 by itself.
pub fn started(pending: Pending, joiner: Option<u32>) -> io::Result<()> {
    let Pending { report, inherited } = pending;
    drop(inherited);
    let deadline = Instant::now() + REPORT_WAIT;
    let mut text = Vec::new();
    let mut buf = [0u8; 512];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::other(
                "the PID-namespace joiner did not report within 10 s",
            ));
        }
        let mut pfd = libc::pollfd {
            fd: report.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        let n = unsafe { libc::poll(&mut pfd, 1, left.as_millis().min(1000) as libc::c_int) };
        if n <= 0 {
            continue;
        }
        match rustix::io::read(&report, &mut buf) {
            Ok(0) => break,
            Ok(k) if text.len() < 4096 => text.extend_from_slice(&buf[..k]),
            Ok(_) => {}
            Err(rustix::io::Errno::INTR | rustix::io::Errno::AGAIN) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let pid = parse_report(&String::from_utf8_lossy(&text))?;
    if let (Some(joiner), Some(pid)) = (joiner, pid) {
        commands().insert(joiner, pid);
    }
    Ok(())
}

/// A joiner's report: `exec 0 <pid>` (started, with the command's pid), `exec <errno>` (its
/// `execve` failed) or `fail <why>`.
fn parse_report(text: &str) -> io::Result<Option<i32>> {
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("exec ") {
            let mut fields = rest.split_whitespace();
            return match fields.next().map(str::parse::<i32>) {
                Some(Ok(0)) => Ok(fields.next().and_then(|f| f.parse().ok())),
                Some(Ok(n)) => Err(io::Error::from_raw_os_error(n)),
                _ => Err(io::Error::other(format!("a garbled report: {line:?}"))),
            };
        }
        if let Some(why) = line.strip_prefix("fail ") {
            return Err(io::Error::other(why.to_owned()));
        }
    }
    Err(io::Error::other(
        "the PID-namespace joiner exited before starting the command",
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_report_says_started_or_why_not() {
        let cases: &[(&str, Result<Option<i32>, &str>)] = &[
            ("exec 0 4242\n", Ok(Some(4242))),
            ("exec 0\n", Ok(None)),
            ("exec 2\n", Err("No such file or directory (os error 2)")),
            ("exec 13\n", Err("Permission denied (os error 13)")),
            (
                "fail cannot enter the gate's PID namespace: x\n",
                Err("cannot enter the gate's PID namespace: x"),
            ),
            ("exec x\n", Err("a garbled report: \"exec x\"")),
            (
                "",
                Err("the PID-namespace joiner exited before starting the command"),
            ),
        ];
        for (text, want) in cases {
            let got = super::parse_report(text).map_err(|e| e.to_string());
            assert_eq!(got, want.map_err(str::to_owned), "{text:?}");
        }
    }
}
