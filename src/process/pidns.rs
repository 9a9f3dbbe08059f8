//! PID-namespace containment: the fallback where gaterun may not create a cgroup (typically an
//! unprivileged user). Chosen by `--containment auto` where no cgroup may be made, or asked for
//! with `--containment pid-namespace`.
//!
//! Each gate gets one PID namespace (owned by a new user namespace when gaterun may not make
//! one otherwise, i.e. when not root) and one mount namespace with its own `/proc`, so `$$`,
//! `ps`, `pkill` and `/proc/<pid>` agree inside the gate. Its pid 1 is gaterun itself
//! (`gaterun __init --gate`): it reaps every orphan of the namespace, and on SIGTERM from
//! gaterun passes SIGTERM to every process of the namespace and exits once none is left.
//!
//! Every command of the gate (run steps, services, readiness probes) is spawned as
//! `gaterun __init --join <pidfd> --report <fd> -- <argv>`: that "joiner" enters the gate's
//! namespaces through a pidfd of their pid 1 (`setns`), forks the real command inside them with
//! the stdio, environment, working directory and process group gaterun gave it, reports whether
//! the command started (so a missing program fails to start as before), then waits and exits
//! with the command's status or re-raises its signal. gaterun sees the statuses, groups and
//! pipes it saw before: its group signals (`stop`, `kill`, timeouts) reach the command as they
//! did; the joiner ignores the catchable ones and mirrors what they did to the command.
//!
//! Whatever a process does inside — setsid, double fork, re-fork and exit over and over,
//! overwrite its environment, turn non-dumpable, `env -i` — it cannot leave the namespace, and
//! when pid 1 dies the kernel kills every member. Teardown is SIGTERM to pid 1 (passed on to
//! all), the grace, SIGKILL to pid 1. pid 1 is held through a pidfd checked against the
//! namespace it reported, so a recycled pid is never signalled.

//!
//! The API, for a containment enum to plug in: [`available`] once at start-up (`Ok` names the
//! kind, `Err` says why not); [`command`] instead of `Command::new` for every command of a gate
//! (the namespace is made on the gate's first command) and [`started`] after spawning it;
//! [`signal`] (SIGTERM, then SIGKILL) and [`alive`] in the teardown loop; [`forget`] when the
//! gate is over. [`init_pid`] and [`command_of`] map gaterun's view to the namespace's (the
//! service listener check, a service's death). No usage figures: a namespace gives none.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::MetadataExt;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The hidden subcommand (never in `--help`: `main` dispatches it before parsing arguments).
pub const INIT_ARG: &str = "__init";

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

/// How long gaterun waits for a joiner to say whether the command started.
const REPORT_WAIT: Duration = Duration::from_secs(10);

/// One gate's namespace: a pidfd of its pid 1, that pid (in gaterun's namespace), and whether a
/// user namespace owns it (then a joiner enters that too).
struct GateNs {
    init: OwnedFd,
    pid: i32,
    user: bool,
}

impl GateNs {
    /// pid 1 has exited (and so the namespace is empty). Reaps it when it is gaterun's child.
    fn exited(&self) -> bool {
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

    fn signal(&self, signal: rustix::process::Signal) {
        let _ = rustix::process::pidfd_send_signal(&self.init, signal);
    }
}

static GATES: Mutex<BTreeMap<String, GateNs>> = Mutex::new(BTreeMap::new());

fn gates() -> MutexGuard<'static, BTreeMap<String, GateNs>> {
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
fn create(token: Option<&str>) -> Result<GateNs, String> {
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
        cmd.env(super::TOKEN_VAR, token);
    }
    let child = super::spawn_std(&mut cmd)
        .map_err(|e| format!("failed to start gaterun's namespace init: {e}"))?;
    let pid = child.id();
    let out = child.wait_with_output();
    super::release(Some(pid));
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
    if gates().get(token).is_none_or(GateNs::exited) {
        let ns = create(Some(token)).map_err(io::Error::other)?;
        if let Some(old) = gates().insert(token.to_owned(), ns) {
            old.signal(rustix::process::Signal::KILL);
        }
    }
    let (pidfd, user) = {
        let gates = gates();
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

/// `gaterun __init …`: the namespace init (`--gate`) or a joiner (`--join`). Runs before
/// anything else in the process (single-threaded, as `unshare` and `setns` of a user
/// namespace require). Never returns.
pub fn init_main(args: Vec<OsString>) -> ! {
    let args: Vec<OsString> = args
        .into_iter()
        .skip_while(|a| a != INIT_ARG)
        .skip(1)
        .collect();
    match args.first().and_then(|a| a.to_str()) {
        Some("--gate") => gate_main(),
        Some("--join") => join_main(&args[1..]),
        _ => {
            errln!("gaterun: {INIT_ARG} is internal to gaterun");
            std::process::exit(2)
        }
    }
}

fn fail(message: &str) -> ! {
    errln!("gaterun: {message}");
    std::process::exit(127)
}

fn errno() -> io::Error {
    io::Error::last_os_error()
}

/// `--gate`: unshare the namespaces, fork pid 1, print `<pid> <pid namespace inode>
/// user|plain` and exit.
fn gate_main() -> ! {
    // SAFETY: plain syscalls in a single-threaded process.
    let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
    let mut user = false;
    // SAFETY: as above.
    if unsafe { libc::unshare(libc::CLONE_NEWPID | libc::CLONE_NEWNS) } != 0 {
        let plain = errno();
        // SAFETY: as above.
        if unsafe { libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWPID | libc::CLONE_NEWNS) }
            != 0
        {
            fail(&format!(
                "unshare(CLONE_NEWPID): {plain}; with a user namespace: {}",
                errno()
            ));
        }
        user = true;
        // The same uid and gid inside as outside; setgroups denied, as an unprivileged
        // gid_map requires.
        for (file, text) in [
            ("/proc/self/setgroups", "deny".to_owned()),
            ("/proc/self/uid_map", format!("{uid} {uid} 1")),
            ("/proc/self/gid_map", format!("{gid} {gid} 1")),
        ] {
            if let Err(e) = std::fs::write(file, text) {
                fail(&format!("write {file}: {e}"));
            }
        }
    }
    // pid 1 mounts the namespace's own /proc over this mount namespace's (ours too): keep a
    // handle on this /proc, where `self` is this process.
    let proc = match std::fs::File::open("/proc") {
        Ok(f) => f,
        Err(e) => fail(&format!("open /proc: {e}")),
    };
    // SAFETY: single-threaded: the child may do anything.
    match unsafe { libc::fork() } {
        -1 => fail(&format!("fork: {}", errno())),
        0 => namespace_init(),
        pid => {
            // The namespace is there (readable) once its first process is.
            let ino = match rustix::fs::statat(
                &proc,
                "self/ns/pid_for_children",
                rustix::fs::AtFlags::empty(),
            ) {
                Ok(st) => st.st_ino,
                Err(e) => {
                    // SAFETY: our child, which must not outlive this failure.
                    unsafe { libc::kill(pid, libc::SIGKILL) };
                    fail(&format!("stat /proc/self/ns/pid_for_children: {e}"))
                }
            };
            out!("{pid} {ino} {}", if user { "user" } else { "plain" });
            std::process::exit(0)
        }
    }
}

/// Point stdin, stdout and stderr at `/dev/null`: hold no pipe of the gate's.
fn stdio_to_null() {
    // SAFETY: plain syscalls on a C string and the descriptors they return.
    unsafe {
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
        if null >= 0 {
            for fd in 0..3 {
                libc::dup2(null, fd);
            }
            if null > 2 {
                libc::close(null);
            }
        }
    }
}

extern "C" fn on_signal(_: libc::c_int) {}

/// pid 1 of a gate's namespace: a fresh `/proc`, then reap orphans until SIGTERM from gaterun,
/// which is passed to every process of the namespace; exit once none is left.
fn namespace_init() -> ! {
    // SAFETY: plain syscalls in a single-threaded process, on valid C strings and structs.
    unsafe {
        stdio_to_null();
        libc::prctl(libc::PR_SET_NAME, c"gaterun-init".as_ptr());
        libc::chdir(c"/".as_ptr());
        // Mounts made here stay here (the new mount namespace's copies may be shared with the
        // host's); then this namespace's own /proc. Without it (a container that masks parts
        // of /proc refuses), processes inside see the host's /proc: still contained.
        if libc::mount(
            std::ptr::null(),
            c"/".as_ptr(),
            std::ptr::null(),
            libc::MS_REC | libc::MS_SLAVE,
            std::ptr::null(),
        ) == 0
        {
            libc::mount(
                c"proc".as_ptr(),
                c"/proc".as_ptr(),
                c"proc".as_ptr(),
                libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
                std::ptr::null(),
            );
        }
        // A handler, so SIGTERM from gaterun (an ancestor namespace) is delivered to pid 1 at
        // all; blocked, so it is taken with sigtimedwait along with SIGCHLD.
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_signal as *const () as usize;
        libc::sigaction(libc::SIGTERM, &action, std::ptr::null_mut());
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::sigaddset(&mut set, libc::SIGCHLD);
        libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        let mut stopping = false;
        loop {
            let mut info: libc::siginfo_t = std::mem::zeroed();
            let tick = libc::timespec {
                tv_sec: if stopping { 0 } else { 3600 },
                tv_nsec: if stopping { 10_000_000 } else { 0 },
            };
            let sig = libc::sigtimedwait(&set, &mut info, &tick);
            let mut status = 0;
            while libc::waitpid(-1, &mut status, libc::WNOHANG) > 0 {}
            // si_pid is 0 for a signal from outside the namespace: gaterun. A process inside
            // signalling its group (`kill 0`) does not stop the gate.
            if sig == libc::SIGTERM && info.si_pid() == 0 && !stopping {
                stopping = true;
                libc::kill(-1, libc::SIGTERM);
            }
            if stopping
                && libc::kill(-1, 0) == -1
                && io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH)
            {
                libc::_exit(0);
            }
        }
    }
}

/// `--join <pidfd> --report <fd> [--user] -- <argv>`: enter the gate's namespaces, start the
/// command, report, wait, exit as it did.
fn join_main(args: &[OsString]) -> ! {
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
