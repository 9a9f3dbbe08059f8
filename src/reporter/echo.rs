//! No echo of typed keys while the bar is drawn. indicatif leaves the cursor in the last
//! column of its last line, so the `^C` a terminal echoes at Ctrl-C (or any key typed) wraps
//! onto a new line; the bar then clears one line short and a frozen copy of it stays on screen.
//! Echo is restored when the guard goes (the bar cleared, the run over, a panic unwinding).

use rustix::termios::{LocalModes, OptionalActions, Termios, tcgetattr, tcgetpgrp, tcsetattr};

pub struct NoEcho {
    saved: Termios,
}

impl NoEcho {
    /// Echo off on stderr's terminal; `None` when stderr is no terminal, gaterun runs in the
    /// background (`gaterun stage 1 &`: changing the terminal from there stops the process
    /// with SIGTTOU) or echo is off already.
    pub fn new() -> Option<Self> {
        let stderr = std::io::stderr();
        if tcgetpgrp(&stderr).ok()? != rustix::process::getpgrp() {
            return None;
        }
        let saved = tcgetattr(&stderr).ok()?;
        if !saved.local_modes.contains(LocalModes::ECHO) {
            return None;
        }
        let mut quiet = saved.clone();
        quiet.local_modes.remove(LocalModes::ECHO);
        tcsetattr(&stderr, OptionalActions::Now, &quiet).ok()?;
        Some(NoEcho { saved })
    }
}

impl Drop for NoEcho {
    /// Echo back on, also when gaterun was put in the background since (Ctrl-Z, `bg`): there
    /// a change of the terminal would stop the whole run with SIGTTOU until `fg`, the gates'
    /// timeouts with it. With SIGTTOU blocked on this thread the kernel lets the change through
    /// and sends nothing.
    fn drop(&mut self) {
        // SAFETY: plain signal-mask calls on this thread, with sets built here.
        unsafe {
            let mut ttou: libc::sigset_t = std::mem::zeroed();
            let mut before: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut ttou);
            libc::sigaddset(&mut ttou, libc::SIGTTOU);
            let blocked = libc::pthread_sigmask(libc::SIG_BLOCK, &ttou, &mut before) == 0;
            let _ = tcsetattr(std::io::stderr(), OptionalActions::Now, &self.saved);
            if blocked {
                libc::pthread_sigmask(libc::SIG_SETMASK, &before, std::ptr::null_mut());
            }
        }
    }
}
