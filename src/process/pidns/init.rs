//! `gaterun __init`: the dispatch of the hidden subcommand, and `--gate`, which makes a gate's
//! namespaces and becomes their pid 1 (reaper, and the relay of gaterun's SIGTERM to every
//! process inside). Runs in the child, before anything else of gaterun.

use std::ffi::OsString;
use std::io;

use super::join::join_main;
use super::subcommand::{INIT_ARG, errno, fail, stdio_to_null};

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
