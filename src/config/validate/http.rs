//! An `http` step: the request (`[METHOD] URL`, headers, a JSON or text body) and what the
//! response must show (status, headers, body patterns, JSONPath values), and its captures.

use serde_saphyr::Location;

use super::ctx::{FileCtx, check_template, is_token_byte};
use super::http_request;
use super::jsonpath::{can_select_many, jsonpath};
use super::kind::Input;
use super::patterns::{patterns, text_pattern};
use crate::config::model::{HeaderCheck, HttpExpect, HttpStep, JsonExpect, StatusMatch, StepKind};
use crate::config::raw::{ExactValue, OneOrMany, OrderedMap, RawPattern, Scalar};
use crate::expect::value::ValueCheck;
use crate::vars;

pub fn build(ctx: &mut FileCtx, input: Input) -> Option<StepKind> {
    let Input {
        mut raw,
        at,
        expect,
        expect_at,
        ..
    } = input;
    let spec = raw.http.take()?;
    let (method, url) = http_target(ctx, &spec.value, spec.referenced)?;
    let body = http_request::body(ctx, &mut raw, at);
    let query = http_request::pairs(ctx, "query", raw.query.take(), at);
    let headers: Vec<(String, String)> = raw
        .headers
        .map(|h| h.0.into_iter().map(|(k, v)| (k, v.0)).collect())
        .unwrap_or_default();
    let sign = raw
        .sign
        .take()
        .and_then(|s| super::sign::build(ctx, s, &headers));
    let status = match expect.status {
        Some(s) => status_spec(ctx, s.value.0, s.referenced),
        None => vec![StatusMatch::Class(2)],
    };
    let header_expect = headers_expect(ctx, expect.headers, expect_at, "expect.headers");
    let json_expect = json_expect(ctx, expect.json, expect_at, "expect.json");
    let response =
        super::http_expect::response(ctx, expect.duration, expect.bytes, expect.xpath, expect.css);
    let http_expect = HttpExpect {
        status,
        headers: header_expect,
        body: patterns(ctx, expect.body),
        json: json_expect,
        version: expect
            .version
            .as_ref()
            .and_then(|v| http_request::version(ctx, "expect.version", v)),
        duration: response.duration,
        bytes: response.bytes,
        xpath: response.xpath,
        css: response.css,
    };
    Some(StepKind::Http(Box::new(HttpStep {
        method,
        url,
        headers,
        query,
        body,
        follow_redirects: raw.follow_redirects.unwrap_or(false),
        cookies: raw.cookies.unwrap_or(true),
        version: raw
            .version
            .as_ref()
            .and_then(|v| http_request::version(ctx, "version", v)),
        save: raw
            .save
            .as_ref()
            .and_then(|s| http_request::save_path(ctx, s)),
        sign,
        expect: http_expect,
    })))
}

/// `"POST http://…"` (any method token: `PURGE`, `PROPFIND`), or a bare URL for GET.
fn http_target(ctx: &mut FileCtx, spec: &str, at: Location) -> Option<(String, String)> {
    /// Methods are case-sensitive: `get` would be sent as written, which no server takes for
    /// a GET, so these are refused in any other case.
    const METHODS: &[&str] = &[
        "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "CONNECT",
    ];
    let spec = spec.trim();
    let (method, url) = match spec.split_once(char::is_whitespace) {
        Some((m, u)) => (m.to_owned(), u.trim().to_owned()),
        None => ("GET".to_owned(), spec.to_owned()),
    };
    if !method.bytes().all(is_token_byte) {
        ctx.error(
            at,
            format!("`{method}` is not an HTTP method: a method is a token (letters, digits and !#$%&'*+-.^_`|~)"),
        );
        return None;
    }
    let upper = method.to_ascii_uppercase();
    if upper != method && METHODS.contains(&upper.as_str()) {
        ctx.error(
            at,
            format!("HTTP methods are case-sensitive: write `{upper}`, not `{method}`"),
        );
        return None;
    }
    check_template(ctx, at, &url)?;
    let probe = vars::check_syntax(&url, "x").unwrap_or_default();
    if !(probe.starts_with("http://") || probe.starts_with("https://") || url.starts_with("${")) {
        ctx.error(
            at,
            format!("`http` takes [METHOD] URL with an http:// or https:// URL, got `{spec}`"),
        );
        return None;
    }
    Some((method, url))
}

fn status_spec(ctx: &mut FileCtx, raw: Vec<Scalar>, at: Location) -> Vec<StatusMatch> {
    let mut out = Vec::new();
    for s in raw {
        let text = s.0.trim().to_ascii_lowercase();
        let parsed = if let Some(class) = text.strip_suffix("xx") {
            class
                .parse::<u16>()
                .ok()
                .filter(|c| (1..=5).contains(c))
                .map(StatusMatch::Class)
        } else {
            text.parse::<u16>()
                .ok()
                .filter(|c| (100..=599).contains(c))
                .map(StatusMatch::Exact)
        };
        match parsed {
            Some(m) => out.push(m),
            None => ctx.error(
                at,
                format!(
                    "invalid status `{}`: use a code from 100 to 599, or a class like `2xx`",
                    s.0
                ),
            ),
        }
    }
    if out.is_empty() {
        ctx.error(at, "`status` is empty");
    }
    out
}

/// `expect.headers` (and a mock's `headers` and `query`, issue 20): each name, lower case,
/// with its checks; `what` names the key in messages.
pub(super) fn headers_expect(
    ctx: &mut FileCtx,
    raw: Option<OrderedMap<OneOrMany<RawPattern>>>,
    at: Location,
    what: &str,
) -> Vec<(String, Vec<HeaderCheck>)> {
    let mut out = Vec::new();
    for (name, checks) in raw.map(|h| h.0).unwrap_or_default() {
        // A name no response can carry would make a `!` check hold vacuously.
        if name.is_empty() || !name.bytes().all(is_token_byte) {
            ctx.error(
                at,
                format!("{what}: `{name}` is not a header name (letters, digits and !#$%&'*+-.^_`|~, no spaces)"),
            );
            continue;
        }
        let mut list = Vec::new();
        for c in checks.0 {
            match header_check(c) {
                Ok(c) => list.extend(c),
                Err(e) => ctx.error(at, format!("{what}.{name}: {e}")),
            }
        }
        out.push((name.to_ascii_lowercase(), list));
    }
    out
}

/// `expect.json` (and a mock's `json`, issue 20): each JSONPath with its check.
pub(super) fn json_expect(
    ctx: &mut FileCtx,
    raw: Option<OrderedMap<ExactValue>>,
    at: Location,
    what: &str,
) -> Vec<(String, JsonExpect)> {
    let mut out = Vec::new();
    for (path, value) in raw.map(|j| j.0).unwrap_or_default() {
        if let Err(e) = jsonpath(&path) {
            ctx.error(at, format!("{what}: {e}"));
            continue;
        }
        let many = can_select_many(&path);
        match ValueCheck::parse(&value.to_json(ctx.text)) {
            Ok(check) if many && !crate::expect::value::fits_several(&check) => ctx.error(
                at,
                format!("{what} `{path}` can select several nodes, so it is compared as a list: write a list ([…]) or use `contains`, `count` or `exists`"),
            ),
            Ok(check) => out.push((path.clone(), JsonExpect { check, many })),
            Err(e) => ctx.error(at, format!("{what} `{path}`: {e}")),
        }
    }
    out
}

/// A header expectation: a text pattern, `{ exists: BOOL }`, `{ count: N }`, or several of
/// these in one map.
pub(super) fn header_check(raw: RawPattern) -> Result<Vec<HeaderCheck>, String> {
    let entries = match raw {
        RawPattern::Text(_) => return text_pattern(raw).map(|p| vec![HeaderCheck::Pattern(p)]),
        RawPattern::Map(entries) => entries,
    };
    if entries.is_empty() {
        return Err(
            "an empty map: use `{ exists: true }`, `{ count: N }` or `{ equals: TEXT }`".to_owned(),
        );
    }
    let mut out = Vec::new();
    for (key, value) in entries {
        out.push(match (key.as_str(), value) {
            ("equals", v) => HeaderCheck::Pattern(text_pattern(RawPattern::Map(vec![(key, v)]))?),
            ("exists", serde_json::Value::Bool(b)) => HeaderCheck::Exists(b),
            ("exists", other) => return Err(format!("`exists` takes true or false, got {other}")),
            ("count", v) => HeaderCheck::Count(crate::expect::value::count_check(&v)?),
            (other, _) => {
                return Err(format!(
                    "unknown header matcher `{other}`: a header takes patterns, `equals`, `exists` and `count`"
                ));
            }
        });
    }
    Ok(out)
}
