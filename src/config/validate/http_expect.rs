//! An `http` step's expectations added by issue 18: `duration` bounds, the body's `bytes`,
//! `xpath` and `css` selections; and its capture selectors (JSONPath, `header:NAME`,
//! `/regex/`, `body`).

use std::cmp::Ordering;

use super::ctx::{FileCtx, duration};
use super::patterns::text_pattern;
use super::selectors;
use crate::config::http_expect::{BytesExpect, DurationBound, NodeExpect};
use crate::config::raw::{
    NodePattern, OneOrMany, OrderedMap, RawBytes, RawDuration, RawPattern, Sp,
};
use crate::expect::value::parse::MATCHERS;
use crate::expect::value::{Matcher, ValueCheck, count_check};

/// The validated expectations on the response as a whole.
pub struct Response {
    pub duration: Vec<DurationBound>,
    pub bytes: BytesExpect,
    pub xpath: Vec<(String, NodeExpect)>,
    pub css: Vec<(String, NodeExpect)>,
}

type Selections = Option<Sp<OrderedMap<OneOrMany<NodePattern>>>>;

pub fn response(
    ctx: &mut FileCtx,
    raw_duration: Option<Sp<RawDuration>>,
    raw_bytes: Option<Sp<RawBytes>>,
    xpath: Selections,
    css: Selections,
) -> Response {
    Response {
        duration: raw_duration
            .map(|d| bounds(ctx, d, "duration"))
            .unwrap_or_default(),
        bytes: raw_bytes.map(|b| bytes(ctx, b)).unwrap_or_default(),
        xpath: selections(ctx, xpath, "xpath"),
        css: selections(ctx, css, "css"),
    }
}

/// `key: { lt: 500ms }`: `duration`, and a `received` step's `gap` (issue 20).
pub(super) fn bounds(ctx: &mut FileCtx, raw: Sp<RawDuration>, key: &str) -> Vec<DurationBound> {
    let RawDuration { lt, le, gt, ge } = raw.value;
    let before = ctx.diagnostics.len();
    let mut out = Vec::new();
    for (name, side, or_equal, value) in [
        ("lt", Ordering::Less, false, lt),
        ("le", Ordering::Less, true, le),
        ("gt", Ordering::Greater, false, gt),
        ("ge", Ordering::Greater, true, ge),
    ] {
        let Some(value) = value else { continue };
        if let Some(limit) = duration(ctx, &value, &format!("{key}.{name}")) {
            out.push(DurationBound {
                side,
                or_equal,
                limit,
                written: value.value.0.trim().to_owned(),
            });
        }
    }
    if out.is_empty() && ctx.diagnostics.len() == before {
        ctx.error(
            raw.referenced,
            format!("`{key}` takes one or more of `lt`, `le`, `gt`, `ge` with a duration, like `{{ lt: 500ms }}`"),
        );
    }
    out
}

fn bytes(ctx: &mut FileCtx, raw: Sp<RawBytes>) -> BytesExpect {
    let RawBytes { count, sha256 } = raw.value;
    if count.is_none() && sha256.is_none() {
        ctx.error(
            raw.referenced,
            "`bytes` takes `count` (a whole number or `gt`/`ge`/`lt`/`le`) and/or `sha256` (64 hex digits)",
        );
    }
    let count = count.and_then(|c| match count_check(&c) {
        Ok(check) => Some(check),
        Err(e) => {
            ctx.error(raw.referenced, format!("bytes.{e}"));
            None
        }
    });
    let sha256 = sha256.and_then(|s| {
        let hex = s.0.trim().to_ascii_lowercase();
        if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            Some(hex)
        } else {
            ctx.error(
                raw.referenced,
                format!(
                    "`bytes.sha256` takes 64 hex digits, got `{}` ({} characters)",
                    s.0,
                    s.0.chars().count()
                ),
            );
            None
        }
    });
    BytesExpect { count, sha256 }
}

fn selections(ctx: &mut FileCtx, raw: Selections, key: &str) -> Vec<(String, NodeExpect)> {
    let Some(raw) = raw else { return Vec::new() };
    let at = raw.referenced;
    let mut out = Vec::new();
    for (selector, expect) in raw.value.0 {
        let compiled = match key {
            "xpath" => selectors::xpath(&selector).map(|_| ()),
            _ => selectors::css(&selector).map(|_| ()),
        };
        if let Err(e) = compiled {
            ctx.error(at, format!("expect.{key}: {e}"));
            continue;
        }
        match node_expect(expect.0.into_iter().map(|p| p.0).collect(), key) {
            Ok(e) => out.push((selector, e)),
            Err(e) => ctx.error(at, format!("expect.{key} `{selector}`: {e}")),
        }
    }
    out
}

/// Patterns (a list, or one string), or one map of matchers.
fn node_expect(raw: Vec<RawPattern>, key: &str) -> Result<NodeExpect, String> {
    let entries = match raw.as_slice() {
        [RawPattern::Map(entries)] => entries.clone(),
        [] => return Err("no expectation: write patterns or matchers".to_owned()),
        _ => {
            return raw
                .into_iter()
                .map(text_pattern)
                .collect::<Result<_, _>>()
                .map(NodeExpect::Patterns);
        }
    };
    if entries.is_empty() {
        return Err("an empty map: write matchers like `{ count: 2 }`".to_owned());
    }
    if let Some((k, _)) = entries
        .iter()
        .find(|(k, _)| !MATCHERS.contains(&k.as_str()))
    {
        let hint = crate::config::diagnostic::suggest(k, MATCHERS)
            .map(|m| format!(", did you mean `{m}`?"))
            .unwrap_or_else(|| format!(": use {}", MATCHERS.join(", ")));
        return Err(format!("unknown matcher `{k}`{hint}"));
    }
    let map: serde_json::Map<String, serde_json::Value> = entries.into_iter().collect();
    let check = ValueCheck::parse(&serde_json::Value::Object(map))?;
    if key == "css"
        && let ValueCheck::All(matchers) = &check
        && matchers.iter().any(|m| matches!(m, Matcher::Compare(..)))
    {
        return Err(
            "CSS selects text, which `gt`, `ge`, `lt`, `le` never hold for: compare the number of elements with `count: { gt: N }`, or use `expect.xpath` with `number(…)`".to_owned(),
        );
    }
    Ok(NodeExpect::Matchers(check))
}

/// An `http` capture: a JSONPath on the body (`$.id`), `header:NAME`, `/regex/` with one group
/// on the body's text, or `body` (the whole text).
pub fn capture(sel: &str) -> Result<(), String> {
    if let Some(name) = sel.strip_prefix("header:") {
        return if name.trim().is_empty() {
            Err("`header:` needs a header name".to_owned())
        } else {
            Ok(())
        };
    }
    if sel == "body" {
        return Ok(());
    }
    if sel.starts_with('/') {
        return super::run::capture(sel).map_err(|e| e.replace("a `run` capture", "a capture"));
    }
    if !sel.starts_with('$') {
        return Err(format!(
            "an `http` capture is a JSONPath (`$.id`), `header:NAME`, `/regex/` with one group, or `body`, got `{sel}`"
        ));
    }
    super::jsonpath::jsonpath(sel).map(|_| ())
}
