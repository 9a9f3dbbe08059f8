//! A gate's background services as written, with their readiness probe.

use schemars::JsonSchema;
use serde::Deserialize;

use super::command::RawCommand;
use super::values::{OrderedMap, Scalar, Sp};

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawService {
    pub run: Sp<RawCommand>,
    pub env: Option<OrderedMap<Sp<Scalar>>>,
    pub ready: Option<Sp<RawReady>>,
    /// The service may exit while the gate runs (a one-shot job); else its exit fails the gate.
    pub may_exit: Option<bool>,
    /// A fixed port instead of a free one: an error at start when something else holds it.
    pub port: Option<Sp<u32>>,
    /// `auto` (default): started with the gate's services; `manual`: by a `start:` step.
    pub start: Option<Sp<String>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawReady {
    pub http: Option<String>,
    pub tcp: Option<String>,
    pub log: Option<String>,
    pub run: Option<RawCommand>,
    pub timeout: Option<Sp<Scalar>>,
}
