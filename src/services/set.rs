//! A gate's services, in definition order, with the news of their exits; and [`Host`], the
//! part of its gate a service borrows for one call (its variables, token, log, groups), so
//! that services need nothing of the gate executor's own context.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::exits::{ExitCell, Exits};
use super::service::Service;
use crate::steps::log::GateLog;
use crate::steps::probe::Http;
use crate::vars::Vars;

pub struct Services {
    pub(super) list: Vec<Service>,
    pub(super) exits: Exits,
}

/// What services use of their gate during one call.
pub struct Host<'a> {
    pub vars: &'a Vars,
    pub token: &'a str,
    pub workdir: &'a Path,
    pub http: &'a Http,
    pub log: &'a GateLog,
    pub cancel: &'a watch::Receiver<bool>,
    pub grace: Duration,
    /// The gate's process groups, for teardown: a service's joins them.
    pub groups: &'a mut Vec<u32>,
    /// Output readers still running after a service ended (a background process may hold a
    /// pipe open), for the gate's teardown to wait on.
    pub readers: &'a mut Vec<JoinHandle<()>>,
}

impl Services {
    pub fn new(list: Vec<Service>) -> Services {
        Services {
            list,
            exits: Exits::default(),
        }
    }

    pub fn position(&self, name: &str) -> Option<usize> {
        self.list.iter().position(|s| s.def.name == name)
    }

    /// The gate is about to stop all its processes: their exits are no longer news.
    pub fn gate_ending(&self) {
        self.exits.gate_ending();
    }

    /// Resolves with the index of the first service that has exited while the gate ran — not
    /// asked to by a `stop`/`restart`, not `may_exit` — and never while the gate is being
    /// stopped or interrupted. Owns what it needs, so a step can borrow the gate meanwhile.
    pub fn watch(
        &self,
        cancel: &watch::Receiver<bool>,
    ) -> impl std::future::Future<Output = usize> + Send + 'static {
        let cells: Vec<(usize, Arc<ExitCell>)> = self
            .list
            .iter()
            .enumerate()
            .filter(|(_, s)| !s.def.may_exit)
            .filter_map(|(i, s)| Some((i, s.exit()?.clone())))
            .collect();
        self.exits.first_unasked(cells, cancel.clone())
    }
}
