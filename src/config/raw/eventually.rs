//! `eventually` as written: a budget (`10s`, retried with a growing pause), or
//! `{ within: 10s, every: 500ms }` (retried at a fixed interval). A hand-written visitor, as for
//! captures, so both shapes keep their locations and a wrong key is located.

use std::fmt;

use schemars::JsonSchema;
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};

use super::values::{Scalar, Sp};

/// The long form: how long to keep trying, and how long to wait between attempts.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawEventuallyMap {
    pub within: Sp<Scalar>,
    pub every: Sp<Scalar>,
}

#[derive(Debug, Clone)]
pub enum RawEventually {
    /// `eventually: 10s`
    Within(Scalar),
    /// `eventually: { within: 10s, every: 500ms }`
    Every(RawEventuallyMap),
}

impl<'de> Deserialize<'de> for RawEventually {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawEventually;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a duration (`10s`), or `{ within: 10s, every: 500ms }`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawEventually, E> {
                Ok(RawEventually::Within(Scalar(v.to_owned())))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawEventually, E> {
                Ok(RawEventually::Within(Scalar(v.to_string())))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawEventually, E> {
                Ok(RawEventually::Within(Scalar(v.to_string())))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<RawEventually, E> {
                Ok(RawEventually::Within(Scalar(v.to_string())))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawEventually, A::Error> {
                RawEventuallyMap::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(RawEventually::Every)
            }
        }
        d.deserialize_any(V)
    }
}

impl JsonSchema for RawEventually {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Eventually".into()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let map = generator.subschema_for::<RawEventuallyMap>();
        schemars::json_schema!({
            "description": "Retry a failed check: a budget (`10s`, with a growing pause), or `{ within, every }` (a fixed interval).",
            "anyOf": [{ "type": ["string", "number"] }, map]
        })
    }
}
