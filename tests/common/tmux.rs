//! A real terminal for tests: a tmux server of the test's own, a 120×40 pane running a shell
//! line, and its screen read back. Under CI tmux must be there (.ci/run installs it); elsewhere
//! a test without it skips with a printed reason.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

/// Is tmux here? Panics under CI when it is not.
pub fn available() -> bool {
    if Command::new("tmux").arg("-V").output().is_ok() {
        return true;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "tmux is needed under CI"
    );
    eprintln!("skipping: no tmux");
    false
}

/// A tmux server on a socket in `dir`, killed when dropped.
pub struct Tmux {
    socket: PathBuf,
}

impl Tmux {
    /// A socket of its own each time: a new server on the socket of one just killed may find
    /// it still going away.
    pub fn new(dir: &Path) -> Self {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        Tmux {
            socket: dir.join(format!("tmux-{n}.sock")),
        }
    }

    pub fn run(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("tmux")
    }

    /// `script` (a shell line) in a 120×40 terminal, in session `t`.
    pub fn start(&self, script: &str) {
        self.start_sized(script, 120);
    }

    /// `script` in a terminal `columns` wide and 40 high, in session `t`.
    pub fn start_sized(&self, script: &str, columns: u16) {
        let started = self.run(&[
            "new-session",
            "-d",
            "-s",
            "t",
            "-x",
            &columns.to_string(),
            "-y",
            "40",
            script,
        ]);
        assert!(started.status.success(), "{started:?}");
    }

    /// The screen once it shows `marker` (at most 30 s).
    pub fn screen_when(&self, marker: &str) -> String {
        self.screen(marker, false)
    }

    /// The screen once it shows `marker` (at most 30 s), with its escapes when `escapes`.
    pub fn screen(&self, marker: &str, escapes: bool) -> String {
        let mut args = vec!["capture-pane", "-p", "-t", "t"];
        if escapes {
            args.push("-e");
        }
        let mut screen = String::new();
        for _ in 0..300 {
            std::thread::sleep(Duration::from_millis(100));
            screen = String::from_utf8_lossy(&self.run(&args).stdout).into_owned();
            if screen.contains(marker) {
                break;
            }
        }
        screen
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
    }
}
