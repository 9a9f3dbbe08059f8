//! Running a template's `init`: SQL files in order, or a shell command (`sh -c`, in the gate's
//! workdir) contained like any gate's — a token of its own, its own process group, the run's
//! cgroups or PID namespace — and everything it started killed when it exits, runs out of
//! time or the run stops. Its environment is gaterun's, without any declared secret (the
//! template is shared by gates that may not declare them), with `PROJECT_ROOT`, a `TMPDIR` of
//! its own and the template database's variables (`DATABASE_URL`, `PG*` or `DATABASE_PATH`).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::watch;

use crate::config::{Command, DbInit};
use crate::database::pgtemplate::InitTarget;
use crate::process::{self, CappedBuffer};
use crate::runner::command::gate_command;
use crate::steps::cancelled;
use crate::vars::Vars;

/// What an init keeps of its output (it goes to the log of every gate that uses it).
const OUTPUT_CAP: usize = 256 << 10;
/// How long an init's processes get between SIGTERM and SIGKILL.
const GRACE: Duration = Duration::from_secs(2);
/// The most an SQL file may hold.
const SQL_CAP: u64 = 64 << 20;

pub struct Init {
    pub init: Arc<DbInit>,
    pub workdir: PathBuf,
    pub deadline: Instant,
    /// What the deadline is, for its message.
    pub timeout: Duration,
    pub tmp: PathBuf,
    pub project_root: PathBuf,
    /// Declared secrets: not in the init's environment.
    pub hidden: Vec<String>,
    pub cancel: watch::Receiver<bool>,
    pub stop: watch::Receiver<bool>,
    /// What the init printed (and which SQL file ran), for the gates' logs.
    pub output: Arc<Mutex<String>>,
}

impl Init {
    pub async fn run(&self, target: InitTarget) -> Result<(), String> {
        match &*self.init {
            DbInit::Sql(files) => self.sql(files, &target).await,
            DbInit::Run { command, .. } => self.command(command, target).await,
        }
    }

    fn timed_out(&self) -> String {
        format!(
            "database init timed out after {} (the timeout of the gate that started it)",
            humantime::format_duration(self.timeout)
        )
    }

    fn say(&self, text: &str) {
        let mut out = self.output.lock().unwrap_or_else(|e| e.into_inner());
        out.push_str(text);
    }

    async fn sql(&self, files: &[String], target: &InitTarget) -> Result<(), String> {
        for file in files {
            let path = self.workdir.join(file);
            let bytes = crate::files::read_regular(&path, SQL_CAP)
                .map_err(|e| format!("database init: {file}: {}", e.reason()))?;
            let text = String::from_utf8(bytes)
                .map_err(|_| format!("database init: {file}: not UTF-8 text"))?;
            self.say(&format!("init: {file}\n"));
            let mut cancel = self.cancel.clone();
            let mut stop = self.stop.clone();
            tokio::select! {
                r = target.run_sql(&text) => r.map_err(|e| format!("database init failed: {file}: {e}"))?,
                _ = tokio::time::sleep_until(self.deadline.into()) => return Err(format!("{} in {file}", self.timed_out())),
                _ = cancelled(&mut cancel) => return Err("database init interrupted".to_owned()),
                _ = cancelled(&mut stop) => return Err("database init interrupted".to_owned()),
            }
        }
        Ok(())
    }

    async fn command(&self, command: &str, target: InitTarget) -> Result<(), String> {
        std::fs::create_dir_all(&self.tmp)
            .map_err(|e| format!("failed to create {}: {e}", self.tmp.display()))?;
        let mut vars: Vars = std::env::vars().collect();
        vars.remove(process::TOKEN_VAR);
        for name in &self.hidden {
            vars.remove(name);
        }
        vars.insert(
            "PROJECT_ROOT".to_owned(),
            self.project_root.display().to_string(),
        );
        vars.insert("TMPDIR".to_owned(), self.tmp.display().to_string());
        vars.extend(target.vars);
        let token = process::new_token();
        process::open_gate(&token)?;
        let outcome = self.contained(command, &vars, &token).await;
        let (_, problem) = process::close_gate(&token);
        process::forget_token(&token);
        if let Some(problem) = problem {
            self.say(&format!("── init teardown: {problem}\n"));
        }
        outcome
    }

    async fn contained(&self, command: &str, vars: &Vars, token: &str) -> Result<(), String> {
        let shell = Command::Shell(command.to_owned());
        let mut cmd =
            gate_command(&shell, vars, token, &self.workdir).map_err(|e| e.to_string())?;
        let mut child = process::spawn(&mut cmd)
            .map_err(|e| format!("database init: failed to start `sh`: {e}"))?;
        let pid = child.id();
        let buffer = Arc::new(Mutex::new(CappedBuffer::new(OUTPUT_CAP)));
        let mut readers = Vec::new();
        if let Some(out) = child.stdout.take() {
            readers.push(tokio::spawn(pump(out, buffer.clone())));
        }
        if let Some(err) = child.stderr.take() {
            readers.push(tokio::spawn(pump(err, buffer.clone())));
        }
        let (mut cancel, mut stop) = (self.cancel.clone(), self.stop.clone());
        let ended = tokio::select! {
            s = child.wait() => s.map_err(|e| format!("database init: failed to wait for `sh`: {e}")),
            _ = tokio::time::sleep_until(self.deadline.into()) => Err(self.timed_out()),
            _ = cancelled(&mut cancel) => Err("database init interrupted".to_owned()),
            _ = cancelled(&mut stop) => Err("database init interrupted".to_owned()),
        };
        // Whatever it left running goes, before the template is sealed or dropped.
        let groups: Vec<u32> = pid.into_iter().collect();
        let problem = process::terminate(token, &groups, GRACE).await;
        let _ = child.wait().await;
        process::release(pid);
        for r in readers {
            let _ = tokio::time::timeout(Duration::from_millis(500), r).await;
        }
        let text = buffer.lock().unwrap_or_else(|e| e.into_inner()).to_text();
        self.say(&text);
        if let Some(p) = problem {
            self.say(&format!("── init teardown: {p}\n"));
        }
        let status = ended?;
        if status.success() {
            return Ok(());
        }
        let how = match status.code() {
            Some(code) => format!("exited {code}"),
            None => {
                use std::os::unix::process::ExitStatusExt;
                format!("was killed by signal {}", status.signal().unwrap_or(0))
            }
        };
        // The last line that says "error", else the last line.
        let lines = || text.lines().rev().map(str::trim).filter(|l| !l.is_empty());
        let last = lines()
            .find(|l| l.to_ascii_lowercase().contains("error"))
            .or_else(|| lines().next())
            .map(|l| format!(": {}", crate::text::sanitize(l)))
            .unwrap_or_default();
        Err(format!("database init `{command}` {how}{last}"))
    }
}

/// Copy a pipe into the init's buffer until EOF.
async fn pump(mut pipe: impl AsyncRead + Unpin, buffer: Arc<Mutex<CappedBuffer>>) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        match pipe.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => buffer
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(&buf[..n]),
        }
    }
}
