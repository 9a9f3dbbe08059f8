//! Expected values (`expect.json`, `expect.rows`, `expect.value`) as written: numbers keep
//! their source text, because the YAML parser would round a literal too precise for a double.

use std::fmt;

use schemars::JsonSchema;
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{Location, Spanned};

use super::values::{Scalar, source_text};

/// An expected value as written: JSON-like, with the location of every number, so that a
/// literal too precise for a double (`1000000000000000000001`, `0.30000000000000000001`) is read
/// back exactly from the file (see `to_json`) instead of being rounded by the YAML parser.
#[derive(Debug, Clone)]
pub enum ExactValue {
    Null,
    Bool(bool),
    Number(serde_json::Number, Option<Location>),
    String(String),
    Seq(Vec<ExactValue>),
    Map(Vec<(String, ExactValue)>),
}

impl ExactValue {
    /// The JSON value, each number taken from its source text when that is a plain JSON number.
    pub fn to_json(&self, source: &str) -> serde_json::Value {
        use serde_json::Value;
        match self {
            ExactValue::Null => Value::Null,
            ExactValue::Bool(b) => Value::Bool(*b),
            ExactValue::Number(n, at) => Value::Number(
                at.and_then(|at| literal(source, at))
                    .unwrap_or_else(|| n.clone()),
            ),
            ExactValue::String(s) => Value::String(s.clone()),
            ExactValue::Seq(items) => {
                Value::Array(items.iter().map(|i| i.to_json(source)).collect())
            }
            ExactValue::Map(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_json(source)))
                    .collect(),
            ),
        }
    }
}

/// The number written at `at`, exactly, if the text there is a plain JSON number.
fn literal(source: &str, at: Location) -> Option<serde_json::Number> {
    let mut text = source_text(source, at)?;
    if let Some(alias) = text.strip_prefix('*') {
        // An alias: the number its anchor, the last `&NAME` before it, stands before.
        let before = source.get(..usize::try_from(at.span().byte_offset()?).ok()?)?;
        let anchor = format!("&{alias}");
        let (pos, _) = before.rmatch_indices(&anchor).find(|(i, _)| {
            before[i + anchor.len()..]
                .chars()
                .next()
                .is_some_and(char::is_whitespace)
        })?;
        let rest = before[pos + anchor.len()..].trim_start();
        let end = rest
            .find(|c: char| c.is_whitespace() || matches!(c, ',' | ']' | '}' | '#'))
            .unwrap_or(rest.len());
        text = &rest[..end];
    }
    crate::expect::number::Decimal::parse(text)?;
    serde_json::from_str(text).ok()
}

/// `value: null` expects a NULL cell; serde's `Option` would read it as no `value` at all, an
/// expectation that holds for anything.
pub(super) fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<ExactValue>, D::Error> {
    ExactValue::deserialize(d).map(Some)
}

impl<'de> Deserialize<'de> for ExactValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = Spanned::<ExactInner>::deserialize(d)?;
        Ok(match s.value.0 {
            ExactValue::Number(n, _) => ExactValue::Number(n, Some(s.referenced)),
            other => other,
        })
    }
}

struct ExactInner(ExactValue);

impl<'de> Deserialize<'de> for ExactInner {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ExactInner;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a value")
            }
            fn visit_unit<E: de::Error>(self) -> Result<ExactInner, E> {
                Ok(ExactInner(ExactValue::Null))
            }
            fn visit_none<E: de::Error>(self) -> Result<ExactInner, E> {
                Ok(ExactInner(ExactValue::Null))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<ExactInner, E> {
                Ok(ExactInner(ExactValue::Bool(v)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ExactInner, E> {
                Ok(ExactInner(ExactValue::Number(v.into(), None)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ExactInner, E> {
                Ok(ExactInner(ExactValue::Number(v.into(), None)))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<ExactInner, E> {
                serde_json::Number::from_f64(v)
                    .map(|n| ExactInner(ExactValue::Number(n, None)))
                    .ok_or_else(|| E::custom("a number must be finite"))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ExactInner, E> {
                Ok(ExactInner(ExactValue::String(v.to_owned())))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ExactInner, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<ExactValue>()? {
                    items.push(item);
                }
                Ok(ExactInner(ExactValue::Seq(items)))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ExactInner, A::Error> {
                let mut entries = Vec::new();
                while let Some((k, v)) = map.next_entry::<Scalar, ExactValue>()? {
                    entries.push((k.0, v));
                }
                Ok(ExactInner(ExactValue::Map(entries)))
            }
        }
        d.deserialize_any(V)
    }
}

impl JsonSchema for ExactValue {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Value".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "An exact value (compared by type; numbers by value), a string `/regex/` or `!not-equal`, or a map of matchers."
        })
    }
}
