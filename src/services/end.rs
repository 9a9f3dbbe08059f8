//! How a service's run ends: a stop (its signal to the process group and the service's
//! cgroup, `grace`, then SIGKILL, until every process of it is gone), or an exit of its own
//! that is collected and, unless it may exit, reported as the gate's failure.

use std::time::{Duration, Instant};

use tokio::task::JoinHandle;

use super::service::State;
use super::set::{Host, Services};
use crate::config::Signal;
use crate::process;
use crate::steps::outcome::Failure;

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

impl Services {
    /// Stop service `i`: `signal` to its process group, then wait for the whole group to exit,
    /// SIGKILL after `grace`.
    pub async fn stop(
        &mut self,
        i: usize,
        signal: Signal,
        host: &mut Host<'_>,
    ) -> Result<(), Failure> {
        let grace = host.grace;
        let exits = self.exits.clone();
        let svc = &mut self.list[i];
        let name = svc.def.name.clone();
        let Some((pid, cell)) = svc.leave(State::Stopped) else {
            return Err(Failure::Check(format!("service `{name}` is not running")));
        };
        // Before the signal: the exit it causes is asked for, not news.
        cell.expect();
        let had_exited = cell.exited();
        let token = host.token;
        // The group, and the service's cgroup: what it daemonized out of its group is stopped too.
        let members = || process::service_cgroup_procs(token, &name);
        let send = |sig| {
            if let Some(pid) = pid {
                process::signal_groups(&[pid], sig);
            }
            process::signal_pids(&members(), sig);
            if sig == rustix::process::Signal::KILL {
                process::kill_service_cgroup(token, &name);
            }
        };
        send(to_signal(signal));
        let started = Instant::now();
        let forced = process::is_forced;
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
        let group_lives = || pid.is_some_and(process::group_alive);
        {
            while group_lives() || !members().is_empty() {
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
        drain(&mut svc.readers, host.readers).await;
        let what = if had_exited { "had exited" } else { "stopped" };
        host.log
            .line(&format!("── service {name} {what} ({status})"));
        Ok(())
    }

    /// Stop every running service, in reverse order of their definition.
    pub async fn stop_all(&mut self, host: &mut Host<'_>) {
        for i in (0..self.list.len()).rev() {
            if self.list[i].running() {
                let _ = self.stop(i, Signal::Term, host).await;
            }
        }
    }

    /// Forget service `i`'s process once it has exited, read what is left of its output, and
    /// return its exit status (`None` if it was not running).
    pub(super) async fn collect(&mut self, i: usize, host: &mut Host<'_>) -> Option<String> {
        let svc = &mut self.list[i];
        let (_, cell) = svc.leave(State::Exited)?;
        let status = self.exits.wait(&cell).await;
        drain(&mut svc.readers, host.readers).await;
        Some(status)
    }

    /// The service's process has exited: collect it, read the rest of its output, and say so,
    /// with its status and last output line, as a failure of the gate.
    pub(super) async fn exit_failure(
        &mut self,
        i: usize,
        host: &mut Host<'_>,
        when: &str,
    ) -> Failure {
        let status = self
            .collect(i, host)
            .await
            .unwrap_or_else(|| "an unknown status".to_owned());
        let svc = &self.list[i];
        Failure::Check(format!(
            "service `{}` exited with {status} {when}; last output: {}",
            svc.def.name,
            svc.last_line()
        ))
    }

    /// Service `i` exited while the gate ran: the gate's failure.
    pub async fn exited_while_running(&mut self, i: usize, host: &mut Host<'_>) -> Failure {
        self.exit_failure(i, host, "while the gate ran").await
    }

    /// After the last step: the first service that is dead though no step stopped it and it
    /// may not exit, as the gate's failure. One killed by the last step a moment ago may not
    /// be reaped yet: a zombie, an exiting process or a pending fatal signal counts as dead,
    /// and its status is awaited.
    pub async fn dead_at_end(&mut self, host: &mut Host<'_>) -> Option<Failure> {
        for i in 0..self.list.len() {
            let svc = &self.list[i];
            let Some(cell) = svc.exit().cloned() else {
                continue;
            };
            if svc.def.may_exit || cell.is_expected() {
                continue;
            }
            let dying = cell.exited() || svc.pid().is_some_and(|p| process::is_dying(p as i32));
            if dying
                && tokio::time::timeout(Duration::from_secs(5), self.exits.wait(&cell))
                    .await
                    .is_ok()
            {
                return Some(self.exited_while_running(i, host).await);
            }
        }
        None
    }
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
