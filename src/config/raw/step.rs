//! A gate's and a step's keys, listed once. A gate with a single step may write that step's
//! keys inline, so `RawGate` and `RawStep` share them; serde's `flatten` would do this but
//! cannot be combined with `deny_unknown_fields`, so `step_keys!` declares both from one list,
//! with what `validate` asks of a step (its kinds, its kind-specific keys). A new step kind is
//! one line in `kinds` below.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;
use serde_saphyr::Location;

use super::capture::RawCapture;
use super::command::RawCommand;
use super::exact::{ExactValue, present};
use super::pattern::RawPattern;
use super::service::RawService;
use super::values::{OneOrMany, OrderedMap, Scalar, Sp};

/// The names of the optional keys of `$value` that are written, in the order given.
macro_rules! written {
    ($value:ident, $($key:ident),*) => {{
        let mut out = Vec::new();
        $(
            if $value.$key.is_some() {
                out.push(stringify!($key));
            }
        )*
        out
    }};
}

/// Declares `RawGate` (its own keys, then every step key) and `RawStep` (every step key). Every
/// step key is optional; a kind's value is an `Sp` so a diagnostic can point at it.
macro_rules! step_keys {
    (
        gate { $($gate:ident : $gate_ty:ty,)* }
        common { $($common:ident : $common_ty:ty,)* }
        kinds { $($kind:ident : $kind_ty:ty,)* }
        keys { $($key:ident : $key_ty:ty,)* }
    ) => {
        #[derive(Debug, Deserialize, JsonSchema)]
        #[serde(deny_unknown_fields)]
        pub struct RawGate {
            $(pub $gate: $gate_ty,)*
            pub timeout: Option<Sp<Scalar>>,
            $(pub $common: Option<$common_ty>,)*
            $(pub $kind: Option<Sp<$kind_ty>>,)*
            $(pub $key: Option<$key_ty>,)*
        }

        #[derive(Debug, Default, Deserialize, JsonSchema)]
        #[serde(deny_unknown_fields)]
        pub struct RawStep {
            pub timeout: Option<Sp<Scalar>>,
            $(pub $common: Option<$common_ty>,)*
            $(pub $kind: Option<Sp<$kind_ty>>,)*
            $(pub $key: Option<$key_ty>,)*
        }

        impl RawGate {
            /// The step keys written at gate level, as a step of their own (the inline form).
            pub fn take_inline_step(&mut self) -> RawStep {
                RawStep {
                    timeout: None, // at gate level, `timeout` is the gate's deadline
                    $($common: self.$common.take(),)*
                    $($kind: self.$kind.take(),)*
                    $($key: self.$key.take(),)*
                }
            }
        }

        impl RawStep {
            /// Every step kind, in the order the spec lists them.
            pub const KINDS: &[&str] = &[$(stringify!($kind)),*];

            /// The kinds this step names (a valid step names one), with where each stands.
            pub fn kinds(&self) -> Vec<(&'static str, Location)> {
                let mut out = Vec::new();
                $(
                    if let Some(k) = &self.$kind {
                        out.push((stringify!($kind), k.referenced));
                    }
                )*
                out
            }

            /// The keys written that only some kinds take.
            pub fn kind_keys(&self) -> Vec<&'static str> {
                written!(self, $($key),*)
            }
        }
    };
}

step_keys! {
    gate {
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
    common {
        name: String,
        expect: Sp<RawExpect>,
        eventually: Sp<Scalar>,
        capture: BTreeMap<String, Sp<RawCapture>>,
    }
    kinds {
        run: RawCommand,
        http: String,
        tcp: String,
        sql: String,
        file: String,
        start: String,
        stop: String,
        restart: String,
    }
    keys {
        headers: OrderedMap<Scalar>,
        json: serde_json::Value,
        body: String,
        follow_redirects: bool,
        signal: Sp<String>,
    }
}

/// Declares `RawExpect` and the list of the keys written in it.
macro_rules! expect_keys {
    ($($(#[$meta:meta])* $key:ident : $ty:ty,)*) => {
        #[derive(Debug, Default, Deserialize, JsonSchema)]
        #[serde(deny_unknown_fields)]
        pub struct RawExpect {
            $($(#[$meta])* pub $key: Option<$ty>,)*
        }

        impl RawExpect {
            /// The keys written, in the order declared.
            pub fn keys(&self) -> Vec<&'static str> {
                written!(self, $($key),*)
            }
        }
    };
}

expect_keys! {
    exit: Sp<OneOrMany<i64>>,
    stdout: Sp<OneOrMany<RawPattern>>,
    stderr: Sp<OneOrMany<RawPattern>>,
    status: Sp<OneOrMany<Scalar>>,
    headers: OrderedMap<OneOrMany<RawPattern>>,
    body: Sp<OneOrMany<RawPattern>>,
    json: OrderedMap<ExactValue>,
    open: bool,
    rows: Vec<Vec<ExactValue>>,
    count: u64,
    #[serde(default, deserialize_with = "present")]
    value: ExactValue,
    error: Sp<OneOrMany<RawPattern>>,
    exists: bool,
    contains: Sp<OneOrMany<RawPattern>>,
}
