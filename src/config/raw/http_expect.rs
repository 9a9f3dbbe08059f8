//! An `http` step's expectations on the response as a whole, as written (issue 18):
//! `duration` bounds and the body's `bytes` (`xpath` and `css` are maps of patterns, like
//! `headers`).

use schemars::JsonSchema;
use serde::Deserialize;

use super::values::{Scalar, Sp};

/// `duration: { lt: 500ms }`: bounds on the time from sending the request to the end of the
/// body.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawDuration {
    pub lt: Option<Sp<Scalar>>,
    pub le: Option<Sp<Scalar>>,
    pub gt: Option<Sp<Scalar>>,
    pub ge: Option<Sp<Scalar>>,
}

/// `bytes: { count: N, sha256: HEX }` on the body's bytes; `count` may be a map of `gt`, `ge`,
/// `lt`, `le`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawBytes {
    pub count: Option<serde_json::Value>,
    pub sha256: Option<Scalar>,
}
