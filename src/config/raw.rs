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
    pub env: Option<OrderedMap<Scalar>>,
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
            pub capture: Option<BTreeMap<String, Sp<String>>>,
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
        env: Option<OrderedMap<Scalar>>,
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
    pub stdout: Option<Sp<OneOrMany<String>>>,
    pub stderr: Option<Sp<OneOrMany<String>>>,
    pub status: Option<Sp<OneOrMany<Scalar>>>,
    pub headers: Option<OrderedMap<OneOrMany<String>>>,
    pub body: Option<Sp<OneOrMany<String>>>,
    pub json: Option<OrderedMap<serde_json::Value>>,
    pub open: Option<bool>,
    pub rows: Option<Vec<Vec<serde_json::Value>>>,
    pub count: Option<u64>,
    pub value: Option<serde_json::Value>,
    pub error: Option<Sp<OneOrMany<String>>>,
    pub exists: Option<bool>,
    pub contains: Option<Sp<OneOrMany<String>>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawService {
    pub run: Sp<RawCommand>,
    pub env: Option<OrderedMap<Scalar>>,
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

/// Any scalar, kept as the text it was written as (`30s`, `4a`, `8080`, `true`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scalar(pub String);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
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
        d.deserialize_any(V)
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
                while let Some((k, v)) = map.next_entry::<Scalar, V>()? {
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
