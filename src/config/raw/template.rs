//! A template as written (`templates:` in gaterun.yaml or a stage file): steps reused by
//! several gates, with the params they take and the captures they hand back.

use schemars::JsonSchema;
use serde::Deserialize;

use super::step::RawStep;
use super::values::{OrderedMap, Sp};

/// `templates:`: name -> template, in the order written.
pub type RawTemplates = Sp<OrderedMap<Sp<RawTemplate>>>;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawTemplate {
    /// Required inputs, given by `with:` at each `use`; `${NAME}` inside the steps.
    pub params: Option<Sp<Vec<Sp<String>>>>,
    /// Checked like a gate's steps.
    pub steps: Sp<Vec<Sp<RawStep>>>,
    /// The captures that reach the caller; every other capture ends with the template.
    pub outputs: Option<Sp<Vec<Sp<String>>>>,
}
