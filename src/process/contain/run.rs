//! The run's containment: the mechanism chosen once per gaterun process (cgroup v2, cgroup
//! v1, a PID namespace, or the token search alone), and the run's own cgroups (`gaterun-<run
//! id>`) that gates' cgroups are made in, proven joinable before they are chosen.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use super::join::{join_closure, open_procs};
use super::mounts::own_dirs;
use super::tree::remove_tree;

/// The mechanism that holds gates' processes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Containment {
    Cgroup2,
    Cgroup1,
    PidNamespace,
    Token,
}

impl Containment {
    /// As results.json records it.
    pub fn as_str(self) -> &'static str {
        match self {
            Containment::Cgroup2 => "cgroup2",
            Containment::Cgroup1 => "cgroup1",
            Containment::PidNamespace => "pid-namespace",
            Containment::Token => "token",
        }
    }
}

/// What the command line asked for (`--containment`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    Auto,
    Cgroup,
    /// Only v2, or only v1: for tests of each on a machine that has both.
    Cgroup2,
    Cgroup1,
    PidNamespace,
    Token,
}

/// The run's containment: its mechanism and, for cgroups, the run's cgroup directories.
#[derive(Debug)]
pub struct RunCgroups {
    pub kind: Containment,
    /// The directory gates' cgroups are made in and read from (v2, or the v1 freezer).
    pub(super) main: Option<PathBuf>,
    /// v1 `pids`: joined too, not read.
    pub(super) pids: Option<PathBuf>,
    /// v1 `memory`, when the main cgroup has no `memory.peak`.
    pub(super) memory: Option<PathBuf>,
    /// v1 `cpuacct`, when the main cgroup has no `cpu.stat`.
    pub(super) cpuacct: Option<PathBuf>,
    /// One line for people: the mechanism and where.
    pub description: String,
}

/// Chosen once per gaterun process (at start-up, from `--containment`): a property of the run.
static RUN: OnceLock<RunCgroups> = OnceLock::new();

/// The mechanism chosen, `Token` before [`choose`].
pub fn chosen() -> Containment {
    RUN.get().map_or(Containment::Token, |r| r.kind)
}

/// The mechanism chosen, `None` before [`choose`] (a run that starts no process never does).
pub fn chosen_if_any() -> Option<Containment> {
    RUN.get().map(|r| r.kind)
}

/// The run's containment, once chosen.
pub fn run() -> Option<&'static RunCgroups> {
    RUN.get()
}

/// Choose the mechanism for this gaterun process, once; an explicit request that cannot be
/// met is an error with the reason.
pub fn choose(request: Request) -> Result<&'static RunCgroups, String> {
    if let Some(r) = RUN.get() {
        return Ok(r);
    }
    let chosen = match request {
        Request::Token => token_only(),
        Request::PidNamespace => {
            pid_namespace().map_err(|why| format!("no PID namespace: {why}"))?
        }
        Request::Cgroup => {
            cgroups(true, true).map_err(|why| format!("no cgroup for gates: {why}"))?
        }
        Request::Cgroup2 => {
            cgroups(true, false).map_err(|why| format!("no cgroup for gates: {why}"))?
        }
        Request::Cgroup1 => {
            cgroups(false, true).map_err(|why| format!("no cgroup for gates: {why}"))?
        }
        Request::Auto => match cgroups(true, true) {
            Ok(chosen) => chosen,
            Err(cgroup) => pid_namespace().unwrap_or_else(|namespace| {
                let mut t = token_only();
                t.description = format!(
                    "{} (no cgroup: {cgroup}; no PID namespace: {namespace})",
                    t.description
                );
                t
            }),
        },
    };
    Ok(RUN.get_or_init(|| chosen))
}

/// The PID-namespace fallback (`pidns/`), if this machine lets gaterun make one.
fn pid_namespace() -> Result<RunCgroups, String> {
    let description = crate::process::pidns::available()?;
    Ok(RunCgroups {
        kind: Containment::PidNamespace,
        main: None,
        pids: None,
        memory: None,
        cpuacct: None,
        description: format!("processes contained by {description}"),
    })
}

fn token_only() -> RunCgroups {
    RunCgroups {
        kind: Containment::Token,
        main: None,
        pids: None,
        memory: None,
        cpuacct: None,
        description: "processes found by their GATERUN_GATE token".to_owned(),
    }
}

/// Remove the run's cgroups (every gate's is gone by now). Bounded; best effort.
pub fn close_run() {
    if let Some(r) = RUN.get() {
        for dir in [&r.main, &r.pids, &r.memory, &r.cpuacct]
            .into_iter()
            .flatten()
        {
            let _ = remove_tree(dir, Duration::from_secs(1));
        }
    }
}

fn run_name() -> String {
    format!("gaterun-{}", crate::process::token::run_id())
}

/// A run cgroup in `parent`, made and proven: a child process can join it (and `check`
/// holds). Removed again if not.
fn make_run_dir(
    parent: &Path,
    check: impl Fn(&Path) -> Result<(), String>,
) -> Result<PathBuf, String> {
    let dir = parent.join(run_name());
    std::fs::create_dir(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    match check(&dir).and_then(|()| prove_joinable(&dir)) {
        Ok(()) => Ok(dir),
        Err(e) => {
            let _ = std::fs::remove_dir(&dir);
            Err(e)
        }
    }
}

/// Fork a child that joins `dir` as a gate's process does before exec, then exits: the proof
/// that gates can. It execs nothing (a shell would cost the run a millisecond per proof): a
/// child that exits without exec reads, to `status`, as one that exec'd and exited 0, and a
/// failed join is reported as a failed spawn.
fn prove_joinable(dir: &Path) -> Result<(), String> {
    let fd =
        open_procs(dir).map_err(|e| format!("cannot open {}/cgroup.procs: {e}", dir.display()))?;
    let joins = Arc::new(vec![(fd, true)]);
    let mut cmd = std::process::Command::new(crate::process::shell::shell());
    cmd.stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut join = join_closure(joins);
    // SAFETY: the closure makes only `write` and `_exit` system calls (async-signal-safe)
    // and allocates nothing.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut cmd, move || {
            join()?;
            libc::_exit(0)
        });
    }
    let status = cmd
        .status()
        .map_err(|e| format!("a process cannot join {}: {e}", dir.display()))?;
    if !status.success() {
        return Err(format!(
            "a test process in {} failed ({status})",
            dir.display()
        ));
    }
    Ok(())
}
/// cgroup v2 if gaterun may make and join a child of its own cgroup, else v1 `freezer` (with
/// `pids`); plus the v1 `memory` and `cpuacct` hierarchies for what v2 does not measure.
fn cgroups(v2: bool, v1: bool) -> Result<RunCgroups, String> {
    let own = own_dirs();
    let mut reasons = Vec::new();
    let mut chosen = None;
    if v2 && let Some(parent) = &own.v2 {
        let kill = |dir: &Path| {
            if dir.join("cgroup.kill").exists() {
                Ok(())
            } else {
                Err(format!(
                    "{} has no cgroup.kill (Linux before 5.14)",
                    dir.display()
                ))
            }
        };
        match make_run_dir(parent, kill) {
            Ok(dir) => chosen = Some((Containment::Cgroup2, dir)),
            Err(e) => reasons.push(format!("cgroup v2: {e}")),
        }
    } else if v2 {
        reasons.push("cgroup v2: not mounted, or gaterun's cgroup is not visible".to_owned());
    }
    if chosen.is_none() && v1 {
        match own.v1("freezer") {
            Some(parent) => match make_run_dir(parent, |_| Ok(())) {
                Ok(dir) => chosen = Some((Containment::Cgroup1, dir)),
                Err(e) => reasons.push(format!("cgroup v1: {e}")),
            },
            None => reasons.push("cgroup v1: no freezer hierarchy".to_owned()),
        }
    }
    let Some((kind, main)) = chosen else {
        return Err(reasons.join("; "));
    };
    // Extras only measure (or, for pids, add nothing gaterun relies on): best effort.
    let extra = |controller: &str| {
        own.v1(controller)
            .and_then(|p| make_run_dir(p, |_| Ok(())).ok())
    };
    let pids = (kind == Containment::Cgroup1)
        .then(|| extra("pids"))
        .flatten();
    let memory = if main.join("memory.peak").exists() {
        None
    } else {
        extra("memory")
    };
    let cpuacct = if main.join("cpu.stat").exists() {
        None
    } else {
        extra("cpuacct")
    };
    let what = match kind {
        Containment::Cgroup2 => "cgroup v2",
        _ => "cgroup v1",
    };
    let description = format!("processes contained by {what} ({})", main.display());
    Ok(RunCgroups {
        kind,
        main: Some(main),
        pids,
        memory,
        cpuacct,
        description,
    })
}
