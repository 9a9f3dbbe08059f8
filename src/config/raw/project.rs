//! The files' outer shapes: `gaterun.yaml` and a stage file, with the defaults both may give.

use schemars::JsonSchema;
use serde::Deserialize;

use super::database::RawDatabase;
use super::mock::RawMock;
use super::service::RawService;
use super::step::{RawGate, RawStep};
use super::template::RawTemplates;
use super::values::{OrderedMap, Scalar, Sp};

/// `gaterun.yaml` at the project root.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawProject {
    pub gates: Option<String>,
    pub evidence: Option<String>,
    pub current_phase: Option<Sp<u32>>,
    pub defaults: Option<RawDefaults>,
    /// Templates every stage file may `use`.
    pub templates: Option<RawTemplates>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawDefaults {
    pub timeout: Option<Sp<Scalar>>,
    pub grace: Option<Sp<Scalar>>,
    pub env: Option<OrderedMap<Sp<Scalar>>>,
}

/// One stage file.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawStage {
    pub phase: Option<Sp<u32>>,
    pub stage: Sp<Scalar>,
    pub name: String,
    pub goal: Option<String>,
    pub risk: Option<String>,
    pub open_questions: Option<Vec<String>>,
    pub defaults: Option<RawDefaults>,
    pub serial: Option<bool>,
    /// Templates this file's gates may `use`, beside gaterun.yaml's.
    pub templates: Option<RawTemplates>,
    /// Steps run once before the stage's gates, in the stage's own scope.
    pub setup: Option<Sp<Vec<Sp<RawStep>>>>,
    /// Services started once for the stage, shared by all its gates.
    pub services: Option<Sp<OrderedMap<RawService>>>,
    /// A fresh database for the stage's scope (`sqlite`, `postgres` or `mysql`, or `{ kind, init }`).
    pub database: Option<Sp<RawDatabase>>,
    /// Fake HTTP APIs up for the whole stage, shared by all its gates.
    pub mocks: Option<Sp<OrderedMap<RawMock>>>,
    pub gates: Sp<Vec<Sp<RawGate>>>,
}
