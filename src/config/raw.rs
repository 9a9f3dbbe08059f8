//! Raw serde types: the stage file exactly as written, with source locations kept.
//!
//! Nothing here is trusted: `validate` turns these into the plan the runner uses. Every struct
//! denies unknown fields so a typo is an error with a location, never a silently ignored key.
//! Fields that accept several shapes (a shell string or an argv list, one pattern or a list) use
//! small hand-written visitors instead of `#[serde(untagged)]`, which would lose both the
//! location and the error message.

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use schemars::JsonSchema;
use serde::Deserialize;
use serde::de::{self, Deserializer, IntoDeserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{Location, Spanned};

/// A value and where it stands in the file. Wraps serde-saphyr's `Spanned` so the JSON Schema
/// of a field is simply the schema of its value.
#[derive(Debug, Clone)]
pub struct Sp<T> {
    pub value: T,
    pub referenced: Location,
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Sp<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = Spanned::<T>::deserialize(d)?;
        Ok(Sp {
            value: s.value,
            referenced: s.referenced,
        })
    }
}

impl<T: JsonSchema> JsonSchema for Sp<T> {
    fn inline_schema() -> bool {
        T::inline_schema()
    }
    fn schema_name() -> std::borrow::Cow<'static, str> {
        T::schema_name()
    }
    fn schema_id() -> std::borrow::Cow<'static, str> {
        T::schema_id()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        T::json_schema(generator)
    }
}

/// `gaterun.yaml` at the project root.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawProject {
    pub gates: Option<String>,
    pub evidence: Option<String>,
    pub current_phase: Option<Sp<u32>>,
    pub defaults: Option<RawDefaults>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawDefaults {
    pub timeout: Option<Sp<Scalar>>,
    pub grace: Option<Sp<Scalar>>,
    pub env: Option<OrderedMap<Sp<Scalar>>>,
}

/// One stage file.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawStage {
    pub phase: Option<Sp<u32>>,
    pub stage: Sp<Scalar>,
    pub name: String,
    pub goal: Option<String>,
    pub risk: Option<String>,
    pub open_questions: Option<Vec<String>>,
    pub defaults: Option<RawDefaults>,
    pub serial: Option<bool>,
    pub gates: Sp<Vec<Sp<RawGate>>>,
}

/// Declares a struct with the given fields followed by every key a step may have. A gate with
/// a single step may write that step's keys inline, so `RawGate` and `RawStep` share them;
/// serde's `flatten` would do this but cannot be combined with `deny_unknown_fields`.
macro_rules! with_step_keys {
    ($(#[$meta:meta])* pub struct $name:ident { $($field:ident : $ty:ty),* $(,)? }) => {
        $(#[$meta])*
        pub struct $name {
            $(pub $field: $ty,)*
            pub name: Option<String>,
            pub expect: Option<Sp<RawExpect>>,
            pub timeout: Option<Sp<Scalar>>,
            pub eventually: Option<Sp<Scalar>>,
            pub capture: Option<BTreeMap<String, Sp<RawCapture>>>,
            pub run: Option<Sp<RawCommand>>,
            pub http: Option<Sp<String>>,
            pub headers: Option<OrderedMap<Scalar>>,
            pub json: Option<serde_json::Value>,
            pub body: Option<String>,
            pub follow_redirects: Option<bool>,
            pub tcp: Option<Sp<String>>,
            pub sql: Option<Sp<String>>,
            pub file: Option<Sp<String>>,
            pub start: Option<Sp<String>>,
            pub stop: Option<Sp<String>>,
            pub restart: Option<Sp<String>>,
            pub signal: Option<Sp<String>>,
        }
    };
}

with_step_keys! {
    #[derive(Debug, Deserialize, JsonSchema)]
    #[serde(deny_unknown_fields)]
    pub struct RawGate {
        id: Sp<String>,
        title: String,
        tags: Option<Vec<String>>,
        grace: Option<Sp<Scalar>>,
        workdir: Option<Sp<String>>,
        env: Option<OrderedMap<Sp<Scalar>>>,
        secrets: Option<Vec<Sp<String>>>,
        database: Option<Sp<String>>,
        services: Option<Sp<OrderedMap<RawService>>>,
        steps: Option<Sp<Vec<Sp<RawStep>>>>,
    }
}

with_step_keys! {
    #[derive(Debug, Default, Deserialize, JsonSchema)]
    #[serde(deny_unknown_fields)]
    pub struct RawStep {}
}

impl RawGate {
    /// The step keys written at gate level, as a step of their own (the inline form).
    pub fn take_inline_step(&mut self) -> RawStep {
        RawStep {
            name: self.name.take(),
            expect: self.expect.take(),
            timeout: None, // at gate level, `timeout` is the gate's deadline
            eventually: self.eventually.take(),
            capture: self.capture.take(),
            run: self.run.take(),
            http: self.http.take(),
            headers: self.headers.take(),
            json: self.json.take(),
            body: self.body.take(),
            follow_redirects: self.follow_redirects.take(),
            tcp: self.tcp.take(),
            sql: self.sql.take(),
            file: self.file.take(),
            start: self.start.take(),
            stop: self.stop.take(),
            restart: self.restart.take(),
            signal: self.signal.take(),
        }
    }
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawExpect {
    pub exit: Option<Sp<OneOrMany<i64>>>,
    pub stdout: Option<Sp<OneOrMany<RawPattern>>>,
    pub stderr: Option<Sp<OneOrMany<RawPattern>>>,
    pub status: Option<Sp<OneOrMany<Scalar>>>,
    pub headers: Option<OrderedMap<OneOrMany<RawPattern>>>,
    pub body: Option<Sp<OneOrMany<RawPattern>>>,
    pub json: Option<OrderedMap<ExactValue>>,
    pub open: Option<bool>,
    pub rows: Option<Vec<Vec<ExactValue>>>,
    pub count: Option<u64>,
    #[serde(default, deserialize_with = "present")]
    pub value: Option<ExactValue>,
    pub error: Option<Sp<OneOrMany<RawPattern>>>,
    pub exists: Option<bool>,
    pub contains: Option<Sp<OneOrMany<RawPattern>>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawService {
    pub run: Sp<RawCommand>,
    pub env: Option<OrderedMap<Sp<Scalar>>>,
    pub ready: Option<Sp<RawReady>>,
    /// The service may exit while the gate runs (a one-shot job); else its exit fails the gate.
    pub may_exit: Option<bool>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawReady {
    pub http: Option<String>,
    pub tcp: Option<String>,
    pub log: Option<String>,
    pub run: Option<RawCommand>,
    pub timeout: Option<Sp<Scalar>>,
}

/// A command: a shell string for `sh -c`, or an argv list run directly.
#[derive(Debug, Clone)]
pub enum RawCommand {
    Shell(String),
    Argv(Vec<String>),
}

impl<'de> Deserialize<'de> for RawCommand {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawCommand;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a shell command string or a list of arguments")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawCommand, E> {
                Ok(RawCommand::Shell(v.to_owned()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawCommand, A::Error> {
                let mut argv = Vec::new();
                while let Some(arg) = seq.next_element::<Scalar>()? {
                    argv.push(arg.0);
                }
                Ok(RawCommand::Argv(argv))
            }
        }
        d.deserialize_any(V)
    }
}

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
            "description": "A selector (`$.id`, `header:NAME`, `/regex/`, a column), or `{ select, secret: true }` to mask the value from then on.",
            "anyOf": [{ "type": "string" }, map]
        })
    }
}

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

/// The source text of the scalar at `at`, trimmed.
pub fn source_text(source: &str, at: Location) -> Option<&str> {
    let span = at.span();
    let start = usize::try_from(span.byte_offset()?).ok()?;
    let len = usize::try_from(span.byte_len()?).ok()?;
    Some(source.get(start..start.checked_add(len)?)?.trim())
}

impl Sp<Scalar> {
    /// The text as written, for values a shell or program reads as text (`env`): a plain
    /// scalar the YAML parser read as a number keeps its spelling (`3.10` stays `3.10`, not
    /// `3.1`; `010` stays `010`). Quoted, multi-line, tagged and aliased scalars keep the
    /// parser's value.
    pub fn as_written(&self, source: &str) -> String {
        let plain = source_text(source, self.referenced).filter(|t| {
            !t.is_empty()
                && !t.contains(['\n', '#'])
                && !t.starts_with(['"', '\'', '|', '>', '*', '&', '!', '[', '{'])
        });
        match plain {
            Some(t) if t != self.value.0 => t.to_owned(),
            _ => self.value.0.clone(),
        }
    }
}

/// `value: null` expects a NULL cell; serde's `Option` would read it as no `value` at all, an
/// expectation that holds for anything.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<ExactValue>, D::Error> {
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

/// Any scalar, kept as the text it was written as (`30s`, `4a`, `8080`, `true`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scalar(pub String);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ScalarVisitor)
    }
}

/// A mapping key exactly as written: `Y`, `ON`, `no`, `TRUE`, `010` stay text. Asking for a
/// string makes the parser hand over the scalar's text without resolving a type (YAML 1.1
/// would make `Y` the boolean true, so `env: { Y: a }` defined a variable named `true`).
struct Key(String);

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(ScalarVisitor).map(|s| Key(s.0))
    }
}

struct ScalarVisitor;

impl Visitor<'_> for ScalarVisitor {
    type Value = Scalar;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string or a number")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
        Ok(Scalar(v.to_owned()))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
        Ok(Scalar(v.to_string()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
        Ok(Scalar(v.to_string()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
        Ok(Scalar(v.to_string()))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar, E> {
        Ok(Scalar(v.to_string()))
    }
}

/// One value or a list of them (`exit: 3`, `exit: [0, 1]`).
#[derive(Debug, Clone)]
pub struct OneOrMany<T>(pub Vec<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for OneOrMany<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = OneOrMany<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a value or a list of values")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                T::deserialize(v.to_owned().into_deserializer()).map(|t| OneOrMany(vec![t]))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                T::deserialize(v.into_deserializer()).map(|t| OneOrMany(vec![t]))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                T::deserialize(v.into_deserializer()).map(|t| OneOrMany(vec![t]))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                T::deserialize(v.into_deserializer()).map(|t| OneOrMany(vec![t]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(OneOrMany(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(|t| OneOrMany(vec![t]))
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// A mapping that keeps the order it was written in (environment entries may refer to earlier
/// ones). Duplicate keys are already rejected by the parser.
#[derive(Debug, Clone)]
pub struct OrderedMap<V>(pub Vec<(String, V)>);

impl<V> Default for OrderedMap<V> {
    fn default() -> Self {
        OrderedMap(Vec::new())
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for OrderedMap<V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Vis<V>(PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for Vis<V> {
            type Value = OrderedMap<V>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mapping")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::new();
                while let Some((k, v)) = map.next_entry::<Key, V>()? {
                    entries.push((k.0, v));
                }
                Ok(OrderedMap(entries))
            }
        }
        d.deserialize_map(Vis(PhantomData))
    }
}

impl JsonSchema for RawCommand {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Command".into()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let arg = generator.subschema_for::<Scalar>();
        schemars::json_schema!({
            "description": "A shell command (run with `sh -c`) or a list of arguments (run directly).",
            "anyOf": [
                { "type": "string" },
                { "type": "array", "items": arg, "minItems": 1 }
            ]
        })
    }
}

impl JsonSchema for Scalar {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Scalar".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": ["string", "number", "boolean"] })
    }
}

impl<T: JsonSchema> JsonSchema for OneOrMany<T> {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> std::borrow::Cow<'static, str> {
        format!("OneOrMany_{}", T::schema_name()).into()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let item = generator.subschema_for::<T>();
        schemars::json_schema!({ "anyOf": [item.clone(), { "type": "array", "items": item }] })
    }
}

impl<V: JsonSchema> JsonSchema for OrderedMap<V> {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> std::borrow::Cow<'static, str> {
        format!("Map_{}", V::schema_name()).into()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let value = generator.subschema_for::<V>();
        schemars::json_schema!({ "type": "object", "additionalProperties": value })
    }
}
