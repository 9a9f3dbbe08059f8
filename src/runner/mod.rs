//! The dispatcher: stages one after another (`stages`), the gates of a stage concurrently
//! (`gates`, each run by the gate executor `gate`, repeated and retried by `rerun`, the runs
//! combined in `combine`), interrupts, and the evidence written after each stage. Gate tasks
//! report progress as events to the one reporter task that owns the terminal. What gates share
//! is `context`; their copy of the evidence `snapshot`; a gate's command from the model
//! `command`; their temp dirs `tmp`; a stage's own setup, shared services and database `scope`;
//! databases from a template `templates`, their init run by `dbinit`.

mod combine;
pub mod command;
pub(crate) mod context;
pub(crate) mod dbinit;
pub(crate) mod fixed_ports;
pub mod gate;
mod gates;
mod rerun;
mod scope;
pub(crate) mod snapshot;
mod stages;
pub mod templates;
pub mod tmp;

pub use context::{RunContext, Secrets};
pub use stages::{Settings, run_stages};
