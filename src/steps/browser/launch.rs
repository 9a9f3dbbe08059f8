//! The run's one headless Chromium: found (`GATERUN_CHROME`, else `chromium`,
//! `chromium-browser` or `google-chrome` on PATH), started on the first `browser` step, and
//! stopped when the run ends.
//!
//! It is started like a gate's process, under a token of its own (`GATERUN_GATE=<run id>-N` in
//! its environment, inherited by every helper process it starts), in its own process group and,
//! where the run has cgroups, in a cgroup of its own: the teardown that ends the run's browser is
//! the one that ends a gate, and the sweep of the next run finds it by its token when gaterun
//! was killed with SIGKILL. It speaks over a pipe on its fds 3 and 4 (`cdp`), and exits by
//! itself when gaterun's end of the pipe closes.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;

use super::cdp::Conn;
use crate::process;

/// How long the browser may take to answer its first command.
const START_WITHIN: Duration = Duration::from_secs(30);

/// What a missing Chromium is told.
const INSTALL_HINT: &str = "install Chromium (`apt-get install chromium` on Debian and Ubuntu) or set GATERUN_CHROME to its path";

/// The run's browser: shared by every gate, started lazily.
#[derive(Clone, Default)]
pub struct Browser {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Where the browser's profile goes (the run's temp root, swept with it).
    dir: PathBuf,
    running: tokio::sync::Mutex<Option<Arc<Running>>>,
    /// Every token a browser of this run was started under: stopped at the end even if the
    /// start was cut short.
    tokens: Mutex<Vec<String>>,
}

pub struct Running {
    pub conn: Conn,
    pub version: String,
    pid: u32,
    child: tokio::sync::Mutex<tokio::process::Child>,
    token: String,
}

impl Browser {
    /// The browser of a run whose temp root is `tmp_root`.
    pub fn new(tmp_root: &Path) -> Browser {
        Browser {
            inner: Arc::new(Inner {
                dir: tmp_root.join("browser"),
                ..Default::default()
            }),
        }
    }

    /// The running browser, started now if it is not (or if it died).
    pub async fn get(&self) -> Result<Arc<Running>, String> {
        let mut running = self.inner.running.lock().await;
        if let Some(r) = running.as_ref()
            && r.conn.closed().is_none()
        {
            return Ok(r.clone());
        }
        if let Some(dead) = running.take() {
            dead.stop().await;
        }
        let started = Arc::new(self.start().await?);
        *running = Some(started.clone());
        Ok(started)
    }

    async fn start(&self) -> Result<Running, String> {
        let program = find()?;
        let token = process::new_token();
        self.inner
            .tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(token.clone());
        process::open_gate(&token)?;
        let dir = self.inner.dir.join(&token);
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("failed to create {}: {e}", dir.display()))?;
        let (to_browser, browser_reads) = pipe()?;
        let (browser_writes, from_browser) = pipe()?;
        let stderr = std::fs::File::create(dir.join("chromium.log"))
            .map_err(|e| format!("failed to create {}/chromium.log: {e}", dir.display()))?;
        let mut cmd = tokio::process::Command::new(&program);
        cmd.args(args(&dir))
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &dir)
            .env(process::TOKEN_VAR, &token)
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(stderr))
            .kill_on_drop(false);
        // Its own session (and so its own group): a Ctrl-C at the terminal reaches gaterun,
        // which stops it after the gates, and what the gates make it run cannot reach the
        // terminal. SAFETY: setsid is async-signal-safe.
        unsafe {
            cmd.pre_exec(process::new_session);
        }
        process::prepare_service(&token, "browser", &mut cmd)?;
        let (r, w) = (browser_reads.as_raw_fd(), browser_writes.as_raw_fd());
        // SAFETY: dup2 is async-signal-safe; `r` and `w` are open (and close-on-exec) in the
        // child, and 3 and 4 are what Chromium reads and writes with `--remote-debugging-pipe`.
        unsafe {
            cmd.pre_exec(move || {
                if libc::dup2(r, 3) == -1 || libc::dup2(w, 4) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = process::spawn_owned(&mut cmd)
            .map_err(|e| format!("failed to start {}: {e}; {INSTALL_HINT}", program.display()))?;
        drop((browser_reads, browser_writes));
        let pid = child.id().unwrap_or(0);
        process::note_group(&token, pid);
        let conn = Conn::new(to_browser, from_browser)
            .map_err(|e| format!("cannot talk to the browser: {e}"))?;
        let running = Running {
            conn,
            version: String::new(),
            pid,
            child: tokio::sync::Mutex::new(child),
            token,
        };
        let answer = tokio::time::timeout(
            START_WITHIN,
            running.conn.call("Browser.getVersion", json!({}), None),
        )
        .await;
        match answer {
            Ok(Ok(v)) => Ok(Running {
                version: v["product"].as_str().unwrap_or("Chromium").to_owned(),
                ..running
            }),
            Ok(Err(e)) => {
                running.stop().await;
                Err(format!(
                    "{} did not start: {e}: {}",
                    program.display(),
                    tail(&dir.join("chromium.log"))
                ))
            }
            Err(_) => {
                running.stop().await;
                Err(format!(
                    "{} did not answer within {}s: {}",
                    program.display(),
                    START_WITHIN.as_secs(),
                    tail(&dir.join("chromium.log"))
                ))
            }
        }
    }

    /// The end of the run: the browser closed (and every process it started stopped).
    pub async fn shutdown(&self) {
        if let Some(r) = self.inner.running.lock().await.take() {
            r.stop().await;
        }
        let tokens =
            std::mem::take(&mut *self.inner.tokens.lock().unwrap_or_else(|e| e.into_inner()));
        for token in tokens {
            stop_token(&token).await;
        }
    }
}

impl Running {
    /// Asked to close, then whatever is left of its processes stopped like a gate's.
    async fn stop(&self) {
        if !process::is_forced() {
            let close = self.conn.call("Browser.close", json!({}), None);
            let _ = tokio::time::timeout(Duration::from_secs(2), close).await;
        }
        let mut child = self.child.lock().await;
        let waited = tokio::select! {
            r = tokio::time::timeout(Duration::from_secs(3), child.wait()) => r.is_ok(),
            () = process::forced() => false,
        };
        if !waited {
            process::signal_groups(&[self.pid], rustix::process::Signal::KILL);
            let _ = child.wait().await;
        }
        process::forget_owned(self.pid);
        stop_token(&self.token).await;
    }
}

/// Every process still carrying `token` stopped, its cgroup removed, the token forgotten.
async fn stop_token(token: &str) {
    let _ = process::terminate(token, &[], Duration::from_millis(500)).await;
    let _ = process::close_gate(token);
    process::forget_token(token);
}

/// The browser's program: `GATERUN_CHROME`, else the first of the usual names on PATH.
fn find() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("GATERUN_CHROME").filter(|p| !p.is_empty()) {
        let path = PathBuf::from(&p);
        return if is_executable(&path) {
            Ok(path)
        } else {
            Err(format!(
                "GATERUN_CHROME={} is not an executable file: {INSTALL_HINT}",
                path.display()
            ))
        };
    }
    let dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|n| dirs.iter().map(|d| d.join(n)).find(|p| is_executable(p)))
        .ok_or_else(|| {
            format!(
                "no Chromium found (`chromium`, `chromium-browser` or `google-chrome` on PATH, or GATERUN_CHROME): {INSTALL_HINT}"
            )
        })
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn args(dir: &Path) -> Vec<String> {
    let mut args: Vec<String> = [
        "--headless",
        "--remote-debugging-pipe",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-gpu",
        "--disable-extensions",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-default-apps",
        "--disable-sync",
        "--disable-crash-reporter",
        "--disable-breakpad",
        "--disable-dev-shm-usage",
        "--mute-audio",
        "--hide-scrollbars",
        // A page of a context of its own is a background tab: its timers must not slow down.
        "--disable-background-timer-throttling",
        "--disable-renderer-backgrounding",
        "--disable-backgrounding-occluded-windows",
        "--window-size=1280,800",
    ]
    .map(str::to_owned)
    .into();
    // Chromium's sandbox refuses to run as root; the pages are the project's own.
    if rustix::process::geteuid().is_root() {
        args.push("--no-sandbox".to_owned());
    }
    args.push(format!("--user-data-dir={}", dir.join("profile").display()));
    args.push("about:blank".to_owned());
    args
}

/// A pipe, both ends close-on-exec and above fd 4 (so the child's dup2 onto 3 and 4 never
/// overwrites the other end): (write end, read end) for `pipe()`'s usual (read, write).
fn pipe() -> Result<(OwnedFd, OwnedFd), String> {
    let mut fds: [RawFd; 2] = [0; 2];
    // SAFETY: a valid array of two fds.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(format!(
            "cannot make a pipe for the browser: {}",
            std::io::Error::last_os_error()
        ));
    }
    // SAFETY: both fds were just made and are owned here alone.
    let (r, w) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    Ok((high(w)?, high(r)?))
}

fn high(fd: OwnedFd) -> Result<OwnedFd, String> {
    // SAFETY: fcntl on an fd we own; the copy is owned by the result.
    let new = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 10) };
    if new < 0 {
        return Err(format!(
            "cannot make a pipe for the browser: {}",
            std::io::Error::last_os_error()
        ));
    }
    // SAFETY: just made.
    Ok(unsafe { OwnedFd::from_raw_fd(new) })
}

/// The last lines Chromium printed, on one line.
fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let last = lines[lines.len().saturating_sub(3)..].join(" / ");
    if last.is_empty() {
        "it printed nothing".to_owned()
    } else {
        last
    }
}
