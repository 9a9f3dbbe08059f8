//! `database:` as written: a kind (`postgres`, `${DB}`), or `{ kind, init }`, a database made
//! from a template that `init` prepared once per run; and `init` itself: a shell command, or
//! `{ run, inputs }`, or `{ sql: [files] }`. Hand-written visitors, as for commands, so every
//! shape keeps its location and a wrong key is located.

use std::fmt;

use schemars::JsonSchema;
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};

use super::values::Sp;

/// The long form of `database:`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawDatabaseMap {
    /// `sqlite` or `postgres` (a matrix variable may stand for it).
    pub kind: Sp<String>,
    /// What prepares the template every gate's database is copied from.
    pub init: Option<Sp<RawInit>>,
}

#[derive(Debug, Clone)]
pub enum RawDatabase {
    /// `database: postgres`
    Kind(String),
    /// `database: { kind: postgres, init: ./migrate up }`
    Map(RawDatabaseMap),
}

/// The long form of `init:`: a command and the files it reads, or SQL files run in order.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawInitMap {
    /// A shell command (`sh -c`), run in the gate's workdir with the template's variables.
    pub run: Option<Sp<String>>,
    /// Files and directories the command reads: their content is part of the template's key.
    pub inputs: Option<Vec<Sp<String>>>,
    /// SQL files run in order on the template database.
    pub sql: Option<Sp<Vec<Sp<String>>>>,
}

#[derive(Debug, Clone)]
pub enum RawInit {
    /// `init: ./migrate up`
    Shell(String),
    Map(RawInitMap),
}

impl<'de> Deserialize<'de> for RawDatabase {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawDatabase;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a database kind (`sqlite`, `postgres`), or `{ kind, init }`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawDatabase, E> {
                Ok(RawDatabase::Kind(v.to_owned()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawDatabase, A::Error> {
                RawDatabaseMap::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(RawDatabase::Map)
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for RawInit {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawInit;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a shell command, `{ run, inputs }` or `{ sql: [files] }`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawInit, E> {
                Ok(RawInit::Shell(v.to_owned()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawInit, A::Error> {
                RawInitMap::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(RawInit::Map)
            }
        }
        d.deserialize_any(V)
    }
}

impl JsonSchema for RawDatabase {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Database".into()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let map = generator.subschema_for::<RawDatabaseMap>();
        schemars::json_schema!({
            "description": "A fresh database: its kind (`sqlite`, `postgres`), or `{ kind, init }` to copy it from a template `init` prepared once per run.",
            "anyOf": [{ "type": "string" }, map]
        })
    }
}

impl JsonSchema for RawInit {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "DatabaseInit".into()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let map = generator.subschema_for::<RawInitMap>();
        schemars::json_schema!({
            "description": "What prepares a template database: a shell command, `{ run, inputs }`, or `{ sql: [files] }`.",
            "anyOf": [{ "type": "string" }, map]
        })
    }
}
