//! A service's output and exit, in words: its pipes copied line by line into the gate log
//! (prefixed with its name, watched for the `ready.log` pattern), and how a process ended.

use std::io;
use std::process::ExitStatus;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::io::{AsyncRead, AsyncReadExt};

use crate::expect::Matcher;
use crate::process::CappedBuffer;
use crate::steps::log::GateLog;

/// A line longer than this is cut into pieces in the log.
const LINE_CAP: usize = 64 * 1024;

pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Copy a service's output into the gate log line by line, each line prefixed with the
/// service's name, and watch for the `ready.log` pattern.
pub async fn pump(
    mut pipe: impl AsyncRead + Unpin,
    prefix: String,
    tail: Arc<Mutex<CappedBuffer>>,
    log: GateLog,
    matcher: Option<Arc<Matcher>>,
    ready: Arc<AtomicBool>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    let mut line: Vec<u8> = Vec::new();
    let emit = |line: &[u8]| {
        let text = String::from_utf8_lossy(line);
        if let Some(m) = &matcher
            && m.matches(text.trim_end_matches('\r'))
        {
            ready.store(true, Ordering::Relaxed);
        }
        log.push_all(&[prefix.as_bytes(), line, b"\n"]);
    };
    loop {
        let n = match pipe.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        lock(&tail).push(&buf[..n]);
        for chunk in buf[..n].split_inclusive(|b| *b == b'\n') {
            if let Some(body) = chunk.strip_suffix(b"\n") {
                line.extend_from_slice(body);
                emit(&line);
                line.clear();
            } else {
                line.extend_from_slice(chunk);
                if line.len() >= LINE_CAP {
                    emit(&line);
                    line.clear();
                }
            }
        }
    }
    if !line.is_empty() {
        emit(&line);
    }
}

/// `status 3`, or `signal SIGKILL`: how a process ended, in the words of a failure message.
pub fn describe_exit(status: io::Result<ExitStatus>) -> String {
    use std::os::unix::process::ExitStatusExt;
    match status {
        Ok(s) => match (s.code(), s.signal()) {
            (Some(code), _) => format!("status {code}"),
            (None, Some(sig)) => format!("signal {}", signal_name(sig)),
            _ => "an unknown status".to_owned(),
        },
        Err(e) => format!("an unknown status ({e})"),
    }
}

/// The name of a Linux signal (`SIGKILL`), or its number when it has none.
fn signal_name(sig: i32) -> String {
    const NAMES: [&str; 31] = [
        "SIGHUP",
        "SIGINT",
        "SIGQUIT",
        "SIGILL",
        "SIGTRAP",
        "SIGABRT",
        "SIGBUS",
        "SIGFPE",
        "SIGKILL",
        "SIGUSR1",
        "SIGSEGV",
        "SIGUSR2",
        "SIGPIPE",
        "SIGALRM",
        "SIGTERM",
        "SIGSTKFLT",
        "SIGCHLD",
        "SIGCONT",
        "SIGSTOP",
        "SIGTSTP",
        "SIGTTIN",
        "SIGTTOU",
        "SIGURG",
        "SIGXCPU",
        "SIGXFSZ",
        "SIGVTALRM",
        "SIGPROF",
        "SIGWINCH",
        "SIGIO",
        "SIGPWR",
        "SIGSYS",
    ];
    usize::try_from(sig - 1)
        .ok()
        .and_then(|i| NAMES.get(i))
        .map(|n| (*n).to_owned())
        .unwrap_or_else(|| sig.to_string())
}

/// The last line a service printed, quoted, for a failure's message; `none` if it printed none.
pub(super) fn last_line(text: &str) -> String {
    let line = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    if line.is_empty() {
        "none".to_owned()
    } else {
        format!("{:?}", crate::text::sanitize(line))
    }
}
