//! A step's captures as written: a selector, or a map that also marks the value secret.

use std::fmt;

use schemars::JsonSchema;
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};

/// A capture: a selector, or `{ select: SELECTOR, secret: true }` for a value that is masked
/// like a declared secret from then on.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawCaptureMap {
    pub select: String,
    #[serde(default)]
    pub secret: bool,
}

#[derive(Debug, Clone)]
pub struct RawCapture {
    pub select: String,
    pub secret: bool,
}

impl<'de> Deserialize<'de> for RawCapture {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawCapture;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a selector, or `{ select: SELECTOR, secret: true }`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawCapture, E> {
                Ok(RawCapture {
                    select: v.to_owned(),
                    secret: false,
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawCapture, A::Error> {
                let m = RawCaptureMap::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(RawCapture {
                    select: m.select,
                    secret: m.secret,
                })
            }
        }
        d.deserialize_any(V)
    }
}

impl JsonSchema for RawCapture {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Capture".into()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let map = generator.subschema_for::<RawCaptureMap>();
        schemars::json_schema!({
            "description": "A selector (`$.id`, `header:NAME`, `/regex/`, `body`, a column), or `{ select, secret: true }` to mask the value from then on.",
            "anyOf": [{ "type": "string" }, map]
        })
    }
}
