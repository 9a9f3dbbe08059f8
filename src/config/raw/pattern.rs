//! Text patterns as written (`stdout`, `body`, `headers`, `contains`, `error`): a string, or a
//! map of matchers that `validate` reads.

use std::fmt;

use schemars::JsonSchema;
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};

use super::values::Scalar;

/// A text pattern as written: a string (substring, `/regex/`, `!negated`), or a map of
/// matchers such as `{ equals: "ok" }` (headers also take `exists` and `count`).
#[derive(Debug, Clone)]
pub enum RawPattern {
    Text(String),
    Map(Vec<(String, serde_json::Value)>),
}

impl<'de> Deserialize<'de> for RawPattern {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawPattern;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a pattern string or a map like `{ equals: \"ok\" }`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawPattern, E> {
                Ok(RawPattern::Text(v.to_owned()))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawPattern, A::Error> {
                let mut entries = Vec::new();
                while let Some((k, v)) = map.next_entry::<Scalar, serde_json::Value>()? {
                    entries.push((k.0, v));
                }
                Ok(RawPattern::Map(entries))
            }
        }
        d.deserialize_any(V)
    }
}

impl JsonSchema for RawPattern {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Pattern".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A text pattern: a substring, `/regex/`, `!` to negate; or `{ equals: TEXT }` for the whole text (headers also take `exists` and `count`).",
            "anyOf": [
                { "type": "string" },
                {
                    "type": "object",
                    "properties": {
                        "equals": { "type": "string" },
                        "exists": { "type": "boolean" },
                        "count": {}
                    },
                    "additionalProperties": false
                }
            ]
        })
    }
}
