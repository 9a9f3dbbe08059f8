//! The gate executor: one gate's lifecycle. `setup` gives it its variables, services and
//! database; `sequence` runs its services' start-up and its steps in order, each through
//! `retry` (`eventually`, deadlines) and [`crate::steps::attempt`]; `finally` its teardown
//! steps; `lifecycle` tears it all down and masks what it leaves. `share` is what a stage's
//! scope (run by this executor as a gate of its own) hands the stage's gates. It owns the gate
//! context (`ctx`) that steps see.

pub mod ctx;
mod finally;
mod lifecycle;
mod retry;
mod sequence;
mod setup;
mod share;

pub use lifecycle::run;
pub use share::{Hold, StageShare};
