//! `gaterun __init --join`: the joiner, which enters a gate's namespaces through a pidfd of
//! their pid 1, forks the gate's command inside, reports whether it started, and exits as it
//! did. Runs in the child, single-threaded.

use std::ffi::{OsStr, OsString};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use super::subcommand::{errno, fail, stdio_to_null};

/// The signals a joiner ignores (they reach the command through its process group) and the
/// command gets back at their default action.
const FORWARD: [libc::c_int; 6] = [
    libc::SIGHUP,
    libc::SIGINT,
    libc::SIGQUIT,
    libc::SIGTERM,
    libc::SIGUSR1,
    libc::SIGUSR2,
];

/// `--join <pidfd> --report <fd> [--user] -- <argv>`: enter the gate's namespaces, start the
/// command, report, wait, exit as it did.
pub(super) fn join_main(args: &[OsString]) -> ! {
    let fd_arg = |i: usize| -> RawFd {
        args.get(i)
            .and_then(|a| a.to_str())
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| fail("--join: bad arguments"))
    };
    // SAFETY: a C string for the process name (`exe` otherwise, from `/proc/self/exe`).
    unsafe { libc::prctl(libc::PR_SET_NAME, c"gaterun-join".as_ptr()) };
    let pidfd = fd_arg(0);
    if args.get(1).map(|a| a.as_os_str()) != Some(OsStr::new("--report")) {
        fail("--join: bad arguments");
    }
    // SAFETY: gaterun passed these descriptors, open, for us alone.
    let (pidfd, mut report) = unsafe {
        (
            OwnedFd::from_raw_fd(pidfd),
            std::fs::File::from_raw_fd(fd_arg(2)),
        )
    };
    let mut rest = &args[3..];
    let user = rest.first().is_some_and(|a| a == "--user");
    if user {
        rest = &rest[1..];
    }
    let argv = match rest.split_first() {
        Some((dash, argv)) if dash == "--" && !argv.is_empty() => argv,
        _ => fail("--join: bad arguments"),
    };
    // SAFETY: fcntl on descriptors we own.
    unsafe {
        libc::fcntl(pidfd.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC);
        libc::fcntl(report.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC);
    }
    let mut say = |line: String| {
        use std::io::Write as _;
        let _ = report.write_all(format!("{line}\n").as_bytes());
    };
    // Entering a mount namespace moves to its root: come back to the directory gaterun chose
    // (the same path: the namespace is a copy of gaterun's mounts).
    let cwd = std::env::current_dir();
    let mut flags = libc::CLONE_NEWPID | libc::CLONE_NEWNS;
    if user {
        flags |= libc::CLONE_NEWUSER;
    }
    // SAFETY: setns on a pidfd we own, single-threaded.
    if unsafe { libc::setns(pidfd.as_raw_fd(), flags) } != 0 {
        let e = errno();
        say(format!("fail cannot enter the gate's PID namespace: {e}"));
        std::process::exit(127);
    }
    drop(pidfd);
    if let Err(e) = cwd.and_then(std::env::set_current_dir) {
        say(format!("fail cannot keep the working directory: {e}"));
        std::process::exit(127);
    }
    // SAFETY: setting dispositions in a single-threaded process.
    unsafe {
        for sig in FORWARD {
            libc::signal(sig, libc::SIG_IGN);
        }
    }
    let mut cmd = std::process::Command::new(&argv[0]);
    cmd.args(&argv[1..]);
    use std::os::unix::process::CommandExt as _;
    // SAFETY: only signal(), async-signal-safe, between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            for sig in FORWARD {
                libc::signal(sig, libc::SIG_DFL);
            }
            Ok(())
        });
    }
    let mut child = match cmd.spawn() {
        Ok(child) => child,
        Err(e) => {
            match e.raw_os_error() {
                Some(n) => say(format!("exec {n}")),
                None => say(format!("fail {e}")),
            }
            std::process::exit(127);
        }
    };
    // Its pid as gaterun sees it: this process is in gaterun's PID namespace.
    say(format!("exec 0 {}", child.id()));
    drop(report);
    // Hold none of the command's pipes: its reader sees the end when the command's side ends.
    stdio_to_null();
    match child.wait() {
        Ok(status) => mirror(status),
        Err(_) => std::process::exit(127),
    }
}

/// Exit as the command did: its code, or its signal (re-raised at its default action, without
/// a core file).
fn mirror(status: std::process::ExitStatus) -> ! {
    use std::os::unix::process::ExitStatusExt as _;
    if let Some(code) = status.code() {
        std::process::exit(code);
    }
    let sig = status.signal().unwrap_or(libc::SIGKILL);
    // SAFETY: plain syscalls in a single-threaded process.
    unsafe {
        let none = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        libc::setrlimit(libc::RLIMIT_CORE, &none);
        libc::signal(sig, libc::SIG_DFL);
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, sig);
        libc::sigprocmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
        libc::kill(libc::getpid(), sig);
    }
    // A signal whose default is to be ignored cannot have ended the command.
    std::process::exit(128 + sig)
}
