//! The gate executor: one gate's lifecycle. `setup` gives it its variables, services and
//! databases; `sequence` runs its services' start-up and its steps in order, each through
//! `retry` (`eventually`, deadlines; the step's own `env` and `workdir` set by `scope`) and
//! [`crate::steps::attempt`], or through `template` for a `use` step; `lifecycle` tears it all
//! down and masks what it leaves. It owns the gate context (`ctx`) that steps see.

pub mod ctx;
mod lifecycle;
mod retry;
mod scope;
mod sequence;
mod setup;
mod template;

pub use lifecycle::run;
