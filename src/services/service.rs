//! One background service of a gate: its definition, its leased port, and where its process
//! is in its life, as one state rather than a pid, an exit and flags that must agree.

use std::io;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use tokio::task::JoinHandle;

use super::exits::ExitCell;
use super::output::lock;
use crate::config::ServiceDef;
use crate::ports::PortLease;
use crate::process::CappedBuffer;

/// What a service keeps of its own output, for the "last output" of a failure.
const TAIL_CAP: usize = 64 * 1024;
/// Every process of a service inherits `GATERUN_SERVICE=<name>` (besides the gate's token), so
/// one that daemonized out of the service's process group is still known as the service's.
pub const SERVICE_VAR: &str = "GATERUN_SERVICE";

/// Where a service's process is in its life.
pub enum State {
    NotStarted,
    /// Spawned, and not collected yet: its process may have exited since (its waiter records
    /// that in `exit`) until a stop or a start collects it.
    Running {
        pid: Option<u32>,
        exit: Arc<ExitCell>,
    },
    /// Exited on its own, and collected.
    Exited,
    /// Stopped by a `stop`/`restart` step or the teardown.
    Stopped,
}

pub struct Service {
    pub def: ServiceDef,
    pub port: PortLease,
    pub(super) state: State,
    pub(super) tail: Arc<Mutex<CappedBuffer>>,
    /// Set by the output reader when a line matches a `ready.log` pattern.
    pub(super) log_ready: Arc<AtomicBool>,
    pub(super) readers: Vec<JoinHandle<()>>,
}

impl Service {
    pub fn new(def: ServiceDef) -> io::Result<Service> {
        let port = match def.port {
            Some(p) => PortLease::fixed(p)?,
            None => PortLease::allocate()?,
        };
        Ok(Service {
            def,
            port,
            state: State::NotStarted,
            tail: Arc::new(Mutex::new(CappedBuffer::new(TAIL_CAP))),
            log_ready: Arc::new(AtomicBool::new(false)),
            readers: Vec::new(),
        })
    }

    /// Started and not collected yet (it may have exited meanwhile).
    pub fn running(&self) -> bool {
        matches!(self.state, State::Running { .. })
    }

    /// Started, and its process has not exited.
    pub(super) fn alive(&self) -> bool {
        self.exit().is_some_and(|c| !c.exited())
    }

    /// The exit cell of its current run, if it is running.
    pub(super) fn exit(&self) -> Option<&Arc<ExitCell>> {
        match &self.state {
            State::Running { exit, .. } => Some(exit),
            _ => None,
        }
    }

    /// The leader of its process group, if it is running.
    pub(super) fn pid(&self) -> Option<u32> {
        match self.state {
            State::Running { pid, .. } => pid,
            _ => None,
        }
    }

    /// Leave the running state for `next`; what the run was, if it was running.
    pub(super) fn leave(&mut self, next: State) -> Option<(Option<u32>, Arc<ExitCell>)> {
        if !self.running() {
            return None;
        }
        match std::mem::replace(&mut self.state, next) {
            State::Running { pid, exit } => Some((pid, exit)),
            _ => None,
        }
    }

    pub(super) fn last_line(&self) -> String {
        super::output::last_line(&lock(&self.tail).to_text())
    }
}
