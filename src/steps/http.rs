//! The `http` step: one request, expectations on status, headers, body and JSON, captures by
//! JSONPath or header. The gate log keeps the request and the response (body capped).

use std::fmt::Write;

use super::outcome::{Deadline, Failure};
use super::probe::short_error;
use crate::config::{HeaderCheck, HttpBody, HttpStep};
use crate::expect;
use crate::runner::gate::ctx::GateCtx;
use crate::text::redact_url;
use crate::vars::{self, Vars};

/// How much of a response body is read; the rest is ignored.
const BODY_CAP: usize = 16 << 20;
/// Redirects followed at most (`follow_redirects: true`).
const MAX_REDIRECTS: usize = 10;
/// How much of a body the log shows.
const LOG_BODY_CAP: usize = 64 * 1024;

fn invalid(e: impl std::fmt::Display) -> Failure {
    Failure::Error(e.to_string())
}

fn capped(text: &str, cap: usize) -> String {
    if text.len() <= cap {
        return text.to_owned();
    }
    let mut end = cap;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}\n[... {} more bytes]", &text[..end], text.len() - end)
}

/// What a JSONPath selects, and whether the path (with its variables filled in) can select
/// several nodes: then always their array, even of one; else the node, or `None`.
fn select(
    path: &str,
    body: &serde_json::Value,
    vars: &Vars,
) -> Result<(Option<serde_json::Value>, bool), Failure> {
    let path = vars::interpolate(path, vars).map_err(invalid)?;
    let compiled = crate::config::validate::jsonpath(&path).map_err(Failure::Error)?;
    let many = crate::config::validate::can_select_many(&path);
    let nodes = compiled.query(body).all();
    let all = || serde_json::Value::Array(nodes.iter().map(|n| (*n).clone()).collect());
    Ok(match nodes.as_slice() {
        _ if many => (Some(all()), true),
        [] => (None, false),
        [one] => (Some((*one).clone()), false),
        _ => (Some(all()), true),
    })
}

/// Headers that carry credentials: their values never reach the log.
const CREDENTIAL_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-api-key",
    "api-key",
];

fn redact_header(name: &str, value: &str) -> String {
    if CREDENTIAL_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
        // The scheme (`Bearer`) or the cookie's name help a reader; the rest is the secret.
        let keep = value
            .split_once([' ', '='])
            .map(|(k, _)| k)
            .filter(|k| k.len() <= 32)
            .unwrap_or("");
        format!("{keep}{}[redacted]", if keep.is_empty() { "" } else { " " })
    } else {
        value.to_owned()
    }
}

/// An error text with the request's URL (also as the client percent-encodes it) redacted.
fn redact_urls_in(text: &str, url: &str, shown: &str) -> String {
    if url == shown {
        return text.to_owned();
    }
    let mut out = text.replace(url, shown);
    if let Ok(parsed) = reqwest::Url::parse(url) {
        out = out.replace(parsed.as_str(), shown);
        if let Some(p) = parsed.password() {
            out = out.replace(p, "***");
        }
    }
    out
}

/// The body as JSON, numbers kept exactly. The bytes must be UTF-8 (no replacement character
/// stands in for what the server sent), and the key serde_json reserves for an exact number
/// (`$serde_json::private::Number`) is refused, so an object can never pose as a number.
fn parse_json(body: &[u8]) -> Result<serde_json::Value, String> {
    const RESERVED: &str = "serde_json::private::Number";
    let text = std::str::from_utf8(body).map_err(|e| e.to_string())?;
    if text.contains(RESERVED) || (text.contains("\\u") && json_strings_hold(text, RESERVED)) {
        return Err(format!("the body holds the reserved key `${RESERVED}`"));
    }
    serde_json::from_str(text).map_err(|e| e.to_string())
}

/// Whether any JSON string in `text`, its escapes decoded, contains `needle`.
fn json_strings_hold(text: &str, needle: &str) -> bool {
    // Find every string token and decode it: cheap, and independent of how a value is read.
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'"' {
            let start = i;
            i += 1;
            while i < bytes.len() && bytes[i] != b'"' {
                if bytes[i] == b'\\' {
                    i += 1;
                }
                i += 1;
            }
            if let Some(token) = text.get(start..=i.min(text.len() - 1))
                && let Ok(s) = serde_json::from_str::<String>(token)
                && s.contains(needle)
            {
                return true;
            }
        }
        i += 1;
    }
    false
}

pub async fn attempt(
    ctx: &mut GateCtx,
    step: &HttpStep,
    captures: &[(String, String)],
    deadline: &Deadline,
) -> Result<(), Failure> {
    let url = vars::interpolate(&step.url, &ctx.vars).map_err(invalid)?;
    let method = reqwest::Method::from_bytes(step.method.as_bytes()).map_err(invalid)?;
    // gaterun follows redirects itself: to another origin, it sends none of the headers the
    // gate set (an API key, a token) and no body, and never a `Referer` (the URL may carry a
    // secret in its query).
    let client = ctx.http.client().map_err(Failure::Error)?.clone();
    let headers: Vec<(String, String)> = step
        .headers
        .iter()
        .map(|(n, v)| Ok((n.clone(), vars::interpolate(v, &ctx.vars).map_err(invalid)?)))
        .collect::<Result<_, Failure>>()?;
    let body = match &step.body {
        Some(HttpBody::Json(v)) => Some(HttpBody::Json(
            vars::interpolate_json(v, &ctx.vars).map_err(invalid)?,
        )),
        Some(HttpBody::Text(b)) => Some(HttpBody::Text(
            vars::interpolate(b, &ctx.vars).map_err(invalid)?,
        )),
        None => None,
    };
    let first = reqwest::Url::parse(&url).ok();
    let mut current = url.clone();
    let mut method = method;
    let mut same_origin = true;
    let mut with_body = true;
    let mut hops = 0;
    let response = loop {
        let shown_url = redact_url(&current);
        let mut request = client.request(method.clone(), &current);
        let mut log = format!("> {method} {shown_url}\n");
        if same_origin {
            // The log and messages show the URL without its password, and credential
            // headers without their value, declared secret or not.
            for (name, value) in &headers {
                let _ = writeln!(log, "> {name}: {}", redact_header(name, value));
                request = request.header(name.as_str(), value.as_str());
            }
        }
        match body.as_ref().filter(|_| with_body) {
            Some(HttpBody::Json(v)) => {
                let _ = writeln!(
                    log,
                    "> content-type: application/json\n>\n{}",
                    capped(&v.to_string(), LOG_BODY_CAP)
                );
                request = request.json(v);
            }
            Some(HttpBody::Text(b)) => {
                let _ = writeln!(log, ">\n{}", capped(b, LOG_BODY_CAP));
                request = request.body(b.clone());
            }
            None => {}
        }
        let left = deadline
            .at
            .saturating_duration_since(std::time::Instant::now());
        ctx.log_line(log.trim_end());
        let response = match request.timeout(left).send().await {
            Ok(r) => r,
            Err(e) if e.is_timeout() && std::time::Instant::now() >= deadline.at => {
                return Err(Failure::Timeout(deadline.message.clone()));
            }
            Err(e) => {
                let reason = redact_urls_in(&short_error(&e), &current, &shown_url);
                ctx.log_line(&format!("< request failed: {reason}"));
                return Err(Failure::Check(format!(
                    "{method} {shown_url} failed: {reason}"
                )));
            }
        };
        let status = response.status();
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|l| l.to_str().ok())
            .and_then(|l| response.url().join(l).ok());
        let (Some(next), true) = (location, step.follow_redirects && status.is_redirection())
        else {
            break response;
        };
        hops += 1;
        if hops > MAX_REDIRECTS {
            return Err(Failure::Check(format!(
                "{} {} failed: more than {MAX_REDIRECTS} redirects",
                step.method,
                redact_url(&url)
            )));
        }
        ctx.log_line(&format!(
            "< {} {} -> {}",
            status.as_u16(),
            status.canonical_reason().unwrap_or(""),
            redact_url(next.as_str())
        ));
        // 303, and 301/302 after a POST, continue as a GET without a body (as browsers do);
        // 307 and 308 repeat the request.
        let code = status.as_u16();
        if code == 303 || ((code == 301 || code == 302) && method == reqwest::Method::POST) {
            if method != reqwest::Method::HEAD {
                method = reqwest::Method::GET;
            }
            with_body = false;
        }
        if first.as_ref().is_none_or(|f| f.origin() != next.origin()) {
            same_origin = false;
            with_body = false;
        }
        current = next.to_string();
    };
    let status = response.status();
    let headers = response.headers().clone();
    let mut body: Vec<u8> = Vec::new();
    let mut body_cut = false;
    let mut response = response;
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let room = BODY_CAP.saturating_sub(body.len());
                body.extend_from_slice(&chunk[..chunk.len().min(room)]);
                if room < chunk.len() {
                    body_cut = true;
                    break;
                }
            }
            Ok(None) => break,
            Err(e) => {
                let shown = redact_url(&current);
                return Err(Failure::Check(format!(
                    "{method} {shown}: reading the body failed: {}",
                    redact_urls_in(&short_error(&e), &current, &shown)
                )));
            }
        }
    }
    let text = String::from_utf8_lossy(&body).into_owned();
    let mut log = format!(
        "< {} {}\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or("")
    );
    for (name, value) in &headers {
        let _ = writeln!(
            log,
            "< {name}: {}",
            redact_header(name.as_str(), &String::from_utf8_lossy(value.as_bytes()))
        );
    }
    if !text.is_empty() {
        let _ = writeln!(log, "<\n{}", capped(&text, LOG_BODY_CAP));
    }
    ctx.log_line(log.trim_end());

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
    // A compressed body is bytes no text check can read: it fails rather than pass a `!`
    // pattern on what it cannot see.
    if let Some(encoding) = headers
        .get_all(reqwest::header::CONTENT_ENCODING)
        .iter()
        .map(|v| {
            String::from_utf8_lossy(v.as_bytes())
                .trim()
                .to_ascii_lowercase()
        })
        .find(|e| !e.is_empty() && e != "identity")
        && (!expect.body.is_empty() || needs_json)
    {
        return Err(Failure::Check(format!(
            "the body is {encoding}-encoded, which gaterun does not decode: its checks cannot be evaluated"
        )));
    }
    let observed = expect::Observed {
        head: &text,
        tail: None,
        cut: body_cut.then(|| {
            format!(
                "only the first {} MiB of the body were read",
                BODY_CAP >> 20
            )
        }),
    };
    expect::check_observed("body", &expect.body, &observed, &ctx.vars)?;
    let json: Option<serde_json::Value> = if needs_json {
        match parse_json(&body) {
            Ok(v) => Some(v),
            Err(reason) => {
                return Err(Failure::Check(format!(
                    "expected a JSON body, got {} ({})",
                    expect::preview(&text),
                    expect::value::render(&serde_json::Value::String(reason))
                )));
            }
        }
    } else {
        None
    };
    let json_body = json.unwrap_or(serde_json::Value::Null);
    for (path, want) in &expect.json {
        let (got, many) = select(path, &json_body, &ctx.vars)?;
        want.check
            .check(path, got.as_ref(), many || want.many, ctx.bindings())?;
    }
    for (name, sel) in captures {
        let value = if let Some(header) = sel.strip_prefix("header:") {
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
            select(sel, &json_body, &ctx.vars)?.0.ok_or_else(|| {
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
fn check_header(
    name: &str,
    check: &HeaderCheck,
    values: &[String],
    ctx: &GateCtx,
) -> Result<(), Failure> {
    let shown = || match values {
        [] => "none".to_owned(),
        [one] => expect::preview(one),
        many => format!(
            "{} values: {}",
            many.len(),
            many.iter()
                .map(|v| expect::preview(v))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    match check {
        HeaderCheck::Pattern(p) => {
            let m = p.resolve(&ctx.vars).map_err(Failure::Error)?;
            // A positive pattern needs one value that matches; a negated one, that no value
            // fails it (every value lacks what it forbids).
            let holds = if m.negated() {
                values.iter().all(|v| m.matches(v))
            } else {
                values.iter().any(|v| m.matches(v))
            };
            if holds {
                return Ok(());
            }
            let scope = if m.negated() { "every value of " } else { "" };
            Err(Failure::Check(format!(
                "expected {scope}header {name} {}, got {}",
                m.describe(),
                shown()
            )))
        }
        HeaderCheck::Exists(want) => match (values.is_empty(), want) {
            (false, true) | (true, false) => Ok(()),
            (true, true) => Err(Failure::Check(format!("expected header {name}, got none"))),
            (false, false) => Err(Failure::Check(format!(
                "expected no header {name}, got {}",
                shown()
            ))),
        },
        HeaderCheck::Count(c) => Ok(c.check(
            &format!("the count of header {name}"),
            Some(&serde_json::Value::from(values.len())),
            false,
            ctx.bindings(),
        )?),
    }
}

#[cfg(test)]
mod redaction_tests {
    use super::*;

    #[test]
    fn credentials_never_reach_the_log() {
        assert_eq!(
            redact_url("http://ana:pa%40ss@127.0.0.1:5/x?y=1"),
            "http://ana:***@127.0.0.1:5/x?y=1"
        );
        assert_eq!(redact_url("postgresql://u@h/db"), "postgresql://u@h/db");
        assert_eq!(redact_url("http://h/a@b"), "http://h/a@b");
        assert_eq!(
            redact_header("Authorization", "Bearer abc.def"),
            "Bearer [redacted]"
        );
        assert_eq!(redact_header("cookie", "sid=s3cret; x=y"), "sid [redacted]");
        assert_eq!(redact_header("X-Api-Key", "k3y"), "[redacted]");
        assert_eq!(redact_header("accept", "text/plain"), "text/plain");
    }
}
