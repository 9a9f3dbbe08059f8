//! The contract between `step` and each kind's validator: what a kind takes (`Kind`, one entry
//! of the table in `step`) and what its builder is handed (`Input`). A leaf, so that the
//! kinds' files and `step` can both name it without importing each other.

use serde_saphyr::Location;

use super::ctx::FileCtx;
use crate::config::model::StepKind;
use crate::config::raw::{RawExpect, RawStep};

/// Checks a capture selector: why it is not one the kind can use.
pub type CaptureCheck = fn(&str) -> Result<(), String>;

/// One step kind: its key, what it takes, how it is built.
pub struct Kind {
    /// The key that names it, as in `RawStep::KINDS`.
    pub name: &'static str,
    /// The keys it takes beyond the common ones (of `RawStep::kind_keys`).
    pub keys: &'static [&'static str],
    /// Its `expect` keys.
    pub expect: &'static [&'static str],
    /// Whether the gate must declare a `database`.
    pub database: bool,
    /// How a capture selector is checked; `None`: the kind captures nothing.
    pub capture: Option<CaptureCheck>,
    pub build: Build,
}

/// Builds the model's step kind, every problem found reported to the context.
pub type Build = fn(&mut FileCtx, Input) -> Option<StepKind>;

/// A table entry reads as one line: `Kind::new("tcp", tcp).expect(&["open"])`.
impl Kind {
    /// A kind that takes no keys beyond the common ones, no `expect`, no database, no capture.
    pub const fn new(name: &'static str, build: Build) -> Kind {
        Kind {
            name,
            keys: &[],
            expect: &[],
            database: false,
            capture: None,
            build,
        }
    }

    pub const fn keys(self, keys: &'static [&'static str]) -> Kind {
        Kind { keys, ..self }
    }

    pub const fn expect(self, expect: &'static [&'static str]) -> Kind {
        Kind { expect, ..self }
    }

    pub const fn database(self) -> Kind {
        Kind {
            database: true,
            ..self
        }
    }

    pub const fn capture(self, check: CaptureCheck) -> Kind {
        Kind {
            capture: Some(check),
            ..self
        }
    }
}

/// What a kind's builder is handed: the step (its common keys already read) and its `expect`.
pub struct Input<'a> {
    /// The kind's key, for a builder that serves several (`start`, `stop`, `restart`).
    pub kind: &'static str,
    pub raw: RawStep,
    /// Where the step stands.
    pub at: Location,
    pub expect: RawExpect,
    /// Where `expect` stands, else the step.
    pub expect_at: Location,
    /// The gate's services, by name.
    pub services: &'a [&'a str],
    /// Whether the gate has a database (what a template's `sql` steps need).
    pub has_db: bool,
}
