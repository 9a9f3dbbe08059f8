//! Starting a service: its environment (`PORT`, its `env`), its process in a group of its own
//! with its output pumped into the gate log, a waiter task that records its exit the moment it
//! happens, then the wait for its readiness probe.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::exits::ExitCell;
use super::output::{describe_exit, pump};
use super::service::{SERVICE_VAR, State};
use super::set::{Host, Services};
use crate::config::Probe;
use crate::process;
use crate::runner::command::gate_command;
use crate::steps::outcome::{Deadline, Failure};
use crate::vars;

impl Services {
    /// Start service `i` and wait until its probe says it is ready.
    pub async fn start(
        &mut self,
        i: usize,
        host: &mut Host<'_>,
        gate_deadline: &Deadline,
    ) -> Result<(), Failure> {
        let name = self.list[i].def.name.clone();
        if self.list[i].alive() {
            return Err(Failure::Check(format!(
                "service `{name}` is already running"
            )));
        }
        if let Some(status) = self.collect(i, host).await {
            // A `may_exit` service that ended on its own, started again.
            host.log
                .line(&format!("── service {name} had exited ({status})"));
        }
        self.spawn(i, host)?;
        self.wait_ready(i, host, gate_deadline).await
    }

    fn spawn(&mut self, i: usize, host: &mut Host<'_>) -> Result<(), Failure> {
        let svc = &mut self.list[i];
        let name = svc.def.name.clone();
        let mut env = host.vars.clone();
        env.insert("PORT".to_owned(), svc.port.0.to_string());
        for (k, template) in &svc.def.env {
            let value = vars::interpolate(template, &env)
                .map_err(|e| Failure::Error(format!("service `{name}` env `{k}`: {e}")))?;
            env.insert(k.clone(), value);
        }
        let mut cmd = gate_command(&svc.def.command, &env, host.token, host.workdir)
            .map_err(|e| Failure::Error(format!("service `{name}`: {e}")))?;
        cmd.env(SERVICE_VAR, &name);
        process::prepare_service(host.token, &name, &mut cmd)
            .map_err(|e| Failure::Error(format!("service `{name}`: {e}")))?;
        let program = cmd.program();
        let mut child = process::spawn(&mut cmd).map_err(|e| {
            Failure::Check(format!("service `{name}` failed to start `{program}`: {e}"))
        })?;
        let pid = child.id();
        if let Some(pid) = pid {
            host.groups.push(pid);
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
                host.log.clone(),
                matcher.clone(),
                svc.log_ready.clone(),
            )));
        }
        if let Some(err) = child.stderr.take() {
            svc.readers.push(tokio::spawn(pump(
                err,
                prefix,
                svc.tail.clone(),
                host.log.clone(),
                matcher,
                svc.log_ready.clone(),
            )));
        }
        // The waiter: records the exit the moment it happens, whatever the gate is doing.
        let cell = Arc::new(ExitCell::default());
        svc.state = State::Running {
            pid,
            exit: cell.clone(),
        };
        let exits = self.exits.clone();
        tokio::spawn(async move {
            let status = child.wait().await;
            process::release(pid);
            let _ = cell.status.set(describe_exit(status));
            exits.bump();
        });
        let line = format!(
            "── service {name} started on port {} (pid {})",
            svc.port.0,
            pid.unwrap_or(0)
        );
        host.log.line(&line);
        Ok(())
    }
}
