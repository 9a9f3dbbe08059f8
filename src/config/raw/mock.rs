//! Issue 20: a gate's (or a stage's) fake HTTP APIs as written: each mock's routes, what a
//! route matches in a request and what it answers, and the answer to a request no route takes.

use schemars::JsonSchema;
use serde::Deserialize;

use super::exact::ExactValue;
use super::pattern::RawPattern;
use super::values::{OneOrMany, OrderedMap, Scalar, Sp};

/// One mock: its routes, tried in order, and what a request none of them takes gets.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawMock {
    pub routes: Option<Sp<Vec<Sp<RawRoute>>>>,
    /// Default `{ status: 404 }`; such a request is recorded as unexpected.
    pub unmatched: Option<Sp<RawResponse>>,
}

/// `match: METHOD PATH` (PATH may be `/regex/`), optional matchers on the request, `respond`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRoute {
    pub r#match: Sp<String>,
    /// JSONPath → exact value or matchers, as `expect.json`.
    pub json: Option<OrderedMap<ExactValue>>,
    /// Header name → patterns or matchers, as `expect.headers`.
    pub headers: Option<OrderedMap<OneOrMany<RawPattern>>>,
    /// Query parameter → patterns or matchers, as a header.
    pub query: Option<OrderedMap<OneOrMany<RawPattern>>>,
    /// Patterns on the body's text, as `expect.body`.
    pub body: Option<Sp<OneOrMany<RawPattern>>>,
    /// One response, or a sequence whose last one repeats.
    pub respond: Sp<OneOrMany<RawResponse>>,
}

/// What a mock answers: status (default 200), headers, a `json` or text `body`, a `delay`
/// before it, or `drop: true` to close the connection without one.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawResponse {
    pub status: Option<Sp<Scalar>>,
    pub headers: Option<OrderedMap<Scalar>>,
    pub json: Option<ExactValue>,
    pub body: Option<String>,
    pub delay: Option<Sp<Scalar>>,
    pub drop: Option<bool>,
}
