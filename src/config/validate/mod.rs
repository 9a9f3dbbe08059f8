//! Raw stage files -> the validated plan. Collects every problem of a file rather than stopping
//! at the first, each located in the file. One file per part of a stage file (stage, gate,
//! service, step and each larger step kind), its error messages beside its checks; `step`
//! holds the table of step kinds; `template` the templates a file defines, `uses` a step that
//! uses one.

mod browser;
mod command;
mod ctx;
mod databases;
mod db_init;
mod defaults;
mod finally;
mod gate;
mod http;
mod http_expect;
mod http_request;
pub mod jsonpath;
mod kind;
mod matrix;
mod mock;
mod patterns;
mod received;
mod run;
mod scope;
pub mod selectors;
mod service;
mod service_start;
mod sign;
mod sql;
mod stage;
mod stage_scope;
mod step;
mod target;
mod template;
mod template_set;
mod uses;

pub use ctx::FileCtx;
#[cfg(test)]
pub use defaults::DEFAULT_GRACE;
pub use defaults::{Defaults, defaults};
pub use gate::MAX_ID;
#[cfg(test)]
pub use matrix::DATABASE_VARS;
pub use matrix::{BUILT_INS, is_gate_id};
pub use stage::stage;
pub use template::{project_templates_used, templates};
pub use template_set::Templates;
