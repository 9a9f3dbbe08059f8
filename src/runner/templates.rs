//! The templates of a run (issue 18, `database: { kind, init }`): one entry per key, started
//! by the first gate that asks (runner/gate/from_template.rs) and awaited by every gate with
//! the same key. A build runs as a task of its own, not in the gate that started it: a gate
//! that ends (its deadline, a failure) does not take the others' template with it. At the end
//! of the run the builds still going are stopped, their processes killed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::database::Template;

/// A template as its gates see it: the template, or why there is none; what the init printed;
/// a line for the gate's log.
pub struct Built {
    pub result: Result<Template, String>,
    pub output: String,
    pub note: String,
}

/// Where a gate waits for a template.
pub type Waiter = watch::Receiver<Option<Arc<Built>>>;

pub struct Templates {
    entries: Mutex<HashMap<String, Waiter>>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    stop: watch::Sender<bool>,
}

impl Default for Templates {
    fn default() -> Self {
        Templates {
            entries: Mutex::default(),
            tasks: Mutex::default(),
            stop: watch::channel(false).0,
        }
    }
}

impl Templates {
    /// The entry of `key`; if there is none, `start` builds it: it gets where to say the
    /// result and the run's stop signal, and returns the build's task.
    pub fn entry(
        &self,
        key: &str,
        start: impl FnOnce(watch::Sender<Option<Arc<Built>>>, watch::Receiver<bool>) -> JoinHandle<()>,
    ) -> Waiter {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(rx) = entries.get(key) {
            return rx.clone();
        }
        let (tx, rx) = watch::channel(None);
        let task = start(tx, self.stop.subscribe());
        self.tasks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(task);
        entries.insert(key.to_owned(), rx.clone());
        rx
    }

    /// Stop the builds still going (their processes killed) and wait for them: before the
    /// PostgreSQL cluster goes.
    pub async fn shutdown(&self) {
        let _ = self.stop.send(true);
        let tasks: Vec<_> = self
            .tasks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain(..)
            .collect();
        for t in tasks {
            let _ = t.await;
        }
    }
}
