//! The response against the step's expectations (status, headers, body, JSON), then its
//! captures.

use super::json::{parse_json, select};
use super::response::{BODY_CAP, Received};
use crate::config::{HeaderCheck, HttpStep};
use crate::expect;
use crate::runner::gate::ctx::GateCtx;
use crate::steps::outcome::{Deadline, Failure};

pub(super) async fn check(
    ctx: &mut GateCtx,
    step: &HttpStep,
    captures: &[(String, String)],
    received: &Received,
    took: std::time::Duration,
    deadline: &Deadline,
) -> Result<(), Failure> {
    let Received {
        status,
        headers,
        body,
        cut: body_cut,
        text,
        text_error,
        ..
    } = received;
    let body_cut = *body_cut;
    let expect = &step.expect;
    let code = status.as_u16();
    if !expect.status.iter().any(|m| m.matches(code)) {
        let want: Vec<String> = expect.status.iter().map(ToString::to_string).collect();
        // One line, expected against actual; the log holds the response in full.
        return Err(Failure::Check(format!(
            "expected status {}, got {code}",
            want.join(" or ")
        )));
    }
    for (name, checks) in &expect.headers {
        let values: Vec<String> = headers
            .get_all(name.as_str())
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect();
        for check in checks {
            check_header(name, check, &values, ctx)?;
        }
    }
    let needs_json =
        !expect.json.is_empty() || captures.iter().any(|(_, sel)| sel.starts_with('$'));
    // A body still encoded (a coding gaterun does not undo) is bytes no text check can
    // read: it fails rather than pass a `!` pattern on what it cannot see.
    let reads_body = !expect.body.is_empty()
        || needs_json
        || !expect.xpath.is_empty()
        || !expect.css.is_empty()
        || expect.bytes.count.is_some()
        || expect.bytes.sha256.is_some()
        || captures
            .iter()
            .any(|(_, sel)| sel == "body" || sel.starts_with('/'));
    if let Some(encoding) = &received.undecoded
        && reads_body
    {
        return Err(Failure::Check(format!(
            "the body is {encoding}-encoded, which gaterun does not decode: its checks cannot be evaluated"
        )));
    }
    let observed = expect::Observed {
        head: text,
        tail: None,
        cut: body_cut.then(|| {
            format!(
                "only the first {} MiB of the body were read",
                BODY_CAP >> 20
            )
        }),
    };
    // The body's text checks, when its charset is one gaterun cannot decode, fail rather
    // than read replacement characters.
    let readable = || {
        text_error
            .clone()
            .map_or(Ok(()), |e| Err(Failure::Check(e)))
    };
    if !expect.body.is_empty() {
        readable()?;
    }
    expect::check_observed("body", &expect.body, &observed, &ctx.vars)?;
    // JSON, XML and HTML are read whole: their first 16 MiB alone may say anything.
    let parsed = [
        (needs_json, "JSON"),
        (!expect.xpath.is_empty(), "XML for expect.xpath"),
        (!expect.css.is_empty(), "HTML for expect.css"),
    ];
    if body_cut && let Some((_, what)) = parsed.iter().find(|(used, _)| *used) {
        return Err(Failure::Check(format!(
            "only the first {} MiB of the body were read: its {what} cannot be checked",
            BODY_CAP >> 20
        )));
    }
    let json: Option<serde_json::Value> = if needs_json {
        match parse_json(body) {
            Ok(v) => Some(v),
            Err(reason) => {
                return Err(Failure::Check(format!(
                    "expected a JSON body, got {} ({})",
                    expect::preview(text),
                    expect::value::render(&serde_json::Value::String(reason))
                )));
            }
        }
    } else {
        None
    };
    let json_body = json.unwrap_or(serde_json::Value::Null);
    for (path, want) in &expect.json {
        let (got, many) = select(path, &json_body, ctx.bindings())?;
        want.check
            .check(path, got.as_ref(), many || want.many, ctx.bindings())?;
    }
    super::measures::duration(&expect.duration, took)?;
    super::measures::bytes(&expect.bytes, received, ctx)?;
    if !expect.xpath.is_empty() || !expect.css.is_empty() {
        readable()?;
    }
    if !expect.xpath.is_empty() {
        super::xpath::check(ctx, &expect.xpath, text, deadline).await?;
    }
    if !expect.css.is_empty() {
        super::css::check(ctx, &expect.css, text, deadline).await?;
    }
    for (name, sel) in captures {
        let value = if sel == "body" || sel.starts_with('/') {
            readable().map_err(|e| match e {
                Failure::Check(m) => Failure::Check(format!("capture `{name}`: {m}")),
                other => other,
            })?;
            super::measures::text_capture(name, sel, &observed, ctx)?
        } else if let Some(header) = sel.strip_prefix("header:") {
            let header = header.trim().to_ascii_lowercase();
            headers
                .get(header.as_str())
                .map(|v| {
                    serde_json::Value::String(String::from_utf8_lossy(v.as_bytes()).into_owned())
                })
                .ok_or_else(|| {
                    Failure::Check(format!(
                        "capture `{name}`: no header {header} in the response"
                    ))
                })?
        } else {
            select(sel, &json_body, ctx.bindings())?.0.ok_or_else(|| {
                Failure::Check(format!(
                    "capture `{name}`: {sel} selected nothing in the body"
                ))
            })?
        };
        ctx.capture(name, value);
    }
    Ok(())
}

/// One header expectation against every value the response carries for that name.
pub(super) fn check_header(
    name: &str,
    check: &HeaderCheck,
    values: &[String],
    ctx: &GateCtx,
) -> Result<(), Failure> {
    crate::steps::headers::check("header", name, check, values, ctx.bindings())
}
