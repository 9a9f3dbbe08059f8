//! The hidden `gaterun __init` subcommand: its name, which gaterun's side passes to the
//! processes it starts, and what those single-threaded processes (the namespace's pid 1 and
//! the joiners) share: dying with a message, `errno`, stdio on `/dev/null`.

use std::io;

/// The hidden subcommand (never in `--help`: `main` dispatches it before parsing arguments).
pub const INIT_ARG: &str = "__init";

pub(super) fn fail(message: &str) -> ! {
    errln!("gaterun: {message}");
    std::process::exit(127)
}

pub(super) fn errno() -> io::Error {
    io::Error::last_os_error()
}

/// Point stdin, stdout and stderr at `/dev/null`: hold no pipe of the gate's.
pub(super) fn stdio_to_null() {
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
