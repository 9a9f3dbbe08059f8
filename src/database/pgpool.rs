//! Databases made ahead of demand on the throw-away cluster, so a gate takes one at once: a
//! few connections of their own copy a template (`CREATE DATABASE … TEMPLATE`) into a small
//! channel, and wait while it is full. One pool copies the cluster's empty template; each
//! template an `init` made (issue 18) gets one when its first gate asks.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::{Mutex, mpsc};
use tokio_postgres::Config;

use super::pgclient::{connect, describe, quote};

/// How many databases a pool keeps ready.
const READY: usize = 2;
/// How many connections make databases at once: two share the checkpoints CREATE DATABASE
/// waits for.
const MAKERS: usize = 2;

/// Databases made ahead, and the task making them.
pub(super) struct Pool {
    rx: Mutex<mpsc::Receiver<Result<String, String>>>,
    task: tokio::task::AbortHandle,
}

impl Pool {
    /// Start making copies of `source`, named `gaterun_db_<n>` with `n` from `next` (shared by
    /// every pool of the cluster). Creation runs on connections of its own, so it never
    /// queues behind a drop.
    pub(super) async fn start(
        config: &Config,
        source: &str,
        strategy: &'static str,
        next: Arc<AtomicU64>,
    ) -> Result<Pool, String> {
        let (tx, rx) = mpsc::channel(READY);
        let mut makers = tokio::task::JoinSet::new();
        for _ in 0..MAKERS {
            let maker = connect(config).await?;
            let (tx, next) = (tx.clone(), next.clone());
            let source = quote(source);
            makers.spawn(async move {
                loop {
                    let name = format!("gaterun_db_{}", next.fetch_add(1, Ordering::Relaxed));
                    let made = maker
                        .batch_execute(&format!(
                            "CREATE DATABASE {name} TEMPLATE {source}{strategy}"
                        ))
                        .await
                        .map(|()| name)
                        .map_err(|e| format!("failed to create a database: {}", describe(&e)));
                    let failed = made.is_err();
                    if tx.send(made).await.is_err() || failed {
                        break;
                    }
                }
            });
        }
        let task = tokio::spawn(async move { while makers.join_next().await.is_some() {} });
        Ok(Pool {
            rx: Mutex::new(rx),
            task: task.abort_handle(),
        })
    }

    /// The next database made.
    pub(super) async fn take(&self) -> Result<String, String> {
        self.rx
            .lock()
            .await
            .recv()
            .await
            .unwrap_or_else(|| Err("the database maker stopped".to_owned()))
    }

    pub(super) fn stop(&self) {
        self.task.abort();
    }
}
