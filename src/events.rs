//! The runner → reporter contract: what the runner tells the terminal, in order. A leaf: the
//! runner sends these, the reporter consumes them, and neither imports the other.

use crate::results::{GateResult, StageResult};

#[derive(Debug)]
pub enum Event {
    StageStarted {
        /// The stage's phase and key (`4a`), as results.json names them.
        phase: u32,
        stage: String,
        label: String,
        name: String,
        gates: usize,
    },
    GateStarted {
        gate: String,
    },
    StepStarted {
        gate: String,
        step: String,
    },
    GateFinished {
        stage: String,
        result: Box<GateResult>,
    },
    StageFinished {
        result: Box<StageResult>,
    },
}
