//! Issue 20: `mocks:` of a gate or a stage: each mock's name, its routes (target, matchers on
//! the request, one response or a sequence) and its `unmatched` answer, with every template
//! (`${VAR}`, `{{request.…}}`) and regex checked before anything runs.

use std::sync::LazyLock;

use regex::Regex;
use serde_saphyr::Location;

use super::ctx::is_token_byte;
use super::ctx::{FileCtx, check_template, duration};
use super::http::{header_check, headers_expect, json_expect};
use super::matrix::DATABASE_VARS;
use super::patterns::patterns;
use super::target::target;
use crate::config::model::mock::{MockBody, MockDef, MockResponse, RequestMatch, Route};
use crate::config::model::{HeaderCheck, var_prefix};
use crate::config::raw::{OneOrMany, OrderedMap, RawMock, RawPattern, RawResponse, RawRoute, Sp};
use crate::mock::template;

/// The mocks of a gate or a stage, in the order written. `taken`: the names of services and
/// mocks already in scope, with what each is: a mock of the same name would set the same
/// `<NAME>_URL` and `<NAME>_PORT`. `databases`: the names of the gate's `databases:`, whose
/// variables (`MAIN_DATABASE_URL`) a mock may not set either, nor a fresh database's.
pub fn mocks(
    ctx: &mut FileCtx,
    raw: Sp<OrderedMap<RawMock>>,
    taken: &[(&str, &str)],
    databases: &[String],
) -> Vec<MockDef> {
    static NAME: LazyLock<Regex> =
        LazyLock::new(|| Regex::new("^[a-z][a-z0-9_-]*$").expect("static regex"));
    if raw.value.0.is_empty() {
        ctx.error(
            raw.referenced,
            "`mocks` is empty: name a mock and its `routes`, or remove it",
        );
    }
    let mut out: Vec<MockDef> = Vec::new();
    for (name, mock) in raw.value.0 {
        let at = mock
            .routes
            .as_ref()
            .map(|r| r.referenced)
            .or(mock.unmatched.as_ref().map(|u| u.referenced))
            .unwrap_or(raw.referenced);
        if !NAME.is_match(&name) {
            ctx.error(at, format!("invalid mock name `{name}`: use lower-case letters, digits, `-` and `_`, starting with a letter"));
            continue;
        }
        let prefix = var_prefix(&name);
        let before: Vec<(&str, &str)> = out
            .iter()
            .map(|m| (m.name.as_str(), "another mock"))
            .collect();
        if let Some((other, what)) = taken
            .iter()
            .chain(&before)
            .find(|(n, _)| var_prefix(n) == prefix)
        {
            ctx.error(at, format!("mock `{name}` would set {prefix}_URL and {prefix}_PORT, as `{other}`, {what}, does: give it another name"));
            continue;
        }
        if let Some(var) = database_var(&prefix, databases) {
            ctx.error(at, format!("mock `{name}` would set {var}, a database variable gaterun sets: give it another name"));
            continue;
        }
        let mut routes = Vec::new();
        if let Some(list) = mock.routes {
            for r in list.value {
                routes.extend(route(ctx, r.value, r.referenced));
            }
        }
        let unmatched = match mock.unmatched {
            Some(u) => response(ctx, u.value, u.referenced, "unmatched"),
            None => Some(MockResponse {
                status: 404,
                ..empty()
            }),
        };
        out.push(MockDef {
            name,
            routes,
            unmatched: unmatched.unwrap_or_else(empty),
            line: at.line(),
        });
    }
    out
}

fn empty() -> MockResponse {
    MockResponse {
        status: 200,
        headers: Vec::new(),
        body: MockBody::Empty,
        delay: None,
        drop: false,
    }
}

fn route(ctx: &mut FileCtx, raw: RawRoute, at: Location) -> Option<Route> {
    let selected = target(ctx, &raw.r#match.value, raw.r#match.referenced, "match");
    let matchers = RequestMatch {
        json: json_expect(ctx, raw.json, at, "json"),
        headers: headers_expect(ctx, raw.headers, at, "headers"),
        query: query(ctx, raw.query, at),
        body: patterns(ctx, raw.body),
    };
    let respond_at = raw.respond.referenced;
    let list = raw.respond.value.0;
    if list.is_empty() {
        ctx.error(
            respond_at,
            "`respond` is empty: give a response, or a list of them",
        );
    }
    let mut respond = Vec::new();
    for r in list {
        respond.extend(response(ctx, r, respond_at, "respond"));
    }
    Some(Route {
        target: selected?,
        matchers,
        respond,
        line: at.line(),
    })
}

/// `query:` parameter → patterns or matchers, judged like a header's values (a parameter may
/// be repeated); names are case-sensitive, as a server reads them.
fn query(
    ctx: &mut FileCtx,
    raw: Option<OrderedMap<OneOrMany<RawPattern>>>,
    at: Location,
) -> Vec<(String, Vec<HeaderCheck>)> {
    let mut out = Vec::new();
    for (name, checks) in raw.map(|q| q.0).unwrap_or_default() {
        if name.is_empty() {
            ctx.error(at, "query: a parameter needs a name");
            continue;
        }
        let mut list = Vec::new();
        for c in checks.0 {
            match header_check(c) {
                Ok(c) => list.extend(c),
                Err(e) => ctx.error(
                    at,
                    format!("query.{name}: {}", e.replace("header", "parameter")),
                ),
            }
        }
        out.push((name, list));
    }
    out
}

/// One response; `what` is the key it stands under (`respond`, `unmatched`).
fn response(ctx: &mut FileCtx, raw: RawResponse, at: Location, what: &str) -> Option<MockResponse> {
    let before = ctx.diagnostics.len();
    let drop = raw.drop.unwrap_or(false);
    if drop
        && (raw.status.is_some()
            || raw.headers.is_some()
            || raw.json.is_some()
            || raw.body.is_some())
    {
        ctx.error(at, format!("`{what}`: `drop: true` closes the connection without an answer, so it takes no `status`, `headers`, `json` or `body` (a `delay` only)"));
    }
    let status = match &raw.status {
        Some(s) => match s.value.0.trim().parse::<u16>() {
            Ok(code) if (100..=599).contains(&code) => code,
            _ => {
                ctx.error(
                    s.referenced,
                    format!(
                        "`{what}`: invalid status `{}`: use a code from 100 to 599",
                        s.value.0
                    ),
                );
                200
            }
        },
        None => 200,
    };
    let mut headers = Vec::new();
    for (name, value) in raw.headers.map(|h| h.0).unwrap_or_default() {
        if name.is_empty() || !name.bytes().all(is_token_byte) {
            ctx.error(at, format!("`{what}`: `{name}` is not a header name (letters, digits and !#$%&'*+-.^_`|~, no spaces)"));
            continue;
        }
        text(ctx, at, &value.0, &format!("{what}.headers.{name}"));
        headers.push((name, value.0));
    }
    let body = match (raw.json, raw.body) {
        (Some(_), Some(_)) => {
            ctx.error(at, format!("`{what}` has both `json` and `body`: give one"));
            MockBody::Empty
        }
        (Some(json), None) => {
            let json = json.to_json(ctx.text);
            strings(ctx, at, &json, what);
            MockBody::Json(json)
        }
        (None, Some(body)) => {
            text(ctx, at, &body, &format!("{what}.body"));
            MockBody::Text(body)
        }
        (None, None) => MockBody::Empty,
    };
    let delay = raw
        .delay
        .as_ref()
        .and_then(|d| duration(ctx, d, &format!("{what}.delay")));
    if ctx.diagnostics.len() > before {
        return None;
    }
    Some(MockResponse {
        status,
        headers,
        body,
        delay,
        drop,
    })
}

/// A text of a response: its `${VAR}` and `{{request.…}}` templates.
fn text(ctx: &mut FileCtx, at: Location, text: &str, what: &str) {
    if check_template(ctx, at, text).is_some()
        && let Err(e) = template::check(text)
    {
        ctx.error(at, format!("`{what}`: {e}"));
    }
}

/// Every string of a response's `json`, keys included.
fn strings(ctx: &mut FileCtx, at: Location, v: &serde_json::Value, what: &str) {
    match v {
        serde_json::Value::String(s) => text(ctx, at, s, &format!("{what}.json")),
        serde_json::Value::Array(items) => items.iter().for_each(|i| strings(ctx, at, i, what)),
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                text(ctx, at, k, &format!("{what}.json"));
                strings(ctx, at, v, what);
            }
        }
        _ => {}
    }
}

/// A gate's service named like one of the stage's mocks: both would set `<NAME>_URL`.
pub fn services_clash(
    ctx: &mut FileCtx,
    raw: &OrderedMap<crate::config::raw::RawService>,
    shared_mocks: &[String],
) {
    for (name, svc) in &raw.0 {
        if let Some(m) = shared_mocks
            .iter()
            .find(|m| var_prefix(m) == var_prefix(name))
        {
            ctx.error(
                svc.run.referenced,
                format!("service `{name}` would set the variables of `{m}`, a mock of the stage: give it another name"),
            );
        }
    }
}

/// The variable of a fresh database (`DATABASE_URL`, or `MAIN_DATABASE_URL` of `databases:
/// { main: … }`) that a mock whose variables start with `prefix` would set.
fn database_var(prefix: &str, databases: &[String]) -> Option<String> {
    let named = databases.iter().map(|d| format!("{}_", var_prefix(d)));
    std::iter::once(String::new())
        .chain(named)
        .flat_map(|p| DATABASE_VARS.iter().map(move |v| format!("{p}{v}")))
        .find(|v| *v == format!("{prefix}_URL") || *v == format!("{prefix}_PORT"))
}

/// A gate's `databases:` whose variables one of the stage's mocks would set.
pub fn shared_mocks_clash(
    ctx: &mut FileCtx,
    at: Location,
    databases: &[String],
    shared_mocks: &[String],
) {
    for m in shared_mocks {
        if let Some(var) = database_var(&var_prefix(m), databases) {
            ctx.error(
                at,
                format!("this gate's `databases` would set {var}, as `{m}`, a mock of the stage, does: give it another name"),
            );
        }
    }
}
