//! Processes: spawning in their own process group, finding every process a gate started, and
//! stopping them all — including the ones that daemonized, `setsid` or double-forked.
//!
//! How a stray process is attributed to its gate: gaterun makes itself a child subreaper, so
//! anything that daemonizes out of a gate is reparented to gaterun instead of init and stays in
//! its process tree; and every process a gate starts inherits `GATERUN_GATE=<token>` in its
//! environment (the cookie Jenkins' process tree killer uses). Stopping a gate walks gaterun's
//! descendants in `/proc`, picks those whose initial environment carries the gate's token, and
//! sends them SIGTERM, then SIGKILL after the grace period, alongside the process groups of the
//! commands themselves (which also covers a process that cleared its environment).
//!
//! Orphans reparented to gaterun are reaped here; children spawned through tokio are recorded
//! in an owned set so the reaper never takes an exit status tokio is waiting for.

mod capture;
#[cfg(target_os = "linux")]
pub mod contain;
#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "linux")]
pub mod pidns;

pub use capture::{CappedBuffer, mask_bytes};
#[cfg(target_os = "linux")]
pub use contain::{Containment, Usage};
#[cfg(target_os = "linux")]
pub use linux::{
    all_pids, become_subreaper, parent_of, processes_with_token, reap_orphans, service_processes,
    signal_pids, token_processes,
};

use std::collections::HashSet;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The environment variable every gate process inherits.
pub const TOKEN_VAR: &str = "GATERUN_GATE";

/// Set by a second interrupt: stop waiting for grace periods, SIGKILL at once.
pub static FORCE_KILL: AtomicBool = AtomicBool::new(false);

static FORCE_NEWS: tokio::sync::Notify = tokio::sync::Notify::const_new();

/// The second interrupt: every grace is cut, those being waited out included.
pub fn force_kill() {
    FORCE_KILL.store(true, Ordering::Relaxed);
    FORCE_NEWS.notify_waiters();
}

/// Resolves once [`force_kill`] was called (at once if it was already): a wait for a grace
/// period races this.
pub async fn forced() {
    loop {
        let news = FORCE_NEWS.notified();
        tokio::pin!(news);
        // Registered before the flag is read: a call in between is not missed.
        news.as_mut().enable();
        if FORCE_KILL.load(Ordering::Relaxed) {
            return;
        }
        news.await;
    }
}

static OWNED: Mutex<Option<HashSet<u32>>> = Mutex::new(None);

fn owned() -> MutexGuard<'static, Option<HashSet<u32>>> {
    OWNED.lock().unwrap_or_else(|e| e.into_inner())
}

pub(crate) fn is_owned(pid: u32) -> bool {
    owned().as_ref().is_some_and(|s| s.contains(&pid))
}

/// This gaterun run's id, `<pid>r<random>`: unique across pid namespaces sharing a file
/// system (two runs may have one pid in two containers). Names the run's temp root, lock and
/// cgroups, and starts every gate token. Not a number: a gaterun from before the run lock,
/// which took a token's leading number for its owner's pid and killed the processes of a run
/// whose pid it could not see, leaves these tokens alone.
pub fn run_id() -> &'static str {
    static ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ID.get_or_init(|| {
        use std::io::Read;
        let mut bytes = [0u8; 4];
        let random = std::fs::File::open("/dev/urandom")
            .and_then(|mut f| f.read_exact(&mut bytes))
            .map(|()| u32::from_le_bytes(bytes))
            .unwrap_or_else(|_| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.subsec_nanos())
            });
        format!("{}r{random:08x}", std::process::id())
    })
}

/// A token unique to one gate run: the run's id and a counter. Also notes the pid counter at
/// that moment: every process of the gate gets a later pid, which lets the leftover search
/// read only those while the counter has not wrapped (see `linux::sweep`).
pub fn new_token() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let token = format!("{}-{}", run_id(), NEXT.fetch_add(1, Ordering::Relaxed));
    #[cfg(target_os = "linux")]
    if let Some(floor) = linux::last_pid() {
        floors().insert(token.clone(), floor);
    }
    token
}

/// The id of the run that made `token` (a bare pid for a token of an older gaterun).
pub fn token_run(token: &str) -> Option<&str> {
    token.rsplit_once('-').map(|(run, _)| run)
}

/// The containment chosen for this run (`Token` before it is chosen, and off Linux).
pub fn containment() -> Containment {
    #[cfg(target_os = "linux")]
    return contain::chosen();
    #[cfg(not(target_os = "linux"))]
    Containment::Token
}

/// Make the gate's cgroups, where the run uses them: every command made for `token` joins
/// them until [`close_gate`].
pub fn open_gate(token: &str) -> Result<(), String> {
    #[cfg(target_os = "linux")]
    return contain::open_gate(token);
    #[cfg(not(target_os = "linux"))]
    Ok(())
}

/// A service's command: into the service's own cgroup within the gate's, where the run has
/// cgroups.
pub fn prepare_service(
    token: &str,
    name: &str,
    cmd: &mut tokio::process::Command,
) -> Result<(), String> {
    #[cfg(target_os = "linux")]
    if let Some(cg) = contain::gate_of(token) {
        return cg.prepare_service(name, cmd);
    }
    Ok(())
}

/// The processes in service `name`'s cgroup (none without cgroups).
pub fn service_cgroup_procs(token: &str, name: &str) -> Vec<i32> {
    #[cfg(target_os = "linux")]
    if let Some(cg) = contain::gate_of(token) {
        return cg.service_procs(name);
    }
    Vec::new()
}

/// Kill everything in service `name`'s cgroup.
pub fn kill_service_cgroup(token: &str, name: &str) {
    #[cfg(target_os = "linux")]
    if let Some(cg) = contain::gate_of(token) {
        cg.kill_service(name);
    }
}

/// The gate's processes are gone: its usage, and its cgroups removed (or why not).
pub fn close_gate(token: &str) -> (Usage, Option<String>) {
    #[cfg(target_os = "linux")]
    return contain::finish(token);
    #[cfg(not(target_os = "linux"))]
    (Usage::default(), None)
}

/// The gate is over: forget its token's pid floor, noted groups and PID namespace.
pub fn forget_token(token: &str) {
    floors().remove(token);
    noted().remove(token);
    #[cfg(target_os = "linux")]
    pidns::forget(token);
}

/// Whether `pid` (a process gaterun spawned) is gone, a zombie, exiting or bound to die — or,
/// in a PID namespace where `pid` is the joiner, whether the command it started is.
#[cfg(target_os = "linux")]
pub fn is_dying(pid: i32) -> bool {
    linux::is_dying(pid) || pidns::command_of(pid as u32).is_some_and(linux::is_dying)
}

/// Whether gate commands run in a PID namespace per gate (`--containment pid-namespace`, or
/// `auto` where no cgroup may be made).
pub fn pid_namespaces() -> bool {
    containment() == Containment::PidNamespace
}

static NOTED: Mutex<std::collections::BTreeMap<String, Vec<u32>>> =
    Mutex::new(std::collections::BTreeMap::new());

fn noted() -> MutexGuard<'static, std::collections::BTreeMap<String, Vec<u32>>> {
    NOTED.lock().unwrap_or_else(|e| e.into_inner())
}

/// A process group the gate started away from its context (a readiness probe's): signalled
/// by the gate's teardown with the others.
pub fn note_group(token: &str, pgid: u32) {
    noted().entry(token.to_owned()).or_default().push(pgid);
}

/// Forget a noted group once no process is left in it: its number may be reused by a stranger.
pub fn forget_group_if_empty(token: &str, pgid: u32) {
    let gone = rustix::process::Pid::from_raw(pgid as i32)
        .is_none_or(|p| rustix::process::test_kill_process_group(p).is_err());
    if gone && let Some(groups) = noted().get_mut(token) {
        groups.retain(|g| *g != pgid);
    }
}

static FLOORS: Mutex<std::collections::BTreeMap<String, i32>> =
    Mutex::new(std::collections::BTreeMap::new());

fn floors() -> MutexGuard<'static, std::collections::BTreeMap<String, i32>> {
    FLOORS.lock().unwrap_or_else(|e| e.into_inner())
}

pub(crate) fn floor_of(token: &str) -> Option<i32> {
    floors().get(token).copied()
}

/// Spawn a gate command configured by the caller, recording its pid as owned by tokio while
/// the registry is locked, so the orphan reaper cannot race the registration. In a PID
/// namespace, returns once the command itself has started (or failed to: its error).
pub fn spawn(cmd: &mut GateCommand) -> io::Result<tokio::process::Child> {
    let child = {
        let mut guard = owned();
        let child = cmd.cmd.spawn()?;
        if let Some(pid) = child.id() {
            guard.get_or_insert_with(HashSet::new).insert(pid);
        }
        child
    };
    #[cfg(target_os = "linux")]
    if let Some(pending) = cmd.pending.take()
        && let Err(e) = pidns::started(pending, child.id())
    {
        // The joiner exits 127 on its own; make sure, and let tokio reap it.
        let pid = child.id();
        signal_groups(
            &pid.into_iter().collect::<Vec<_>>(),
            rustix::process::Signal::KILL,
        );
        release(pid);
        return Err(e);
    }
    Ok(child)
}

/// Spawn a helper with std (not tokio), registered as owned so the orphan reaper leaves its
/// exit status to the caller's `wait`; `release` it after.
pub(crate) fn spawn_std(cmd: &mut std::process::Command) -> io::Result<std::process::Child> {
    let mut guard = owned();
    let child = cmd.spawn()?;
    guard.get_or_insert_with(HashSet::new).insert(child.id());
    Ok(child)
}

/// Forget a child once tokio has reaped it.
pub fn release(pid: Option<u32>) {
    if let Some(pid) = pid {
        if let Some(set) = owned().as_mut() {
            set.remove(&pid);
        }
        #[cfg(target_os = "linux")]
        pidns::released(pid);
    }
}

/// Stop every process of a gate: SIGTERM to the given process groups, to every process in the
/// gate's cgroup, to every process carrying the token and to the gate's PID namespace (its
/// pid 1 passes it on); after `grace` (at once after a
/// second interrupt), the cgroup frozen and killed whole, and SIGKILL to whatever else is
/// left. Returns once none is left, or after two more seconds with a message naming what
/// refused to die.
pub async fn terminate(token: &str, groups: &[u32], grace: Duration) -> Option<String> {
    #[cfg(target_os = "linux")]
    let cgroup = contain::gate_of(token);
    let mut all_groups = groups.to_vec();
    all_groups.extend(noted().get(token).into_iter().flatten());
    let groups = &all_groups[..];
    let start = Instant::now();
    let mut killed = false;
    let mut first = true;
    let mut full = true;
    let mut live;
    loop {
        // A full look at /proc on the first and the last round: after the pid counter
        // wrapped, a gate's process may have a pid below the token's floor.
        live = if full {
            linux::processes_with_token_everywhere(token)
        } else {
            processes_with_token(token)
        };
        #[cfg(target_os = "linux")]
        let in_cgroup = match &cgroup {
            Some(cg) => {
                for p in cg.procs() {
                    if !live.contains(&p) {
                        live.push(p);
                    }
                }
                !cg.is_empty()
            }
            None => false,
        };
        // With a cgroup, a recorded group is signalled only while one of the gate's processes
        // is in it: a group that emptied may have had its number reused by anyone (the pid
        // counter is wrapped by ordinary activity, and can be set by root). Without one, a
        // group member that cleared its environment can be found no other way.
        #[cfg(target_os = "linux")]
        let groups = &if cgroup.is_some() {
            groups_in_use(&all_groups, &live)
        } else {
            all_groups.clone()
        }[..];
        let force = FORCE_KILL.load(Ordering::Relaxed) || start.elapsed() >= grace;
        if first {
            signal_groups(groups, rustix::process::Signal::TERM);
            signal_pids(&live, rustix::process::Signal::TERM);
            #[cfg(target_os = "linux")]
            pidns::signal(token, rustix::process::Signal::TERM);
            first = false;
        }
        #[cfg(target_os = "linux")]
        let namespace = pidns::alive(token);
        #[cfg(not(target_os = "linux"))]
        let namespace = false;
        if live.is_empty() && !in_cgroup && !namespace {
            if full {
                break;
            }
            full = true;
            continue;
        }
        full = false;
        if force {
            #[cfg(target_os = "linux")]
            if let Some(cg) = &cgroup {
                cg.kill_all();
            }
            signal_groups(groups, rustix::process::Signal::KILL);
            signal_pids(&live, rustix::process::Signal::KILL);
            #[cfg(target_os = "linux")]
            pidns::signal(token, rustix::process::Signal::KILL);
            killed = true;
        }
        if killed && start.elapsed() >= grace + Duration::from_secs(2) {
            break;
        }
        let pause = if start.elapsed() < Duration::from_millis(50) {
            2
        } else {
            10
        };
        tokio::time::sleep(Duration::from_millis(pause)).await;
    }
    // A group member that cleared its environment is invisible to the scan: make sure.
    #[cfg(target_os = "linux")]
    if cgroup.is_none() {
        signal_groups(groups, rustix::process::Signal::KILL);
    }
    if killed {
        reap_orphans();
    }
    (!live.is_empty()).then(|| {
        format!(
            "{} process{} refused to die: {live:?}",
            live.len(),
            if live.len() == 1 { "" } else { "es" }
        )
    })
}

/// The groups among `groups` that one of `live` belongs to.
#[cfg(target_os = "linux")]
fn groups_in_use(groups: &[u32], live: &[i32]) -> Vec<u32> {
    let used: HashSet<i32> = live.iter().filter_map(|p| linux::group_of(*p)).collect();
    groups
        .iter()
        .copied()
        .filter(|g| used.contains(&(*g as i32)))
        .collect()
}

fn signal_groups(groups: &[u32], signal: rustix::process::Signal) {
    for g in groups {
        if let Some(pid) = rustix::process::Pid::from_raw(*g as i32) {
            let _ = rustix::process::kill_process_group(pid, signal);
        }
    }
}

/// A command of a gate, configured like a `tokio::process::Command` (it derefs to one) and
/// started with [`spawn`]. In a PID namespace it is gaterun's joiner, which starts the
/// command inside the gate's namespace.
pub struct GateCommand {
    cmd: tokio::process::Command,
    program: std::ffi::OsString,
    #[cfg(target_os = "linux")]
    pending: Option<pidns::Pending>,
}

impl GateCommand {
    /// The program the gate asked for (not gaterun's joiner), for messages.
    pub fn program(&self) -> String {
        self.program.to_string_lossy().into_owned()
    }
}

impl std::ops::Deref for GateCommand {
    type Target = tokio::process::Command;
    fn deref(&self) -> &Self::Target {
        &self.cmd
    }
}

impl std::ops::DerefMut for GateCommand {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.cmd
    }
}

/// Why a gate command could not be made.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error(transparent)]
    Var(#[from] crate::vars::VarError),
    #[error("failed to prepare the gate's PID namespace: {0}")]
    Namespace(io::Error),
}

/// A command of a gate, ready to spawn: `sh -c` for a shell string (passed untouched: the
/// shell expands variables itself), the interpolated argv otherwise; exactly the gate's
/// variables as its environment plus the gate's token; its own process group; stdin from
/// `/dev/null`, stdout and stderr piped. In the gate's PID namespace when that is on.
pub fn gate_command(
    command: &crate::config::Command,
    vars: &crate::vars::Vars,
    token: &str,
    workdir: &std::path::Path,
) -> Result<GateCommand, CommandError> {
    use std::ffi::OsString;
    use std::process::Stdio;
    let (program, args): (OsString, Vec<OsString>) = match command {
        crate::config::Command::Shell(script) => (
            shell().as_os_str().to_owned(),
            vec!["-c".into(), script.into()],
        ),
        crate::config::Command::Argv(argv) => {
            let argv: Vec<String> = argv
                .iter()
                .map(|a| crate::vars::interpolate(a, vars))
                .collect::<Result<_, _>>()?;
            (
                argv[0].clone().into(),
                argv[1..].iter().map(OsString::from).collect(),
            )
        }
    };
    #[cfg(target_os = "linux")]
    let (mut cmd, pending) = if pid_namespaces() {
        let (c, p) = pidns::command(token, &program, &args).map_err(CommandError::Namespace)?;
        (c, Some(p))
    } else {
        let mut c = tokio::process::Command::new(&program);
        c.args(&args);
        (c, None)
    };
    #[cfg(not(target_os = "linux"))]
    let mut cmd = {
        let mut c = tokio::process::Command::new(&program);
        c.args(&args);
        c
    };
    cmd.env_clear()
        .envs(vars)
        .env(TOKEN_VAR, token)
        .current_dir(workdir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(false);
    #[cfg(target_os = "linux")]
    if let Some(cg) = contain::gate_of(token) {
        cg.prepare(&mut cmd);
    }
    Ok(GateCommand {
        cmd,
        program,
        #[cfg(target_os = "linux")]
        pending,
    })
}

/// `sh`, found once: `/bin/sh` where it exists (POSIX), else whatever PATH finds. Saves a PATH
/// search — one failed `execve` per directory before it — on every command.
pub(crate) fn shell() -> &'static std::path::Path {
    static SHELL: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    SHELL.get_or_init(|| {
        let bin_sh = std::path::PathBuf::from("/bin/sh");
        if bin_sh.is_file() {
            bin_sh
        } else {
            std::path::PathBuf::from("sh")
        }
    })
}
