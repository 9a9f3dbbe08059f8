//! Raw stage files -> the validated plan. Collects every problem of a file rather than stopping
//! at the first, each located in the file. One file per part of a stage file (stage, gate,
//! service, step and each larger step kind), its error messages beside its checks; `step`
//! holds the table of step kinds.

mod command;
mod ctx;
mod defaults;
mod finally;
mod gate;
mod http;
pub mod jsonpath;
mod kind;
mod patterns;
mod run;
mod service;
mod service_start;
mod sql;
mod stage;
mod stage_scope;
mod step;

pub use ctx::FileCtx;
#[cfg(test)]
pub use defaults::DEFAULT_GRACE;
pub use defaults::{Defaults, defaults};
pub use gate::MAX_ID;
pub use jsonpath::{can_select_many, jsonpath};
pub use stage::stage;
