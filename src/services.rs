//! Background services of a gate: a port each (leased machine-wide, see [`crate::ports`]),
//! started in the order written, waited for with a readiness probe, stopped in reverse order
//! (SIGTERM to the process group, `grace`, SIGKILL).
//!
//! A service that exits before it is ready fails the gate at once, with its status and last
//! output line, never by waiting out the ready timeout. So does one that exits while the gate
//! runs, unless a `stop`/`restart` step asked for it or it says `may_exit: true`: each service
//! has a waiter task that records its exit the moment it happens, and [`watch`] races every
//! step (and the pauses of `eventually`) against those records. A probe that answers counts
//! only when the listener on its port belongs to the service's own processes: an answer from
//! another program on a port the service could not bind is not readiness.

use std::collections::HashMap;
use std::io;
use std::process::{ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::{Command, Probe, ServiceDef, Signal};
use crate::expect::Matcher;
use crate::process::{self, CappedBuffer};
use crate::runner::command::gate_command;
use crate::steps::{Deadline, Failure, GateCtx};
use crate::vars;

pub use crate::ports::PortLease;

/// What a service keeps of its own output, for the "last output" of a failure.
const TAIL_CAP: usize = 64 * 1024;
/// A line longer than this is cut into pieces in the log.
const LINE_CAP: usize = 64 * 1024;
/// Every process of a service inherits `GATERUN_SERVICE=<name>` (besides the gate's token), so
/// one that daemonized out of the service's process group is still known as the service's.
const SERVICE_VAR: &str = "GATERUN_SERVICE";

/// The exits of a gate's services, as they happen: each service's waiter task records its
/// exit in the service's [`ExitCell`], then bumps this counter, which wakes whoever watches.
#[derive(Clone)]
pub struct Exits {
    bumps: Arc<watch::Sender<u64>>,
    /// Set when the gate stops everything it runs (a timeout, an interrupt): the exits that
    /// follow are gaterun's doing, not the services'.
    ending: Arc<AtomicBool>,
}

impl Default for Exits {
    fn default() -> Self {
        Exits {
            bumps: Arc::new(watch::channel(0).0),
            ending: Arc::new(AtomicBool::new(false)),
        }
    }
}

impl Exits {
    /// The gate is about to stop all its processes: their exits are no longer news.
    pub fn gate_ending(&self) {
        self.ending.store(true, Ordering::Relaxed);
    }

    fn bump(&self) {
        self.bumps.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// The exit status of `cell`'s process, once it has exited.
    async fn wait(&self, cell: &ExitCell) -> String {
        let mut rx = self.bumps.subscribe();
        loop {
            // Marked seen before looking: an exit recorded after the look wakes `changed`.
            rx.borrow_and_update();
            if let Some(status) = cell.status.get() {
                return status.clone();
            }
            if rx.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }
}

/// One run of a service's process: its exit status once it exited, and whether a `stop` asked
/// for that exit.
#[derive(Default)]
struct ExitCell {
    status: OnceLock<String>,
    expected: AtomicBool,
}

/// Resolves with the index of the first service that has exited while the gate ran — not
/// asked to by a `stop`/`restart`, not `may_exit` — and never while the gate is being stopped
/// or interrupted. Owns what it needs, so a step can borrow the gate meanwhile.
pub fn watch(ctx: &GateCtx) -> impl std::future::Future<Output = usize> + Send + 'static {
    let cells: Vec<(usize, Arc<ExitCell>)> = ctx
        .services
        .iter()
        .enumerate()
        .filter(|(_, s)| !s.def.may_exit)
        .filter_map(|(i, s)| Some((i, s.exit.clone()?)))
        .collect();
    let exits = ctx.exits.clone();
    let cancel = ctx.cancel.clone();
    async move {
        let mut rx = exits.bumps.subscribe();
        loop {
            rx.borrow_and_update();
            let quiet = exits.ending.load(Ordering::Relaxed) || *cancel.borrow();
            if !quiet
                && let Some((i, _)) = cells
                    .iter()
                    .find(|(_, c)| c.status.get().is_some() && !c.expected.load(Ordering::Relaxed))
            {
                return *i;
            }
            if rx.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }
}

pub struct Service {
    pub def: ServiceDef,
    pub port: PortLease,
    pid: Option<u32>,
    /// The current run of its process, from spawn until a stop (or a start after it exited)
    /// collects it.
    exit: Option<Arc<ExitCell>>,
    tail: Arc<Mutex<CappedBuffer>>,
    /// Set by the output reader when a line matches a `ready.log` pattern.
    log_ready: Arc<AtomicBool>,
    readers: Vec<JoinHandle<()>>,
}

impl Service {
    pub fn new(def: ServiceDef) -> io::Result<Service> {
        Ok(Service {
            def,
            port: PortLease::allocate()?,
            pid: None,
            exit: None,
            tail: Arc::new(Mutex::new(CappedBuffer::new(TAIL_CAP))),
            log_ready: Arc::new(AtomicBool::new(false)),
            readers: Vec::new(),
        })
    }

    /// Started and not collected yet (it may have exited meanwhile).
    pub fn running(&self) -> bool {
        self.exit.is_some()
    }

    /// Started, and its process has not exited.
    fn alive(&self) -> bool {
        self.exit.as_ref().is_some_and(|c| c.status.get().is_none())
    }

    fn last_line(&self) -> String {
        let text = lock(&self.tail).to_text();
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
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Start service `i` and wait until its probe says it is ready.
pub async fn start(ctx: &mut GateCtx, i: usize, gate_deadline: &Deadline) -> Result<(), Failure> {
    let name = ctx.services[i].def.name.clone();
    if ctx.services[i].alive() {
        return Err(Failure::Check(format!(
            "service `{name}` is already running"
        )));
    }
    if let Some(status) = collect(ctx, i).await {
        // A `may_exit` service that ended on its own, started again.
        ctx.log_line(&format!("── service {name} had exited ({status})"));
    }
    spawn(ctx, i)?;
    wait_ready(ctx, i, gate_deadline).await
}

fn spawn(ctx: &mut GateCtx, i: usize) -> Result<(), Failure> {
    let svc = &mut ctx.services[i];
    let name = svc.def.name.clone();
    let mut env = ctx.vars.clone();
    env.insert("PORT".to_owned(), svc.port.0.to_string());
    for (k, template) in &svc.def.env {
        let value = vars::interpolate(template, &env)
            .map_err(|e| Failure::Error(format!("service `{name}` env `{k}`: {e}")))?;
        env.insert(k.clone(), value);
    }
    let mut cmd = gate_command(&svc.def.command, &env, &ctx.token, &ctx.workdir)
        .map_err(|e| Failure::Error(format!("service `{name}`: {e}")))?;
    cmd.env(SERVICE_VAR, &name);
    process::prepare_service(&ctx.token, &name, &mut cmd)
        .map_err(|e| Failure::Error(format!("service `{name}`: {e}")))?;
    let program = cmd.program();
    let mut child = process::spawn(&mut cmd).map_err(|e| {
        Failure::Check(format!("service `{name}` failed to start `{program}`: {e}"))
    })?;
    svc.pid = child.id();
    if let Some(pid) = svc.pid {
        ctx.groups.push(pid);
    }
    svc.log_ready.store(false, Ordering::Relaxed);
    let matcher = match svc.def.ready.as_ref().map(|r| &r.probe) {
        Some(Probe::Log(p)) => {
            Some(Arc::new(p.resolve(&env).map_err(|e| {
                Failure::Error(format!("service `{name}` ready.log: {e}"))
            })?))
        }
        _ => None,
    };
    let prefix = format!("[{name}] ");
    if let Some(out) = child.stdout.take() {
        svc.readers.push(tokio::spawn(pump(
            out,
            prefix.clone(),
            svc.tail.clone(),
            ctx.log.clone(),
            matcher.clone(),
            svc.log_ready.clone(),
        )));
    }
    if let Some(err) = child.stderr.take() {
        svc.readers.push(tokio::spawn(pump(
            err,
            prefix,
            svc.tail.clone(),
            ctx.log.clone(),
            matcher,
            svc.log_ready.clone(),
        )));
    }
    // The waiter: records the exit the moment it happens, whatever the gate is doing.
    let cell = Arc::new(ExitCell::default());
    svc.exit = Some(cell.clone());
    let exits = ctx.exits.clone();
    let pid = svc.pid;
    tokio::spawn(async move {
        let status = child.wait().await;
        process::release(pid);
        let _ = cell.status.set(describe_exit(status));
        exits.bump();
    });
    let line = format!(
        "── service {name} started on port {} (pid {})",
        svc.port.0,
        svc.pid.unwrap_or(0)
    );
    ctx.log_line(&line);
    Ok(())
}

/// Copy a service's output into the gate log line by line, each line prefixed with the
/// service's name, and watch for the `ready.log` pattern.
async fn pump(
    mut pipe: impl AsyncRead + Unpin,
    prefix: String,
    tail: Arc<Mutex<CappedBuffer>>,
    log: Arc<Mutex<CappedBuffer>>,
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
        let mut log = lock(&log);
        log.push(prefix.as_bytes());
        log.push(line);
        log.push(b"\n");
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
fn describe_exit(status: io::Result<ExitStatus>) -> String {
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

/// The wait between readiness probes: a few milliseconds at first, backing off to 100 ms.
/// Probing a port that refuses costs microseconds, so the first seconds stay fine-grained.
fn next_pause(elapsed: Duration, probe: &Probe) -> Duration {
    let ms = match elapsed.as_millis() {
        0..=2_000 => 2,
        2_001..=10_000 => 20,
        _ => 100,
    };
    // A `run` probe starts a process each time: no more than one every 20 ms.
    let floor = if matches!(probe, Probe::Run(_)) {
        20
    } else {
        0
    };
    Duration::from_millis(ms.max(floor))
}

async fn wait_ready(ctx: &mut GateCtx, i: usize, gate_deadline: &Deadline) -> Result<(), Failure> {
    let name = ctx.services[i].def.name.clone();
    let Some(ready) = ctx.services[i].def.ready.clone() else {
        return Ok(());
    };
    let started = Instant::now();
    let ready_at = started + ready.timeout;
    let (deadline, gate_limits) = if gate_deadline.at < ready_at {
        (gate_deadline.at, true)
    } else {
        (ready_at, false)
    };
    let env = ProbeEnv {
        vars: ctx.vars.clone(),
        token: ctx.token.clone(),
        workdir: ctx.workdir.clone(),
        http: ctx.http.clone(),
        log_ready: ctx.services[i].log_ready.clone(),
    };
    let Some(cell) = ctx.services[i].exit.clone() else {
        return Err(Failure::Error(format!("service `{name}` was not started")));
    };
    let exits = ctx.exits.clone();
    let mut cancel = ctx.cancel.clone();
    let mut last = "no probe finished".to_owned();
    // Who holds a port another process listens on, found once per socket.
    let mut holders = HashMap::new();
    // A `may_exit` service whose command exits 0 before it is ready has daemonized (`pg_ctl
    // start`, `redis-server --daemonize yes`): probing goes on, its exit no longer watched.
    // Any other exit before readiness fails the gate at once.
    let may_daemonize = ctx.services[i].def.may_exit;
    let mut daemonized = false;
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        let probe = probe_once(&ready.probe, &env, remaining.min(Duration::from_secs(2)));
        let exit = exit_news(&exits, &cell, daemonized);
        let outcome = tokio::select! {
            // An exit first: a probe answering in the same instant must not win over it.
            biased;
            status = exit => Err(status),
            r = probe => Ok(r),
            _ = tokio::time::sleep_until(deadline.into()) => Ok(Err(last.clone())),
            _ = crate::steps::cancelled(&mut cancel) => return Err(Failure::Interrupted),
        };
        let answered = match outcome {
            Err(status) if may_daemonize && status == "status 0" => {
                ctx.log_line(&format!(
                    "── service {name} exited (status 0) before it was ready: may_exit, probing on"
                ));
                daemonized = true;
                continue;
            }
            Err(_) => return Err(exit_failure(ctx, i, "before it was ready").await),
            Ok(r) => r,
        };
        let foreign = match answered.and_then(|()| own_listener(ctx, i, &ready.probe, &mut holders))
        {
            Ok(()) => {
                ctx.log_line(&format!(
                    "── service {name} ready after {}",
                    crate::text::human_duration(started.elapsed())
                ));
                return Ok(());
            }
            Err(e) => {
                let foreign = e.contains(" answered, but ");
                if foreign && e != last {
                    // Worth reading in the log: the answer came from someone else.
                    ctx.log_line(&format!("── service {name} not ready: {e}"));
                }
                last = e;
                foreign
            }
        };
        if Instant::now() >= deadline {
            if gate_limits {
                return Err(Failure::Timeout(format!(
                    "{} while service `{name}` was not ready (last probe: {last})",
                    gate_deadline.message
                )));
            }
            return Err(Failure::Check(format!(
                "service `{name}` not ready after {}: last probe: {last}",
                humantime::format_duration(ready.timeout)
            )));
        }
        let mut pause = next_pause(started.elapsed(), &ready.probe);
        if foreign {
            // Someone else holds the port: no use asking every few milliseconds (each look
            // reads the service's processes in /proc).
            pause = pause.max(Duration::from_millis(50));
        }
        // An exit is looked at by the next round's select, at once.
        tokio::select! {
            _ = exit_news(&exits, &cell, daemonized) => {}
            _ = tokio::time::sleep(pause) => {}
            _ = crate::steps::cancelled(&mut cancel) => return Err(Failure::Interrupted),
        }
    }
}

/// The exit status of `cell`'s process once it exits; never, once `ignored`.
async fn exit_news(exits: &Exits, cell: &ExitCell, ignored: bool) -> String {
    if ignored {
        std::future::pending::<()>().await;
    }
    exits.wait(cell).await
}

/// After an `http` or `tcp` probe answered: whether the answer can only have come from the
/// service. For a probe of a local address or of the service's own port, every socket
/// listening on that port must be one of the service's processes' (its process group, their
/// descendants, and what daemonized out of them); otherwise another program answered — a
/// gaterun run elsewhere, a leftover server — and the service itself has likely failed to bind.
fn own_listener(
    ctx: &GateCtx,
    i: usize,
    probe: &Probe,
    holders: &mut HashMap<u64, String>,
) -> Result<(), String> {
    let svc = &ctx.services[i];
    let Some((host, port)) = probe_target(probe, &ctx.vars) else {
        return Ok(());
    };
    if !is_local(&host) && port != svc.port.0 {
        return Ok(());
    }
    let at = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let listeners = crate::ports::listeners(port);
    if listeners.is_empty() {
        return Err(format!(
            "{at} answered, but no socket here listens on port {port}"
        ));
    }
    let leader = svc.pid.map_or(0, |p| p as i32);
    let marker = format!("{SERVICE_VAR}={}", svc.def.name);
    // The service's cgroup holds what it daemonized even when its environment is unreadable
    // (a process title written over it).
    let own: std::collections::HashSet<u64> =
        process::service_processes(&ctx.token, leader, &marker)
            .into_iter()
            .chain(process::service_cgroup_procs(&ctx.token, &svc.def.name))
            .flat_map(crate::ports::socket_inodes)
            .collect();
    let Some(foreign) = listeners.iter().find(|l| !own.contains(&l.inode)) else {
        return Ok(());
    };
    let who = holders.entry(foreign.inode).or_insert_with(|| {
        match crate::ports::holder_of(foreign.inode) {
            Some((pid, cmdline)) => {
                let mut cmd = crate::text::sanitize(&cmdline);
                if cmd.len() > 80 {
                    let cut = (0..=80)
                        .rev()
                        .find(|n| cmd.is_char_boundary(*n))
                        .unwrap_or(0);
                    cmd.truncate(cut);
                    cmd.push('…');
                }
                format!("pid {pid} ({cmd:?})")
            }
            None => format!("a process of uid {} that gaterun cannot see", foreign.uid),
        }
    });
    Err(format!(
        "{at} answered, but the listener on port {port} is {who}, not service `{}`",
        svc.def.name
    ))
}

/// The host and port an `http` or `tcp` probe connects to.
fn probe_target(probe: &Probe, vars: &vars::Vars) -> Option<(String, u16)> {
    match probe {
        Probe::Http(url) => {
            let url = reqwest::Url::parse(&vars::interpolate(url, vars).ok()?).ok()?;
            let host = url.host_str()?.trim_matches(['[', ']']).to_owned();
            Some((host, url.port_or_known_default()?))
        }
        Probe::Tcp(addr) => {
            let addr = vars::interpolate(addr, vars).ok()?;
            let (host, port) = addr.rsplit_once(':')?;
            Some((host.trim_matches(['[', ']']).to_owned(), port.parse().ok()?))
        }
        Probe::Log(_) | Probe::Run(_) => None,
    }
}

/// `localhost`, a loopback or an unspecified address: this machine, surely.
fn is_local(host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    host == "localhost"
        || host.ends_with(".localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback() || ip.is_unspecified())
}

/// The service's process has exited: collect it, read the rest of its output, and say so,
/// with its status and last output line, as a failure of the gate.
async fn exit_failure(ctx: &mut GateCtx, i: usize, when: &str) -> Failure {
    let status = collect(ctx, i)
        .await
        .unwrap_or_else(|| "an unknown status".to_owned());
    let svc = &ctx.services[i];
    Failure::Check(format!(
        "service `{}` exited with {status} {when}; last output: {}",
        svc.def.name,
        svc.last_line()
    ))
}

/// Forget service `i`'s process once it has exited, read what is left of its output, and
/// return its exit status (`None` if it was not started).
async fn collect(ctx: &mut GateCtx, i: usize) -> Option<String> {
    let svc = &mut ctx.services[i];
    let cell = svc.exit.take()?;
    svc.pid = None;
    let status = ctx.exits.wait(&cell).await;
    drain(&mut svc.readers, &mut ctx.readers).await;
    Some(status)
}

/// Service `i` exited while the gate ran: the gate's failure.
pub async fn exited_while_running(ctx: &mut GateCtx, i: usize) -> Failure {
    exit_failure(ctx, i, "while the gate ran").await
}

/// After the last step: the first service that is dead though no step stopped it and it may
/// not exit, as the gate's failure. One killed by the last step a moment ago may not be
/// reaped yet: a zombie, an exiting process or a pending fatal signal counts as dead, and its
/// status is awaited.
pub async fn dead_at_end(ctx: &mut GateCtx) -> Option<Failure> {
    for i in 0..ctx.services.len() {
        let svc = &ctx.services[i];
        let Some(cell) = svc.exit.clone() else {
            continue;
        };
        if svc.def.may_exit || cell.expected.load(Ordering::Relaxed) {
            continue;
        }
        let dying =
            cell.status.get().is_some() || svc.pid.is_some_and(|p| process::is_dying(p as i32));
        if dying
            && tokio::time::timeout(Duration::from_secs(5), ctx.exits.wait(&cell))
                .await
                .is_ok()
        {
            return Some(exited_while_running(ctx, i).await);
        }
    }
    None
}

/// Give readers a moment to reach EOF; hand the ones still running to the gate's teardown.
async fn drain(readers: &mut Vec<JoinHandle<()>>, leftover: &mut Vec<JoinHandle<()>>) {
    let until = tokio::time::Instant::now() + Duration::from_millis(100);
    for mut r in readers.drain(..) {
        if tokio::time::timeout_at(until, &mut r).await.is_err() {
            leftover.push(r);
        }
    }
}

/// What a readiness probe needs, owned, so the service's child can be waited on meanwhile.
struct ProbeEnv {
    vars: vars::Vars,
    token: String,
    workdir: std::path::PathBuf,
    http: crate::steps::Http,
    log_ready: Arc<AtomicBool>,
}

async fn probe_once(probe: &Probe, env: &ProbeEnv, limit: Duration) -> Result<(), String> {
    let limit = limit.max(Duration::from_millis(10));
    let vars = &env.vars;
    match probe {
        Probe::Http(url) => {
            let url = vars::interpolate(url, vars).map_err(|e| e.to_string())?;
            let client = env.http.client()?;
            match client.get(&url).timeout(limit).send().await {
                Ok(resp) if resp.status().is_success() => Ok(()),
                Ok(resp) => Err(format!("GET {url} answered {}", resp.status().as_u16())),
                Err(e) => Err(crate::steps::http::short_error(&e)),
            }
        }
        Probe::Tcp(addr) => {
            let addr = vars::interpolate(addr, vars).map_err(|e| e.to_string())?;
            match tokio::time::timeout(limit, tokio::net::TcpStream::connect(&addr)).await {
                Ok(Ok(_)) => Ok(()),
                Ok(Err(e)) => Err(format!("{addr}: {}", crate::steps::tcp::io_reason(&e))),
                Err(_) => Err(format!("{addr}: connect timed out")),
            }
        }
        Probe::Log(p) => {
            if env.log_ready.load(Ordering::Relaxed) {
                Ok(())
            } else {
                Err(format!("no output line matched {:?} yet", p.source))
            }
        }
        Probe::Run(command) => run_probe(command, env, limit).await,
    }
}

async fn run_probe(command: &Command, env: &ProbeEnv, limit: Duration) -> Result<(), String> {
    let mut cmd =
        gate_command(command, &env.vars, &env.token, &env.workdir).map_err(|e| e.to_string())?;
    cmd.stdout(Stdio::null()).stderr(Stdio::null());
    let mut child =
        process::spawn(&mut cmd).map_err(|e| format!("failed to start the probe: {e}"))?;
    let pid = child.id();
    if let Some(pid) = pid {
        // What the probe leaves running in its group goes with the gate.
        process::note_group(&env.token, pid);
    }
    let result = match tokio::time::timeout(limit, child.wait()).await {
        Ok(Ok(s)) if s.success() => Ok(()),
        Ok(Ok(s)) => Err(format!(
            "the probe command exited with {}",
            describe_exit(Ok(s))
        )),
        Ok(Err(e)) => Err(format!("failed to wait for the probe: {e}")),
        Err(_) => {
            if let Some(p) = pid.and_then(|p| rustix::process::Pid::from_raw(p as i32)) {
                let _ = rustix::process::kill_process_group(p, rustix::process::Signal::KILL);
            }
            let _ = child.wait().await;
            Err("the probe command did not finish in time".to_owned())
        }
    };
    process::release(pid);
    if let Some(pid) = pid {
        process::forget_group_if_empty(&env.token, pid);
    }
    result
}

fn to_signal(s: Signal) -> rustix::process::Signal {
    use rustix::process::Signal as S;
    match s {
        Signal::Term => S::TERM,
        Signal::Kill => S::KILL,
        Signal::Int => S::INT,
        Signal::Hup => S::HUP,
        Signal::Quit => S::QUIT,
        Signal::Usr1 => S::USR1,
        Signal::Usr2 => S::USR2,
    }
}

/// Stop service `i`: `signal` to its process group, then wait for the whole group to exit,
/// SIGKILL after `grace`.
pub async fn stop(ctx: &mut GateCtx, i: usize, signal: Signal) -> Result<(), Failure> {
    let grace = ctx.grace;
    let exits = ctx.exits.clone();
    let svc = &mut ctx.services[i];
    let name = svc.def.name.clone();
    let Some(cell) = svc.exit.take() else {
        return Err(Failure::Check(format!("service `{name}` is not running")));
    };
    // Before the signal: the exit it causes is asked for, not news.
    cell.expected.store(true, Ordering::Relaxed);
    let had_exited = cell.status.get().is_some();
    let pid = svc.pid.take();
    let group = pid.and_then(|p| rustix::process::Pid::from_raw(p as i32));
    let token = ctx.token.clone();
    // The group, and the service's cgroup: what it daemonized out of its group is stopped too.
    let members = || process::service_cgroup_procs(&token, &name);
    let send = |sig| {
        if let Some(g) = group {
            let _ = rustix::process::kill_process_group(g, sig);
        }
        process::signal_pids(&members(), sig);
        if sig == rustix::process::Signal::KILL {
            process::kill_service_cgroup(&token, &name);
        }
    };
    send(to_signal(signal));
    let started = Instant::now();
    let forced = || process::FORCE_KILL.load(Ordering::Relaxed);
    // The grace is cut by a second interrupt that comes while it is waited out (an `http`
    // step's gate reaches this with its service still running).
    let status = tokio::select! {
        s = exits.wait(&cell) => s,
        () = async {
            tokio::select! {
                _ = tokio::time::sleep(grace) => {}
                _ = process::forced() => {}
            }
        } => {
            send(rustix::process::Signal::KILL);
            exits.wait(&cell).await
        }
    };
    // The group outlives its leader while any member lives (a worker it forked), and the
    // service's cgroup while anything it daemonized does.
    let group_alive = || group.is_some_and(|g| rustix::process::test_kill_process_group(g).is_ok());
    {
        while group_alive() || !members().is_empty() {
            process::reap_orphans();
            if started.elapsed() >= grace || forced() {
                send(rustix::process::Signal::KILL);
            }
            if started.elapsed() >= grace + Duration::from_secs(2) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    drain(&mut svc.readers, &mut ctx.readers).await;
    let what = if had_exited { "had exited" } else { "stopped" };
    ctx.log_line(&format!("── service {name} {what} ({status})"));
    Ok(())
}

/// Stop every running service, in reverse order of their definition.
pub async fn stop_all(ctx: &mut GateCtx) {
    for i in (0..ctx.services.len()).rev() {
        if ctx.services[i].running() {
            let _ = stop(ctx, i, Signal::Term).await;
        }
    }
}
