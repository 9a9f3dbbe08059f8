//! A small builder for integration tests: a project in a temp dir, stage files written into
//! it, and the real `gaterun` binary run on it.

#![allow(dead_code)]

pub mod pg_server;
pub mod pilot;
pub mod tmux;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub struct Project {
    pub dir: tempfile::TempDir,
}

impl Project {
    pub fn new() -> Self {
        Project {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Write `gates/<name>` with the given YAML.
    pub fn stage(&self, name: &str, yaml: &str) -> &Self {
        self.file(&format!("gates/{name}"), yaml)
    }

    pub fn file(&self, name: &str, text: &str) -> &Self {
        let path = self.path().join(name);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
        self
    }

    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(bin());
        c.args(args)
            .current_dir(self.path())
            .env_remove("GITHUB_ACTIONS")
            .env("NO_COLOR", "1");
        c
    }

    pub fn run(&self, args: &[&str]) -> Run {
        let out = self.cmd(args).output().expect("run gaterun");
        Run::from(out)
    }

    pub fn evidence(&self, rel: &str) -> PathBuf {
        self.path().join("evidence").join(rel)
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.evidence(rel))
            .unwrap_or_else(|e| panic!("read evidence/{rel}: {e}"))
    }

    pub fn results(&self, stage_dir: &str) -> serde_json::Value {
        serde_json::from_str(&self.read(&format!("phase-1/{stage_dir}/results.json")))
            .expect("results.json parses")
    }
}

/// Each gate's status and message from the stage's results.
pub fn outcomes(p: &Project) -> Vec<(String, String, String)> {
    let r = p.results("stage-00");
    r["gates"]
        .as_array()
        .expect("gates")
        .iter()
        .map(|g| {
            (
                g["id"].as_str().unwrap_or_default().to_owned(),
                g["status"].as_str().unwrap_or_default().to_owned(),
                g["message"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_gaterun"))
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Self {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl Run {
    #[track_caller]
    pub fn code(&self, want: i32) -> &Self {
        assert_eq!(
            self.code, want,
            "exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

/// Processes whose command line contains `marker`, other than ourselves.
/// A number no other test, and no other checkout's test run, uses: `sleep <marker>` sleeps for
/// ages and names its process in `/proc/*/cmdline`, so a survivor search finds only this
/// test's processes.
pub fn marker() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let mix = (u64::from(std::process::id()) << 20)
        ^ u64::from(nanos)
        ^ (u64::from(N.fetch_add(1, Ordering::Relaxed)) << 40);
    format!("9{:011}", mix % 100_000_000_000)
}

pub fn processes_with(marker: &str) -> Vec<String> {
    let mut found = Vec::new();
    let me = std::process::id().to_string();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.bytes().all(|b| b.is_ascii_digit()) || name == me {
            continue;
        }
        if let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) {
            let text = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            let zombie = std::fs::read_to_string(entry.path().join("stat"))
                .is_ok_and(|s| s.contains(") Z "));
            if text.contains(marker) && !zombie {
                found.push(format!("{name}: {text}"));
            }
        }
    }
    found
}

/// Validate a JUnit file against the project's schema with xmllint. Skips (with a printed
/// reason) when xmllint is absent, except under CI, where it must be there.
pub fn validate_junit(path: &Path) {
    let xsd = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/junit/junit-10-extended.xsd");
    let xsd = if xsd.exists() {
        xsd
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/junit-10-extended.xsd")
    };
    let out = Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(&xsd)
        .arg(path)
        .output();
    match out {
        Err(_) if std::env::var_os("CI").is_none() => eprintln!(
            "skipping JUnit schema validation: xmllint not found (apt-get install libxml2-utils)"
        ),
        Err(e) => panic!("xmllint is required under CI: {e}"),
        Ok(o) => assert!(
            o.status.success(),
            "{} does not validate:\n{}",
            path.display(),
            String::from_utf8_lossy(&o.stderr)
        ),
    }
}

/// The directory holding `initdb` and `pg_ctl`, or `None` with a printed reason (a failure
/// under CI, where PostgreSQL must be there).
pub fn postgres_bin() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p).find(|d| d.join("initdb").is_file() && d.join("pg_ctl").is_file())
    });
    let found = on_path.or_else(|| {
        let mut dirs: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .flatten()
            .filter_map(|e| {
                Some((
                    e.file_name().to_string_lossy().parse().ok()?,
                    e.path().join("bin"),
                ))
            })
            .filter(|(_, b): &(u32, PathBuf)| b.join("initdb").is_file())
            .collect();
        dirs.sort();
        dirs.pop().map(|(_, b)| b)
    });
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "PostgreSQL server binaries are required under CI"
        );
        eprintln!(
            "skipping: PostgreSQL server binaries (initdb, pg_ctl) not found; apt-get install postgresql"
        );
    }
    found
}

/// Processes named `postgres` whose command line mentions `needle`.
pub fn postgres_processes(needle: &str) -> Vec<String> {
    processes_with(needle)
        .into_iter()
        .filter(|p| p.contains("postgres"))
        .collect()
}

/// Whether `python3` runs here (the tests' HTTP service and migration tool are Python); a
/// printed skip reason when not, a failure under CI.
pub fn python3() -> bool {
    tool(
        "python3",
        &["python3", "--version"],
        "apt-get install python3",
    )
}

/// Whether a tool a test needs is here: `check` exits 0. A printed skip reason when not, a
/// failure under CI (where `.ci/run` installs it).
pub fn tool(what: &str, check: &[&str], install: &str) -> bool {
    let ok = Command::new(check[0])
        .args(&check[1..])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "{what} is required under CI ({install})"
        );
        eprintln!("skipping: {what} not found ({install})");
    }
    ok
}

/// Every file below `dir`.
pub fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = e.path();
        if path.is_dir() {
            collect_files(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// Run a command with a hang guard: killed (and the test failed) if it is not done within
/// `limit`. Returns what it printed and how long it took. Not a timing assertion: the limit
/// is there so a hang fails the test instead of stalling CI.
pub fn run_guarded(cmd: &mut Command, limit: std::time::Duration) -> (Run, std::time::Duration) {
    use std::process::Stdio;
    let start = std::time::Instant::now();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn gaterun");
    // Drain the pipes on threads so a chatty child cannot block on a full pipe.
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let t_out = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = std::io::Read::read_to_end(&mut out, &mut v);
        v
    });
    let t_err = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = std::io::Read::read_to_end(&mut err, &mut v);
        v
    });
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} did not finish within {limit:?}: a hang");
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    let took = start.elapsed();
    let run = Run::from(Output {
        status,
        stdout: t_out.join().expect("stdout thread"),
        stderr: t_err.join().expect("stderr thread"),
    });
    (run, took)
}

/// Wait until `path` exists (a gate's sign that it started), at most 20 s.
pub fn wait_for_file(path: &Path) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !path.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// A small tmpfs mounted over a directory (root only).
pub struct Tmpfs(std::path::PathBuf);
impl Tmpfs {
    pub fn mount(dir: &Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(dir).expect("mkdir");
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            assert!(
                std::env::var_os("CI").is_none(),
                "mounting a tmpfs is required under CI (run as root)"
            );
            eprintln!("skipping: cannot mount a tmpfs here (needs root)");
            return None;
        }
        Some(Tmpfs(dir.to_path_buf()))
    }
}
impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

impl Project {
    /// Start `gaterun ARGS`, wait for `started` (a file the gate writes), send `signal` once,
    /// and wait for gaterun to end.
    /// `args` run with their output kept; SIGINT once the file `started` exists (a gate made
    /// it); the whole output when gaterun has exited.
    pub fn interrupt_after(&self, args: &[&str], started: &str) -> Output {
        let child = self
            .cmd(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn");
        wait_for_file(&self.path().join(started));
        rustix::process::kill_process(
            rustix::process::Pid::from_child(&child),
            rustix::process::Signal::INT,
        )
        .expect("kill");
        child.wait_with_output().expect("wait")
    }

    pub fn signal_after(
        &self,
        args: &[&str],
        started: &str,
        signal: rustix::process::Signal,
    ) -> std::process::ExitStatus {
        let mut child = self
            .cmd(args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn");
        wait_for_file(&self.path().join(started));
        rustix::process::kill_process(rustix::process::Pid::from_child(&child), signal)
            .expect("kill");
        child.wait().expect("wait")
    }
}
