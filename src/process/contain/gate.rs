//! One gate's cgroups: made when the gate opens (every command of the gate joins them), a
//! service's own cgroup within them, their processes, killing them all at once, the gate's
//! peak memory and CPU time, and their removal when the gate is over.

use std::io;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use super::join::{join_closure, open_procs};
use super::run::{Containment, run};
use super::tree::{kill_tree, kill_v1, procs_under, remove_tree};

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

/// Each open gate's cgroups, by token. Global because every command made for the gate joins
/// them and its teardown kills them, each knowing the token alone.
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
/// `process::command` joins them from now on, until [`finish`].
pub fn open_gate(token: &str) -> Result<(), String> {
    let Some(run) = run() else {
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
