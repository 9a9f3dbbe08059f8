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

/// One value of an `xpath` or `css` map, as written: a text pattern, or a map of the value
/// matchers (`{ equals: [...] }`, `{ count: 2 }`, `{ matches: RE }`). Read as a
/// [`RawPattern`]; its own schema, since a node's matchers are not a header's.
#[derive(Debug, Clone)]
pub struct NodePattern(pub super::pattern::RawPattern);

impl<'de> Deserialize<'de> for NodePattern {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        super::pattern::RawPattern::deserialize(d).map(NodePattern)
    }
}

impl JsonSchema for NodePattern {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "NodePattern".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let matchers: serde_json::Map<String, serde_json::Value> =
            crate::expect::value::parse::MATCHERS
                .iter()
                .map(|m| ((*m).to_owned(), serde_json::json!({})))
                .collect();
        schemars::json_schema!({
            "description": "A text pattern (a substring, `/regex/`, `!` to negate), or a map of matchers on the selected nodes: `equals` (a value or a list, one per node), `contains`, `matches`, `exists`, `count`, `type`, and for XPath numbers `gt`, `ge`, `lt`, `le`.",
            "anyOf": [
                { "type": "string" },
                { "type": "object", "properties": matchers, "additionalProperties": false }
            ]
        })
    }
}
