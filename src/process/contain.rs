//! Containment: what holds every process of a gate, so that none outlives it whatever it does
//! to its environment, process group, title or pid.
//!
//! Chosen once per gaterun process ([`choose`]), best first:
//! - **cgroup v2**, where gaterun may create a child of its own cgroup (root, or a delegated
//!   subtree): a run cgroup `gaterun-<run id>` beside gaterun, and in it one cgroup per gate,
//!   `gate-<n>`. Every process gaterun spawns for the gate joins it in the child, before
//!   `exec` (`pre_exec` writes `0` to the gate's `cgroup.procs`, opened beforehand), so it and
//!   all it ever forks are in the gate's cgroup from their first instruction. Teardown: SIGTERM
//!   to every member, the grace, then `cgroup.freeze` and `cgroup.kill`, and wait until the
//!   cgroup is empty.
//! - **cgroup v1** as root: the same in the `freezer` hierarchy (and `pids`); the kill freezes
//!   the cgroup, SIGKILLs each member while none can fork, then thaws it.
//! - a **PID namespace** per gate (`pidns.rs`; in a user namespace when not root), else
//! - the **token** search alone: every process inherits `GATERUN_GATE=<token>` and is found in
//!   `/proc` by it (see `mod.rs`) — blind to a process that clears or overwrites its
//!   environment.
//!
//! The token and the process groups stay in every mode (defence in depth). Peak memory and CPU
//! time are read from the gate's cgroups where they give them: v2 `memory.peak` and
//! `cpu.stat`, else the v1 `memory` and `cpuacct` hierarchies, which a gate joins too when
//! gaterun may create cgroups there.
//!
//! Under the PID namespace, `gate_command` wraps every command in gaterun's joiner
//! (`pidns::command`), `process::terminate` signals the namespace's pid 1, and no usage is
//! measured.

use std::io;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

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
    main: Option<PathBuf>,
    /// v1 `pids`: joined too, not read.
    pids: Option<PathBuf>,
    /// v1 `memory`, when the main cgroup has no `memory.peak`.
    memory: Option<PathBuf>,
    /// v1 `cpuacct`, when the main cgroup has no `cpu.stat`.
    cpuacct: Option<PathBuf>,
    /// One line for people: the mechanism and where.
    pub description: String,
}

static RUN: OnceLock<RunCgroups> = OnceLock::new();

/// The mechanism chosen, `Token` before [`choose`].
pub fn chosen() -> Containment {
    RUN.get().map_or(Containment::Token, |r| r.kind)
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

/// The PID-namespace fallback (`pidns.rs`), if this machine lets gaterun make one.
fn pid_namespace() -> Result<RunCgroups, String> {
    let description = super::pidns::available()?;
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

/// A hierarchy mounted on this machine: its mount point, the path of its root within the
/// hierarchy, and what it is (`cgroup2`, or the v1 controllers it carries).
#[derive(Debug, Clone, PartialEq)]
struct Mount {
    point: PathBuf,
    root: String,
    v2: bool,
    options: Vec<String>,
}

/// The cgroup mounts in a `/proc/self/mountinfo` text.
fn parse_mounts(mountinfo: &str) -> Vec<Mount> {
    let mut out = Vec::new();
    for line in mountinfo.lines() {
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let fields: Vec<&str> = left.split(' ').collect();
        let rfields: Vec<&str> = right.split(' ').collect();
        let (Some(root), Some(point), Some(fstype)) =
            (fields.get(3), fields.get(4), rfields.first())
        else {
            continue;
        };
        let v2 = *fstype == "cgroup2";
        if !v2 && *fstype != "cgroup" {
            continue;
        }
        out.push(Mount {
            point: PathBuf::from(unescape(point)),
            root: unescape(root),
            v2,
            options: rfields
                .get(2)
                .map(|o| o.split(',').map(str::to_owned).collect())
                .unwrap_or_default(),
        });
    }
    out
}

/// mountinfo writes a space, tab, newline and backslash as `\ooo`.
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            let v = (b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0');
            out.push(v);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// gaterun's own cgroup per hierarchy, from `/proc/self/cgroup`: `("", path)` for v2, and
/// `(controllers, path)` for each v1 line.
fn parse_self(cgroup: &str) -> Vec<(String, String)> {
    cgroup
        .lines()
        .filter_map(|l| {
            let mut parts = l.splitn(3, ':');
            let _id = parts.next()?;
            let controllers = parts.next()?.to_owned();
            let path = parts.next()?.to_owned();
            Some((controllers, path))
        })
        .collect()
}

/// The directory of gaterun's own cgroup in `mount`, when it is visible there.
fn own_dir(mount: &Mount, path: &str) -> Option<PathBuf> {
    let root = mount.root.trim_end_matches('/');
    let rel = path.strip_prefix(root)?;
    if !rel.is_empty() && !rel.starts_with('/') {
        return None;
    }
    Some(mount.point.join(rel.trim_start_matches('/')))
}

/// gaterun's own cgroup directories: v2, then each v1 controller (or `name=`) by name.
#[derive(Debug, Default)]
struct OwnDirs {
    v2: Option<PathBuf>,
    v1: Vec<(String, PathBuf)>,
}

fn own_dirs() -> OwnDirs {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let cgroup = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    own_dirs_from(&parse_mounts(&mountinfo), &parse_self(&cgroup))
}

fn own_dirs_from(mounts: &[Mount], own: &[(String, String)]) -> OwnDirs {
    let mut dirs = OwnDirs::default();
    for (controllers, path) in own {
        if controllers.is_empty() {
            dirs.v2 = mounts
                .iter()
                .filter(|m| m.v2)
                .find_map(|m| own_dir(m, path));
            continue;
        }
        for c in controllers.split(',') {
            if let Some(dir) = mounts
                .iter()
                .filter(|m| !m.v2 && m.options.iter().any(|o| o == c))
                .find_map(|m| own_dir(m, path))
            {
                dirs.v1.push((c.to_owned(), dir));
            }
        }
    }
    dirs
}

impl OwnDirs {
    fn v1(&self, controller: &str) -> Option<&Path> {
        self.v1
            .iter()
            .find(|(c, _)| c == controller)
            .map(|(_, d)| d.as_path())
    }
}

fn run_name() -> String {
    format!("gaterun-{}", super::run_id())
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

/// Spawn a trivial child that joins `dir` before exec: the proof that gates can.
fn prove_joinable(dir: &Path) -> Result<(), String> {
    let fd =
        open_procs(dir).map_err(|e| format!("cannot open {}/cgroup.procs: {e}", dir.display()))?;
    let joins = Arc::new(vec![(fd, true)]);
    let mut cmd = std::process::Command::new(super::shell());
    cmd.arg("-c").arg(":");
    cmd.stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    // SAFETY: the closure makes only `write` system calls (async-signal-safe) and allocates
    // nothing.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut cmd, join_closure(joins));
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

/// The function a child runs before `exec`: write `0` (itself) to each `cgroup.procs`.
fn join_closure(
    joins: Arc<Vec<(OwnedFd, bool)>>,
) -> impl FnMut() -> io::Result<()> + Send + Sync + 'static {
    move || {
        for (fd, required) in joins.iter() {
            if let Err(e) = rustix::io::write(fd, b"0")
                && *required
            {
                return Err(io::Error::from_raw_os_error(e.raw_os_error()));
            }
        }
        Ok(())
    }
}

fn open_procs(dir: &Path) -> io::Result<OwnedFd> {
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(dir.join("cgroup.procs"))?;
    Ok(f.into())
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

/// One gate's cgroups.
#[derive(Debug)]
pub struct GateCgroup {
    kind: Containment,
    main: PathBuf,
    pids: Option<PathBuf>,
    memory: Option<PathBuf>,
    cpuacct: Option<PathBuf>,
    /// `cgroup.procs` of each, opened once; `true` where joining is required.
    joins: Arc<Vec<(OwnedFd, bool)>>,
}

/// Peak memory and CPU time of a gate, where its cgroups give them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub peak_memory_bytes: Option<u64>,
    pub cpu_time_ms: Option<u64>,
}

static GATES: Mutex<Vec<(String, Arc<GateCgroup>)>> = Mutex::new(Vec::new());

fn gates() -> MutexGuard<'static, Vec<(String, Arc<GateCgroup>)>> {
    GATES.lock().unwrap_or_else(|e| e.into_inner())
}

/// The cgroups of the gate with `token`, if it has some.
pub fn gate_of(token: &str) -> Option<Arc<GateCgroup>> {
    gates()
        .iter()
        .find(|(t, _)| t == token)
        .map(|(_, g)| g.clone())
}

/// Make the gate's cgroups (none under the token search). Every command made for `token` by
/// [`super::gate_command`] joins them from now on, until [`finish`].
pub fn open_gate(token: &str) -> Result<(), String> {
    let Some(run) = RUN.get() else {
        return Ok(());
    };
    let Some(main_parent) = &run.main else {
        return Ok(());
    };
    let n = token.rsplit('-').next().unwrap_or(token);
    let name = format!("gate-{n}");
    let mut made: Vec<PathBuf> = Vec::new();
    let result = (|| {
        let mut make = |parent: &Path| -> Result<PathBuf, String> {
            let dir = parent.join(&name);
            std::fs::create_dir(&dir).map_err(|e| {
                format!("failed to create the gate's cgroup {}: {e}", dir.display())
            })?;
            made.push(dir.clone());
            Ok(dir)
        };
        let main = make(main_parent)?;
        let mut joins = vec![(
            open_procs(&main)
                .map_err(|e| format!("cannot open {}/cgroup.procs: {e}", main.display()))?,
            true,
        )];
        let mut optional = |parent: &Option<PathBuf>| -> Option<PathBuf> {
            let dir = make(parent.as_ref()?).ok()?;
            let fd = open_procs(&dir).ok()?;
            joins.push((fd, false));
            Some(dir)
        };
        let pids = optional(&run.pids);
        let memory = optional(&run.memory);
        let cpuacct = optional(&run.cpuacct);
        Ok(GateCgroup {
            kind: run.kind,
            main,
            pids,
            memory,
            cpuacct,
            joins: Arc::new(joins),
        })
    })();
    match result {
        Ok(g) => {
            gates().push((token.to_owned(), Arc::new(g)));
            Ok(())
        }
        Err(e) => {
            for d in made.iter().rev() {
                let _ = std::fs::remove_dir(d);
            }
            Err(e)
        }
    }
}

/// The gate is over and its processes are gone: read its usage, remove its cgroups. A cgroup
/// that will not go (a process that refuses to die) is named.
pub fn finish(token: &str) -> (Usage, Option<String>) {
    let gate = {
        let mut g = gates();
        let i = g.iter().position(|(t, _)| t == token);
        i.map(|i| g.remove(i).1)
    };
    let Some(gate) = gate else {
        return (Usage::default(), None);
    };
    let usage = gate.usage();
    let mut problem = None;
    for dir in [
        Some(&gate.main),
        gate.pids.as_ref(),
        gate.memory.as_ref(),
        gate.cpuacct.as_ref(),
    ]
    .into_iter()
    .flatten()
    {
        if let Err(e) = remove_tree(dir, Duration::from_secs(2)) {
            problem.get_or_insert(e);
        }
    }
    (usage, problem)
}

impl GateCgroup {
    /// Make `cmd`'s process join the gate's cgroups before it runs anything.
    pub fn prepare(&self, cmd: &mut tokio::process::Command) {
        // SAFETY: the closure makes only `write` system calls on descriptors opened
        // beforehand (async-signal-safe) and allocates nothing.
        unsafe {
            cmd.pre_exec(join_closure(self.joins.clone()));
        }
    }

    /// Make `cmd`'s process (a service's command) join the service's own cgroup in the gate's,
    /// `svc-<name>`, after the gate's: what it daemonizes, whatever its title or environment,
    /// is known as the service's (its listener, its `stop`).
    pub fn prepare_service(
        &self,
        name: &str,
        cmd: &mut tokio::process::Command,
    ) -> Result<(), String> {
        let dir = self.service_dir(name);
        if let Err(e) = std::fs::create_dir(&dir)
            && e.kind() != io::ErrorKind::AlreadyExists
        {
            return Err(format!(
                "failed to create the cgroup {}: {e}",
                dir.display()
            ));
        }
        let fd = open_procs(&dir)
            .map_err(|e| format!("cannot open {}/cgroup.procs: {e}", dir.display()))?;
        // SAFETY: as in `prepare`.
        unsafe {
            cmd.pre_exec(join_closure(Arc::new(vec![(fd, true)])));
        }
        Ok(())
    }

    fn service_dir(&self, name: &str) -> PathBuf {
        self.main.join(format!("svc-{name}"))
    }

    /// The processes in service `name`'s cgroup.
    pub fn service_procs(&self, name: &str) -> Vec<i32> {
        let mut out = Vec::new();
        procs_under(&self.service_dir(name), &mut out);
        out
    }

    /// Kill everything in service `name`'s cgroup at once.
    pub fn kill_service(&self, name: &str) {
        let dir = self.service_dir(name);
        if dir.is_dir() {
            kill_tree(&dir);
        }
    }

    /// Every process in the gate's cgroup and the cgroups below it (a service's, or one a
    /// root process made).
    pub fn procs(&self) -> Vec<i32> {
        let mut out = Vec::new();
        procs_under(&self.main, &mut out);
        out
    }

    /// Whether no process is left in the gate's cgroup.
    pub fn is_empty(&self) -> bool {
        if self.kind == Containment::Cgroup2
            && let Ok(events) = std::fs::read_to_string(self.main.join("cgroup.events"))
        {
            return events.lines().any(|l| l.trim() == "populated 0");
        }
        self.procs().is_empty()
    }

    /// Kill every process of the gate at once: frozen first, so none forks meanwhile.
    pub fn kill_all(&self) {
        match self.kind {
            Containment::Cgroup2 => {
                let _ = std::fs::write(self.main.join("cgroup.freeze"), "1");
                let _ = std::fs::write(self.main.join("cgroup.kill"), "1");
                // Thawed again: a process that joined a frozen cgroup before its `exec` would
                // stop there, and its spawn with it.
                let _ = std::fs::write(self.main.join("cgroup.freeze"), "0");
            }
            _ => kill_v1(&self.main, Duration::from_millis(200)),
        }
    }

    /// Peak memory and CPU time, where the cgroups give them.
    pub fn usage(&self) -> Usage {
        let read_u64 =
            |p: PathBuf| -> Option<u64> { std::fs::read_to_string(p).ok()?.trim().parse().ok() };
        let peak_memory_bytes = read_u64(self.main.join("memory.peak")).or_else(|| {
            self.memory
                .as_ref()
                .and_then(|m| read_u64(m.join("memory.max_usage_in_bytes")))
        });
        let cpu_time_ms = std::fs::read_to_string(self.main.join("cpu.stat"))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("usage_usec "))
                    .and_then(|v| v.trim().parse::<u64>().ok())
            })
            .map(|us| us / 1000)
            .or_else(|| {
                self.cpuacct
                    .as_ref()
                    .and_then(|c| read_u64(c.join("cpuacct.usage")))
                    .map(|ns| ns / 1_000_000)
            });
        Usage {
            peak_memory_bytes,
            cpu_time_ms,
        }
    }
}

/// The pids in `dir`'s `cgroup.procs` and its descendants' (a root process may make some).
fn procs_under(dir: &Path, out: &mut Vec<i32>) {
    let mut dirs = Vec::new();
    collect_dirs(dir, &mut dirs);
    for d in dirs {
        if let Ok(text) = std::fs::read_to_string(d.join("cgroup.procs")) {
            out.extend(
                text.split_whitespace()
                    .filter_map(|p| p.parse::<i32>().ok()),
            );
        }
    }
}

/// v1: freeze `dir` (waiting up to `wait` for it to be frozen), SIGKILL every member, thaw.
fn kill_v1(dir: &Path, wait: Duration) {
    let state = dir.join("freezer.state");
    let frozen = std::fs::write(&state, "FROZEN").is_ok();
    if frozen {
        let start = Instant::now();
        while start.elapsed() < wait
            && std::fs::read_to_string(&state).is_ok_and(|s| s.trim() != "FROZEN")
        {
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    let mut pids = Vec::new();
    procs_under(dir, &mut pids);
    super::signal_pids(&pids, rustix::process::Signal::KILL);
    if frozen {
        let _ = std::fs::write(&state, "THAWED");
    }
}

/// Kill whatever is in `dir` and below, then remove the directories, deepest first; retried
/// for up to `wait` (a killed process leaves its cgroup a moment after the signal).
fn remove_tree(dir: &Path, wait: Duration) -> Result<(), String> {
    let start = Instant::now();
    loop {
        let mut subdirs = Vec::new();
        collect_dirs(dir, &mut subdirs);
        let mut busy = None;
        for d in subdirs.iter().rev() {
            if let Err(e) = std::fs::remove_dir(d)
                && e.kind() != io::ErrorKind::NotFound
            {
                busy = Some(e);
            }
        }
        match busy {
            None => return Ok(()),
            Some(e) if start.elapsed() >= wait => {
                let mut pids = Vec::new();
                procs_under(dir, &mut pids);
                return Err(format!(
                    "the cgroup {} could not be removed ({e}); processes still in it: {pids:?}",
                    dir.display()
                ));
            }
            Some(_) => {
                kill_tree(dir);
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
}

/// Kill everything in a cgroup directory, whichever hierarchy it is in.
fn kill_tree(dir: &Path) {
    if dir.join("cgroup.kill").exists() {
        let _ = std::fs::write(dir.join("cgroup.kill"), "1");
    } else if dir.join("freezer.state").exists() {
        kill_v1(dir, Duration::from_millis(200));
    } else {
        let mut pids = Vec::new();
        procs_under(dir, &mut pids);
        super::signal_pids(&pids, rustix::process::Signal::KILL);
    }
}

/// `dir` and every directory below it, parents before children. A loop, not a recursion: a
/// gate's root process may nest cgroups as deep as it likes (the kernel has no limit by
/// default), and one it hid below a bounded walk was never signalled (v1) nor removed (v2).
/// cgroupfs has no links, so the walk ends; it is bounded in count all the same.
fn collect_dirs(dir: &Path, out: &mut Vec<PathBuf>) {
    const MAX_DIRS: usize = 1 << 20;
    if !dir.is_dir() {
        return;
    }
    let first = out.len();
    out.push(dir.to_path_buf());
    let mut next = first;
    while next < out.len() && out.len() - first < MAX_DIRS {
        if let Ok(entries) = std::fs::read_dir(&out[next]) {
            for e in entries.flatten() {
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    out.push(e.path());
                }
            }
        }
        next += 1;
    }
}

/// The run ids of `gaterun-<run id>` cgroups beside gaterun's own, in every hierarchy, with
/// their directories.
pub fn run_cgroups() -> Vec<(String, PathBuf)> {
    let own = own_dirs();
    let mut out = Vec::new();
    for parent in own.v2.iter().chain(own.v1.iter().map(|(_, d)| d)) {
        let Ok(entries) = std::fs::read_dir(parent) else {
            continue;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some(run) = name.strip_prefix("gaterun-")
                && e.file_type().is_ok_and(|t| t.is_dir())
            {
                out.push((run.to_owned(), e.path()));
            }
        }
    }
    out
}

/// Kill everything in a dead run's cgroup and remove it. A message if it will not go.
pub fn remove_dead_run(dir: &Path) -> Result<(), String> {
    kill_tree_deep(dir);
    remove_tree(dir, Duration::from_secs(2))
}

fn kill_tree_deep(dir: &Path) {
    let mut dirs = Vec::new();
    collect_dirs(dir, &mut dirs);
    for d in dirs.iter().rev() {
        kill_tree(d);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOUNTINFO: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
50 31 0:40 /ns /mnt/with\\040space rw - cgroup2 cgroup2 rw
";

    #[test]
    fn own_cgroups_are_found_in_a_hybrid_layout() {
        let mounts = parse_mounts(MOUNTINFO);
        assert_eq!(mounts.len(), 5, "tmpfs is no cgroup: {mounts:?}");
        assert_eq!(mounts[4].point, PathBuf::from("/mnt/with space"));
        let own = parse_self("8:pids:/\n6:freezer:/a\n4:memory:/process_api/x\n0::/\n");
        let dirs = own_dirs_from(&mounts[..4], &own);
        assert_eq!(dirs.v2, Some(PathBuf::from("/sys/fs/cgroup/unified")));
        assert_eq!(
            dirs.v1("freezer"),
            Some(Path::new("/sys/fs/cgroup/freezer/a"))
        );
        assert_eq!(
            dirs.v1("memory"),
            Some(Path::new("/sys/fs/cgroup/memory/process_api/x"))
        );
        assert_eq!(dirs.v1("cpuacct"), None, "not mounted");
    }

    #[test]
    fn every_directory_is_walked_however_deep_parents_first() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let mut deep = tmp.path().to_path_buf();
        for i in 0..100 {
            deep.push(format!("d{i}"));
        }
        std::fs::create_dir_all(&deep).expect("mkdir");
        std::fs::create_dir(tmp.path().join("side")).expect("mkdir");
        std::os::unix::fs::symlink(tmp.path(), tmp.path().join("d0/loop")).expect("symlink");
        let mut dirs = Vec::new();
        collect_dirs(tmp.path(), &mut dirs);
        assert_eq!(
            dirs.len(),
            102,
            "the root, 100 nested, one beside; no link followed"
        );
        assert_eq!(dirs[0], tmp.path());
        assert!(dirs.contains(&deep), "the deepest");
        for (i, d) in dirs.iter().enumerate() {
            if let Some(parent) = d.parent().and_then(|p| dirs.iter().position(|x| x == p)) {
                assert!(parent < i, "{} before its parent", d.display());
            }
        }
    }

    #[test]
    fn a_cgroup_outside_the_mounted_root_is_not_visible() {
        let mounts = parse_mounts(MOUNTINFO);
        let table = [
            ("/ns/gate", Some("/mnt/with space/gate")),
            ("/ns", Some("/mnt/with space")),
            ("/nsx", None),
            ("/other", None),
        ];
        for (path, want) in table {
            assert_eq!(own_dir(&mounts[4], path), want.map(PathBuf::from), "{path}");
        }
    }
}
