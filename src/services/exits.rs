//! The news of a service's exit. Each service's waiter task records its process's exit in an
//! [`ExitCell`] the moment it happens and bumps [`Exits`], which wakes whoever watches: a step
//! racing the gate's services, a readiness wait, a stop waiting out its grace.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use tokio::sync::watch;

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

    pub fn bump(&self) {
        self.bumps.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// The exit status of `cell`'s process, once it has exited.
    pub async fn wait(&self, cell: &ExitCell) -> String {
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

    /// The exit status of `cell`'s process once it exits; never, once `ignored`.
    pub async fn news(&self, cell: &ExitCell, ignored: bool) -> String {
        if ignored {
            std::future::pending::<()>().await;
        }
        self.wait(cell).await
    }

    /// Resolves with the index of the first of `cells` whose process has exited unasked (no
    /// `stop` expected it), never while the gate is being stopped or interrupted. Owns what
    /// it needs, so a step can borrow the gate meanwhile.
    pub fn first_unasked(
        &self,
        cells: Vec<(usize, Arc<ExitCell>)>,
        cancel: watch::Receiver<bool>,
    ) -> impl std::future::Future<Output = usize> + Send + 'static {
        let exits = self.clone();
        async move {
            let mut rx = exits.bumps.subscribe();
            loop {
                rx.borrow_and_update();
                let quiet = exits.ending.load(Ordering::Relaxed) || *cancel.borrow();
                if !quiet
                    && let Some((i, _)) = cells.iter().find(|(_, c)| {
                        c.status.get().is_some() && !c.expected.load(Ordering::Relaxed)
                    })
                {
                    return *i;
                }
                if rx.changed().await.is_err() {
                    std::future::pending::<()>().await;
                }
            }
        }
    }
}

/// One run of a service's process: its exit status once it exited, and whether a `stop` asked
/// for that exit.
#[derive(Default)]
pub struct ExitCell {
    pub status: OnceLock<String>,
    pub expected: AtomicBool,
}

impl ExitCell {
    pub fn exited(&self) -> bool {
        self.status.get().is_some()
    }

    /// A `stop` is about to cause this exit: it is asked for, not news.
    pub fn expect(&self) {
        self.expected.store(true, Ordering::Relaxed);
    }

    pub fn is_expected(&self) -> bool {
        self.expected.load(Ordering::Relaxed)
    }
}
