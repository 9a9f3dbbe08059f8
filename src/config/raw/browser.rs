//! A `browser` step's own shapes as written (issue 19): its `actions` (each one of `click`,
//! `fill`, `press`, `wait_for`), and `expect.count`, which a `sql` step writes as a number of
//! rows and a `browser` step as a map of selectors to counts.

use std::fmt;

use schemars::JsonSchema;
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};

use super::values::{OrderedMap, Scalar, Sp};

/// One action, a map with one key: `click: SELECTOR`, `fill: { SELECTOR: TEXT }`,
/// `press: KEY`, `wait_for: SELECTOR`. An unknown key is serde's located error.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAction {
    pub click: Option<Sp<String>>,
    pub fill: Option<Sp<OrderedMap<Sp<Scalar>>>>,
    pub press: Option<Sp<String>>,
    pub wait_for: Option<Sp<String>>,
}

/// `expect.count`: rows of a `sql` step (`count: 3`), or elements of a `browser` step by
/// selector (`count: { "li": 3 }`, each a whole number or a map of `gt`, `ge`, `lt`, `le`).
#[derive(Debug, Clone)]
pub enum RawCount {
    Rows(u64),
    Selectors(OrderedMap<Sp<serde_json::Value>>),
}

impl<'de> Deserialize<'de> for RawCount {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawCount;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a whole number, or a map of selectors to counts")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawCount, E> {
                Ok(RawCount::Rows(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawCount, E> {
                u64::try_from(v)
                    .map(RawCount::Rows)
                    .map_err(|_| E::custom(format!("a count is a whole number, got {v}")))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawCount, A::Error> {
                OrderedMap::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(RawCount::Selectors)
            }
        }
        d.deserialize_any(V)
    }
}

impl JsonSchema for RawCount {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "RawCount".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "anyOf": [
            { "type": "integer", "minimum": 0 },
            { "type": "object", "additionalProperties": true },
        ] })
    }
}
