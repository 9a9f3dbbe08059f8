//! A `multipart:` field as written: a text value, or a file part
//! `{ file: PATH, type: MIME, filename: NAME }`.

use std::fmt;

use schemars::JsonSchema;
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};

/// A file part: the file's bytes, with its media type and file name (both defaulted).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawFilePart {
    /// Relative to the gate's `workdir`; may use `${VAR}`.
    pub file: String,
    /// Default: from the file's extension, else `application/octet-stream`.
    #[serde(rename = "type")]
    pub content_type: Option<String>,
    /// Default: the file's name.
    pub filename: Option<String>,
}

#[derive(Debug, Clone)]
pub enum RawPart {
    Text(String),
    File(RawFilePart),
}

impl<'de> Deserialize<'de> for RawPart {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawPart;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a text value, or `{ file: PATH, type: MIME, filename: NAME }`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawPart, E> {
                Ok(RawPart::Text(v.to_owned()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawPart, E> {
                Ok(RawPart::Text(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawPart, E> {
                Ok(RawPart::Text(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<RawPart, E> {
                Ok(RawPart::Text(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<RawPart, E> {
                Ok(RawPart::Text(v.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawPart, A::Error> {
                RawFilePart::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(RawPart::File)
            }
        }
        d.deserialize_any(V)
    }
}

impl JsonSchema for RawPart {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "MultipartPart".into()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let file = generator.subschema_for::<RawFilePart>();
        schemars::json_schema!({
            "description": "A text field, or a file part `{ file: PATH, type: MIME, filename: NAME }`.",
            "anyOf": [{ "type": ["string", "number", "boolean"] }, file]
        })
    }
}
