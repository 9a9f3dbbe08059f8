//! Background services of a gate: a free port each, started in the order written, waited for
//! with a readiness probe, stopped in reverse order (SIGTERM to the process group, `grace`,
//! SIGKILL). A service that exits before it is ready fails the gate at once, with its status
//! and last output line, never by waiting out the ready timeout.

use std::collections::HashSet;
use std::io;
use std::net::{Ipv4Addr, TcpListener};
use std::process::{ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Child;
use tokio::task::JoinHandle;

use crate::config::{Command, Probe, ServiceDef, Signal};
use crate::expect::Matcher;
use crate::process::{self, CappedBuffer};
use crate::steps::{Deadline, Failure, GateCtx};
use crate::vars;

/// What a service keeps of its own output, for the "last output" of a failure.
const TAIL_CAP: usize = 64 * 1024;
/// A line longer than this is cut into pieces in the log.
const LINE_CAP: usize = 64 * 1024;

static PORTS: Mutex<Option<HashSet<u16>>> = Mutex::new(None);

fn ports() -> MutexGuard<'static, Option<HashSet<u16>>> {
    PORTS.lock().unwrap_or_else(|e| e.into_inner())
}

/// A free TCP port on 127.0.0.1, held for this gaterun process until dropped, so two gates
/// running at once never get the same one.
#[derive(Debug)]
pub struct PortLease(pub u16);

impl PortLease {
    pub fn allocate() -> io::Result<PortLease> {
        for _ in 0..64 {
            let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
                .local_addr()?
                .port();
            let mut held = ports();
            if held.get_or_insert_with(HashSet::new).insert(port) {
                return Ok(PortLease(port));
            }
        }
        Err(io::Error::new(
            io::ErrorKind::AddrInUse,
            "no free port found",
        ))
    }
}

impl Drop for PortLease {
    fn drop(&mut self) {
        if let Some(set) = ports().as_mut() {
            set.remove(&self.0);
        }
    }
}

pub struct Service {
    pub def: ServiceDef,
    pub port: PortLease,
    child: Option<Child>,
    pid: Option<u32>,
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
            child: None,
            pid: None,
            tail: Arc::new(Mutex::new(CappedBuffer::new(TAIL_CAP))),
            log_ready: Arc::new(AtomicBool::new(false)),
            readers: Vec::new(),
        })
    }

    pub fn running(&self) -> bool {
        self.child.is_some()
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
            format!("{:?}", crate::evidence::sanitize(line))
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Start service `i` and wait until its probe says it is ready.
pub async fn start(ctx: &mut GateCtx, i: usize, gate_deadline: &Deadline) -> Result<(), Failure> {
    let name = ctx.services[i].def.name.clone();
    if ctx.services[i].running() {
        return Err(Failure::Check(format!(
            "service `{name}` is already running"
        )));
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
    let mut cmd = process::gate_command(&svc.def.command, &env, &ctx.token, &ctx.workdir)
        .map_err(|e| Failure::Error(format!("service `{name}`: {e}")))?;
    let program = cmd.as_std().get_program().to_string_lossy().into_owned();
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
    svc.child = Some(child);
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

fn describe_exit(status: io::Result<ExitStatus>) -> String {
    use std::os::unix::process::ExitStatusExt;
    match status {
        Ok(s) => match (s.code(), s.signal()) {
            (Some(code), _) => format!("status {code}"),
            (None, Some(sig)) => format!("signal {sig}"),
            _ => "an unknown status".to_owned(),
        },
        Err(e) => format!("an unknown status ({e})"),
    }
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
    let mut cancel = ctx.cancel.clone();
    let mut last = "no probe finished".to_owned();
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        let probe = probe_once(&ready.probe, &env, remaining.min(Duration::from_secs(2)));
        let child = ctx.services[i].child.as_mut().expect("started");
        let outcome = tokio::select! {
            status = child.wait() => Err(Some(status)),
            r = probe => Ok(r),
            _ = tokio::time::sleep_until(deadline.into()) => Ok(Err(last.clone())),
            _ = crate::steps::cancelled(&mut cancel) => return Err(Failure::Interrupted),
        };
        match outcome {
            Ok(Ok(())) => {
                ctx.log_line(&format!(
                    "── service {name} ready after {}",
                    crate::reporter::human_duration(started.elapsed())
                ));
                return Ok(());
            }
            Ok(Err(e)) => last = e,
            Err(status) => return Err(exited(ctx, i, status.expect("status")).await),
        }
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
        let pause = next_pause(started.elapsed(), &ready.probe);
        let child = ctx.services[i].child.as_mut().expect("started");
        tokio::select! {
            status = child.wait() => return Err(exited(ctx, i, status).await),
            _ = tokio::time::sleep(pause) => {}
            _ = crate::steps::cancelled(&mut cancel) => return Err(Failure::Interrupted),
        }
    }
}

/// The service exited before it was ready: reap it, read the rest of its output, report.
async fn exited(ctx: &mut GateCtx, i: usize, status: io::Result<ExitStatus>) -> Failure {
    let svc = &mut ctx.services[i];
    svc.child = None;
    process::release(svc.pid.take());
    drain(&mut svc.readers, &mut ctx.readers).await;
    let msg = format!(
        "service `{}` exited with {} before it was ready; last output: {}",
        svc.def.name,
        describe_exit(status),
        svc.last_line()
    );
    Failure::Check(msg)
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
            let client = env.http.client(false)?;
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
    let mut cmd = process::gate_command(command, &env.vars, &env.token, &env.workdir)
        .map_err(|e| e.to_string())?;
    cmd.stdout(Stdio::null()).stderr(Stdio::null());
    let mut child =
        process::spawn(&mut cmd).map_err(|e| format!("failed to start the probe: {e}"))?;
    let pid = child.id();
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
    let svc = &mut ctx.services[i];
    let name = svc.def.name.clone();
    let Some(mut child) = svc.child.take() else {
        return Err(Failure::Check(format!("service `{name}` is not running")));
    };
    let pid = svc.pid.take();
    let group = pid.and_then(|p| rustix::process::Pid::from_raw(p as i32));
    let send = |sig| {
        if let Some(g) = group {
            let _ = rustix::process::kill_process_group(g, sig);
        }
    };
    send(to_signal(signal));
    let started = Instant::now();
    let forced = || process::FORCE_KILL.load(Ordering::Relaxed);
    let status =
        match tokio::time::timeout(if forced() { Duration::ZERO } else { grace }, child.wait())
            .await
        {
            Ok(s) => s,
            Err(_) => {
                send(rustix::process::Signal::KILL);
                child.wait().await
            }
        };
    process::release(pid);
    // The group outlives its leader while any member lives (a worker it forked).
    if let Some(g) = group {
        while rustix::process::test_kill_process_group(g).is_ok() {
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
    ctx.log_line(&format!(
        "── service {name} stopped ({})",
        describe_exit(status)
    ));
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
