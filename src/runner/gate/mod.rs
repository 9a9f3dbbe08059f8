//! The gate executor: one gate's lifecycle. `setup` gives it its variables, services and
//! databases; `sequence` runs its services' start-up and its steps in order, each through
//! `retry` (`eventually`, deadlines; the step's own `env` and `workdir` set by `scope`) and
//! [`crate::steps::attempt`], or through `template` for a `use` step; `finally` its teardown
//! steps; `from_template` a database copied from the run's template for it (issue 18);
//! `lifecycle` tears it all down and masks what it leaves. `share` is what a stage's
//! scope (run by this executor as a gate of its own) hands the stage's gates. It owns the gate
//! context (`ctx`) that steps see.

pub mod ctx;
mod finally;
mod from_template;
mod lifecycle;
mod retry;
mod scope;
mod sequence;
mod setup;
mod share;
mod template;

pub use lifecycle::run;
pub use share::{Hold, StageShare};
