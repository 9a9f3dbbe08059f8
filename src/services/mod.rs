//! Background services of a gate: a port each (leased machine-wide, see [`crate::ports`]),
//! started in the order written, waited for with a readiness probe, stopped in reverse order
//! (SIGTERM to the process group, `grace`, SIGKILL).
//!
//! A service that exits before it is ready fails the gate at once, with its status and last
//! output line, never by waiting out the ready timeout. So does one that exits while the gate
//! runs, unless a `stop`/`restart` step asked for it or it says `may_exit: true`: each service
//! has a waiter task that records its exit the moment it happens, and [`Services::watch`] races every
//! step (and the pauses of `eventually`) against those records. A probe that answers counts
//! only when the listener on its port belongs to the service's own processes: an answer from
//! another program on a port the service could not bind is not readiness.
//!
//! `shared` is what a stage's gates see of the stage's shared services (their exits).
//! `set` holds a gate's services and what they borrow of the gate for one call; each other
//! file is one stage of a service's life or one thing it needs.

mod end;
mod exits;
mod listener;
mod output;
mod ready;
mod service;
mod set;
mod shared;
mod start;

pub use service::Service;
pub use set::{Host, Services};
pub use shared::SharedWatch;
