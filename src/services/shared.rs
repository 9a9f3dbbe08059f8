//! A stage's shared services, as its gates see them: not the services (the stage scope owns
//! and stops them) but the news of their exits, which every step of every gate races the way it
//! races its gate's own services. A shared service that exits while the gates run fails the
//! gates running, and the gates after it do not run.

use std::future::Future;
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

use super::exits::{ExitCell, Exits};
use super::output::{last_line, lock};
use super::set::Services;
use crate::process::CappedBuffer;

/// A shared service's run: its name, its exit, its output's tail.
type Watched = (String, Arc<ExitCell>, Arc<Mutex<CappedBuffer>>);

/// The exits of a stage's shared services, for its gates. Empty for a stage without any.
#[derive(Clone, Default)]
pub struct SharedWatch {
    exits: Option<Exits>,
    cells: Vec<Watched>,
}

impl Services {
    /// What the stage's gates watch of these services: those running now and not `may_exit`.
    pub fn shared_watch(&self) -> SharedWatch {
        SharedWatch {
            exits: Some(self.exits.clone()),
            cells: self
                .list
                .iter()
                .filter(|s| !s.def.may_exit)
                .filter_map(|s| Some((s.def.name.clone(), s.exit()?.clone(), s.tail.clone())))
                .collect(),
        }
    }
}

impl SharedWatch {
    /// Resolves with the failure's message once a shared service exits; never while the run
    /// is interrupted or the stage ends.
    pub fn watch(
        &self,
        cancel: &watch::Receiver<bool>,
    ) -> impl Future<Output = String> + Send + 'static {
        let cells: Vec<(usize, Arc<ExitCell>)> = self
            .cells
            .iter()
            .enumerate()
            .map(|(i, (_, c, _))| (i, c.clone()))
            .collect();
        let this = self.clone();
        let first = self
            .exits
            .as_ref()
            .filter(|_| !cells.is_empty())
            .map(|e| e.first_unasked(cells, cancel.clone()));
        async move {
            match first {
                Some(f) => {
                    let i = f.await;
                    this.message(i)
                }
                None => std::future::pending().await,
            }
        }
    }

    /// The first shared service that has exited, as the error of a gate that would start now.
    pub fn dead(&self) -> Option<String> {
        let i = self
            .cells
            .iter()
            .position(|(_, c, _)| c.exited() && !c.is_expected())?;
        Some(self.message(i))
    }

    fn message(&self, i: usize) -> String {
        let (name, cell, tail) = &self.cells[i];
        let status = cell
            .status
            .get()
            .cloned()
            .unwrap_or_else(|| "an unknown status".to_owned());
        format!(
            "service `{name}` of the stage exited with {status} while the stage's gates ran; last output: {}",
            last_line(&lock(tail).to_text())
        )
    }
}
