//! A gate's and a step's keys, listed once. A gate with a single step may write that step's
//! keys inline, so `RawGate` and `RawStep` share them; serde's `flatten` would do this but
//! cannot be combined with `deny_unknown_fields`, so `step_keys!` declares both from one list,
//! with what `validate` asks of a step (its kinds, its kind-specific keys). A new step kind is
//! one `kind` line in the list below.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;
use serde_saphyr::Location;

use super::browser::{RawAction, RawCount};
use super::capture::RawCapture;
use super::command::RawCommand;
use super::count::Count;
use super::database::RawDatabase;
use super::eventually::RawEventually;
use super::exact::{ExactValue, present};
use super::http_expect::{NodePattern, RawBytes, RawDuration};
use super::mock::RawMock;
use super::part::RawPart;
use super::pattern::RawPattern;
use super::service::RawService;
use super::sign::RawSign;
use super::values::{OneOrMany, OrderedMap, Scalar, Sp};

/// Declares `RawGate` (its own keys, then every step key) and `RawStep` (every step key), in
/// the order given, which is the order an unknown-key diagnostic lists them in. `step_only`
/// keys belong to a step in a `steps:` list alone (`env` and `workdir` at gate level are the
/// gate's own; an inline step uses them). Each step key
/// has a role: `common` to every kind, `own` (`timeout`: at gate level the gate's deadline, so
/// not part of the inline step), `kind` (names the step's kind; an `Sp` so a diagnostic can
/// point at it), or `key` (taken by some kinds only, which ones `validate::step` says).
macro_rules! step_keys {
    (
        gate { $($gate:ident : $gate_ty:ty,)* }
        step { $($key:ident : $role:ident $ty:ty,)* }
        step_only { $($skey:ident : $srole:ident $sty:ty,)* }
    ) => {
        #[derive(Debug, Deserialize, JsonSchema)]
        #[serde(deny_unknown_fields)]
        pub struct RawGate {
            $(pub $gate: $gate_ty,)*
            $(pub $key: Option<$ty>,)*
        }

        #[derive(Debug, Default, Deserialize, JsonSchema)]
        #[serde(deny_unknown_fields)]
        pub struct RawStep {
            $(pub $key: Option<$ty>,)*
            $(pub $skey: Option<$sty>,)*
        }

        impl RawGate {
            /// The step keys written at gate level, as a step of their own (the inline form).
            pub fn take_inline_step(&mut self) -> RawStep {
                RawStep {
                    $($key: step_keys!(@inline $role self $key),)*
                    $($skey: None,)*
                }
            }
        }

        impl RawStep {
            /// Every step kind, in the order the spec lists them.
            pub const KINDS: &[&str] = step_keys!(@kinds [] $($key $role)*);

            /// The kinds this step names (a valid step names one), with where each stands.
            pub fn kinds(&self) -> Vec<(&'static str, Location)> {
                let mut out = Vec::new();
                $(step_keys!(@kind $role self $key out);)*
                out
            }

            /// The keys written that only some kinds take.
            pub fn kind_keys(&self) -> Vec<&'static str> {
                let mut out = Vec::new();
                $(step_keys!(@key $role self $key out);)*
                $(step_keys!(@key $srole self $skey out);)*
                out
            }
        }
    };
    // `use` is a keyword: the field is `r#use`, the key `use`.
    (@name r#use) => { "use" };
    (@name r#match) => { "match" };
    (@name $key:ident) => { stringify!($key) };
    (@inline own $s:ident $key:ident) => { None };
    (@inline $role:ident $s:ident $key:ident) => { $s.$key.take() };
    (@kinds [$($done:tt)*]) => { &[$($done)*] };
    (@kinds [$($done:tt)*] $key:ident kind $($rest:tt)*) => {
        step_keys!(@kinds [$($done)* step_keys!(@name $key),] $($rest)*)
    };
    (@kinds [$($done:tt)*] $key:ident $role:ident $($rest:tt)*) => {
        step_keys!(@kinds [$($done)*] $($rest)*)
    };
    (@kind kind $s:ident $key:ident $out:ident) => {
        if let Some(k) = &$s.$key {
            $out.push((step_keys!(@name $key), k.referenced));
        }
    };
    (@kind $role:ident $s:ident $key:ident $out:ident) => {};
    (@key key $s:ident $key:ident $out:ident) => {
        if $s.$key.is_some() {
            $out.push(step_keys!(@name $key));
        }
    };
    (@key $role:ident $s:ident $key:ident $out:ident) => {};
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
        database: Option<Sp<RawDatabase>>,
        // Issue 17: matrix, retries, several databases (validate/matrix.rs, databases.rs).
        matrix: Option<Sp<OrderedMap<Sp<Vec<Sp<Scalar>>>>>>,
        retries: Option<Sp<Count>>,
        databases: Option<Sp<OrderedMap<Sp<RawDatabase>>>>,
        services: Option<Sp<OrderedMap<RawService>>>,
        steps: Option<Sp<Vec<Sp<RawStep>>>>,
        finally: Option<Sp<Vec<Sp<RawStep>>>>,
        // Issue 20: fake HTTP APIs (validate/mock.rs).
        mocks: Option<Sp<OrderedMap<RawMock>>>,
    }
    step {
        name: common String,
        expect: common Sp<RawExpect>,
        timeout: own Sp<Scalar>,
        eventually: common Sp<RawEventually>,
        capture: common BTreeMap<String, Sp<RawCapture>>,
        run: kind Sp<RawCommand>,
        http: kind Sp<String>,
        headers: key OrderedMap<Scalar>,
        json: key serde_json::Value,
        body: key String,
        follow_redirects: key bool,
        // Issue 18, the request side (validate/http.rs).
        cookies: key bool,
        query: key OrderedMap<OneOrMany<Scalar>>,
        form: key OrderedMap<OneOrMany<Scalar>>,
        multipart: key OrderedMap<RawPart>,
        body_file: key Sp<String>,
        body_base64: key Sp<String>,
        version: key Sp<Scalar>,
        save: key Sp<String>,
        // Issue 20: a signed request, for webhook ingestion (validate/sign.rs).
        sign: key Sp<RawSign>,
        tcp: kind Sp<String>,
        sql: kind Sp<String>,
        file: kind Sp<String>,
        start: kind Sp<String>,
        stop: kind Sp<String>,
        restart: kind Sp<String>,
        signal: key Sp<String>,
        // Which of `databases:` a `sql` step runs on (validate/scope.rs).
        db: key Sp<String>,
        // A template and its params (validate/uses.rs).
        r#use: kind Sp<String>,
        with: key OrderedMap<Sp<Scalar>>,
        // Issue 19, a page in a real browser (validate/browser.rs).
        browser: kind Sp<String>,
        actions: key Sp<Vec<Sp<RawAction>>>,
        screenshot: key Sp<String>,
        // Issue 20: what a mock was sent (validate/received.rs).
        received: kind Sp<String>,
        r#match: key Sp<String>,
    }
    step_only {
        // A step's own variables and directory (validate/scope.rs).
        env: common OrderedMap<Sp<Scalar>>,
        workdir: key Sp<String>,
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
                let mut out = Vec::new();
                $(
                    if self.$key.is_some() {
                        out.push(stringify!($key));
                    }
                )*
                out
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
    count: Sp<RawCount>,
    #[serde(default, deserialize_with = "present")]
    value: ExactValue,
    error: Sp<OneOrMany<RawPattern>>,
    exists: bool,
    contains: Sp<OneOrMany<RawPattern>>,
    // Issue 18: the HTTP version a response must have (validate/http_request.rs).
    version: Sp<Scalar>,
    // Issue 18, an `http` response (validate/http_expect.rs).
    duration: Sp<RawDuration>,
    bytes: Sp<RawBytes>,
    xpath: Sp<OrderedMap<OneOrMany<NodePattern>>>,
    css: Sp<OrderedMap<OneOrMany<NodePattern>>>,
    // Issue 19, a `browser` step's page (validate/browser.rs; `count` is shared with `sql`).
    title: Sp<OneOrMany<RawPattern>>,
    url: Sp<OneOrMany<RawPattern>>,
    text: Sp<OneOrMany<RawPattern>>,
    visible: Sp<OneOrMany<String>>,
    console_errors: Sp<serde_json::Value>,
    // Issue 20, a `received` step (validate/received.rs; `count`, `json`, `headers` shared).
    order: Sp<Vec<Sp<String>>>,
    unexpected: Sp<RawCount>,
    gap: Sp<RawDuration>,
}
