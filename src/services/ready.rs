//! Waiting for a started service to be ready: its probe (`http`, `tcp`, `log` or `run`) asked
//! again and again, backing off, raced against the service's exit, the ready timeout, the
//! gate's deadline and an interrupt. An exit before readiness fails the gate at once.

use std::collections::HashMap;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::listener::own_listener;
use super::output::describe_exit;
use super::set::{Host, Services};
use crate::config::{Command, Probe};
use crate::process;
use crate::runner::command::gate_command;
use crate::steps::outcome::{Deadline, Failure, cancelled};
use crate::steps::probe::{Connect, Http, http_get, tcp_connect};
use crate::vars;

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

impl Services {
    pub(super) async fn wait_ready(
        &mut self,
        i: usize,
        host: &mut Host<'_>,
        gate_deadline: &Deadline,
    ) -> Result<(), Failure> {
        let name = self.list[i].def.name.clone();
        let Some(ready) = self.list[i].def.ready.clone() else {
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
            vars: host.vars.clone(),
            token: host.token.to_owned(),
            workdir: host.workdir.to_owned(),
            http: host.http.clone(),
            log_ready: self.list[i].log_ready.clone(),
        };
        // A name the probe's URL or address cannot resolve will not resolve later: the gate
        // fails now, not after the whole ready timeout of probes that could never run.
        if let Probe::Http(text) | Probe::Tcp(text) = &ready.probe
            && let Err(e) = vars::interpolate(text, &env.vars)
        {
            return Err(Failure::Error(format!("service `{name}`: ready: {e}")));
        }
        let Some(cell) = self.list[i].exit().cloned() else {
            return Err(Failure::Error(format!("service `{name}` was not started")));
        };
        let exits = self.exits.clone();
        let mut cancel = host.cancel.clone();
        let mut last = "no probe finished".to_owned();
        // Who holds a port another process listens on, found once per socket.
        let mut holders = HashMap::new();
        // A `may_exit` service whose command exits 0 before it is ready has daemonized (`pg_ctl
        // start`, `redis-server --daemonize yes`): probing goes on, its exit no longer watched.
        // Any other exit before readiness fails the gate at once.
        let may_daemonize = self.list[i].def.may_exit;
        let mut daemonized = false;
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            let probe = probe_once(&ready.probe, &env, remaining.min(Duration::from_secs(2)));
            let exit = exits.news(&cell, daemonized);
            let outcome = tokio::select! {
                // An exit first: a probe answering in the same instant must not win over it.
                biased;
                status = exit => Err(status),
                r = probe => Ok(r),
                _ = tokio::time::sleep_until(deadline.into()) => Ok(Err(last.clone())),
                _ = cancelled(&mut cancel) => return Err(Failure::Interrupted),
            };
            let answered = match outcome {
                Err(status) if may_daemonize && status == "status 0" => {
                    host.log.line(&format!(
                        "── service {name} exited (status 0) before it was ready: may_exit, probing on"
                    ));
                    daemonized = true;
                    continue;
                }
                Err(_) => return Err(self.exit_failure(i, host, "before it was ready").await),
                Ok(r) => r,
            };
            let foreign = match answered.and_then(|()| {
                own_listener(
                    &self.list[i],
                    host.token,
                    host.vars,
                    &ready.probe,
                    &mut holders,
                )
            }) {
                Ok(()) => {
                    host.log.line(&format!(
                        "── service {name} ready after {}",
                        crate::text::human_duration(started.elapsed())
                    ));
                    return Ok(());
                }
                Err(e) => {
                    let foreign = e.contains(" answered, but ");
                    if foreign && e != last {
                        // Worth reading in the log: the answer came from someone else.
                        host.log.line(&format!("── service {name} not ready: {e}"));
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
                _ = exits.news(&cell, daemonized) => {}
                _ = tokio::time::sleep(pause) => {}
                _ = cancelled(&mut cancel) => return Err(Failure::Interrupted),
            }
        }
    }
}

/// What a readiness probe needs, owned, so the service's child can be waited on meanwhile.
struct ProbeEnv {
    vars: vars::Vars,
    token: String,
    workdir: std::path::PathBuf,
    http: Http,
    log_ready: Arc<AtomicBool>,
}

async fn probe_once(probe: &Probe, env: &ProbeEnv, limit: Duration) -> Result<(), String> {
    let limit = limit.max(Duration::from_millis(10));
    let vars = &env.vars;
    match probe {
        Probe::Http(url) => {
            let url = vars::interpolate(url, vars).map_err(|e| e.to_string())?;
            http_get(&env.http, &url, limit).await
        }
        Probe::Tcp(addr) => {
            let addr = vars::interpolate(addr, vars).map_err(|e| e.to_string())?;
            match tcp_connect(&addr, limit).await {
                Connect::Open => Ok(()),
                Connect::Failed(reason) => Err(format!("{addr}: {reason}")),
                Connect::TimedOut => Err(format!("{addr}: connect timed out")),
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
            if let Some(pid) = pid {
                process::kill_group(pid);
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
