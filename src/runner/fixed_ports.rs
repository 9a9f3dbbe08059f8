//! Fixed ports (`port: 8080` on a service) within one run: two gates asking for the same one
//! would collide, so they take turns — a gate (or a stage's scope) holds a lock per fixed port
//! of its services from before its setup to after its teardown. Locks are taken in port order,
//! so two gates asking for the same two ports cannot wait on each other. Across runs, the
//! port's machine-wide lease ([`crate::ports::PortLease::fixed`]) makes the second an error.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::OwnedMutexGuard;

use crate::config::ServiceDef;

#[derive(Default)]
pub struct FixedPorts(Mutex<HashMap<u16, Arc<tokio::sync::Mutex<()>>>>);

/// Held while a gate runs: its fixed ports are its own within the run.
pub type PortTurn = Vec<OwnedMutexGuard<()>>;

impl FixedPorts {
    /// Wait for the turn of a gate with these services.
    pub async fn turn(&self, services: &[ServiceDef]) -> PortTurn {
        let mut ports: Vec<u16> = services.iter().filter_map(|s| s.port).collect();
        ports.sort_unstable();
        ports.dedup();
        let mut held = Vec::new();
        for port in ports {
            let lock = self
                .0
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .entry(port)
                .or_default()
                .clone();
            held.push(lock.lock_owned().await);
        }
        held
    }
}
