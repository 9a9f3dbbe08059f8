//! The request: the URL, headers and body with their variables filled in, sent, and redirects
//! followed by gaterun itself (so that it controls what crosses to another origin).

use std::fmt::Write;

use super::body;
use super::credentials;
use super::decode::ACCEPT_ENCODING;
use super::json::invalid;
use super::redact::{redact_header, redact_urls_in};
use super::version;
use crate::config::{HttpStep, HttpVersion};
use crate::runner::gate::ctx::GateCtx;
use crate::steps::outcome::{Deadline, Failure};
use crate::steps::probe::short_error;
use crate::text::redact_url;
use crate::vars;

/// Sent unless the step sets its own `User-Agent`.
const USER_AGENT: &str = concat!("gaterun/", env!("CARGO_PKG_VERSION"));

/// Redirects followed at most (`follow_redirects: true`).
const MAX_REDIRECTS: usize = 10;

/// The response of the last hop, with the method and URL that gave it.
pub(super) struct Sent {
    pub method: reqwest::Method,
    pub url: String,
    pub response: reqwest::Response,
}

pub(super) async fn send(
    ctx: &mut GateCtx,
    step: &HttpStep,
    deadline: &Deadline,
) -> Result<Sent, Failure> {
    let url = vars::interpolate(&step.url, &ctx.vars).map_err(invalid)?;
    let url = with_query(ctx, url, &step.query)?;
    let method = reqwest::Method::from_bytes(step.method.as_bytes()).map_err(invalid)?;
    // gaterun follows redirects itself: to another origin, it sends none of the headers the
    // gate set (an API key, a token) and no body, and never a `Referer` (the URL may carry a
    // secret in its query).
    let mut headers: Vec<(String, String)> = step
        .headers
        .iter()
        .map(|(n, v)| Ok((n.clone(), vars::interpolate(v, &ctx.vars).map_err(invalid)?)))
        .collect::<Result<_, Failure>>()?;
    // What gaterun sends unless the step sets it: on every hop, to any origin (nothing in
    // them belongs to the gate).
    let defaults: Vec<(&str, &str)> = [
        ("user-agent", USER_AGENT),
        ("accept-encoding", ACCEPT_ENCODING),
    ]
    .into_iter()
    .filter(|(name, _)| !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)))
    .collect();
    let body = match &step.body {
        Some(b) => Some(body::prepare(ctx, b).await?),
        None => None,
    };
    // Signed over the bytes sent (none without a body); sent like the step's own headers,
    // to its origin only.
    if let Some(sign) = &step.sign {
        let bytes = body.as_ref().map_or(&[][..], |b| b.bytes.as_slice());
        headers.push(super::sign::header(ctx, sign, bytes)?);
    }
    let first = reqwest::Url::parse(&url).ok();
    let mut current = url.clone();
    let mut method = method;
    let mut same_origin = true;
    let mut with_body = true;
    let mut hops = 0;
    let response = loop {
        let shown_url = redact_url(&current);
        // Each hop's own client: a redirect may lead from http:// to https://.
        let client = match step.version {
            Some(HttpVersion::V2) => ctx.http.client_h2(),
            _ => ctx.http.client_for(&current),
        }
        .map_err(Failure::Error)?
        .clone();
        let mut request = client.request(method.clone(), &current);
        if let Some(v) = step.version {
            request = request.version(version::wire(v));
        }
        let mut log = format!("> {method} {shown_url}\n");
        for (name, value) in &defaults {
            let _ = writeln!(log, "> {name}: {value}");
            request = request.header(*name, *value);
        }
        // The gate's cookies that match this URL (on every hop, to any origin: the jar
        // matches each cookie's own domain and path).
        let jar = step
            .cookies
            .then(|| reqwest::Url::parse(&current).ok())
            .flatten()
            .and_then(|u| ctx.cookies.header_for(&u));
        let mut cookie = jar.clone();
        if same_origin {
            // The log and messages show the URL without its password, and credential
            // headers without their value, declared secret or not.
            for (name, value) in &headers {
                if jar.is_some() && name.eq_ignore_ascii_case("cookie") {
                    // One `Cookie` header: the step's, then the jar's.
                    cookie = Some(format!("{value}; {}", jar.as_deref().unwrap_or("")));
                    continue;
                }
                let _ = writeln!(log, "> {name}: {}", redact_header(name, value));
                learn(ctx, credentials::parts(name, value));
                request = request.header(name.as_str(), value.as_str());
            }
        }
        // What the gate sends as a credential is a secret of the gate (an echo of it is
        // masked): the URL's password (sent as `Basic`), its headers, its cookies.
        learn(ctx, credentials::of_url(&current));
        if let Some(cookie) = cookie {
            let _ = writeln!(log, "> cookie: {}", redact_header("cookie", &cookie));
            learn(ctx, credentials::parts("cookie", &cookie));
            request = request.header(reqwest::header::COOKIE, cookie);
        }
        if let Some(body) = body.as_ref().filter(|_| with_body) {
            let own_type = same_origin
                && headers
                    .iter()
                    .any(|(n, _)| n.eq_ignore_ascii_case("content-type"));
            if let Some(t) = body.content_type.as_ref().filter(|_| !own_type) {
                let _ = writeln!(log, "> content-type: {t}");
                request = request.header(reqwest::header::CONTENT_TYPE, t.as_str());
            }
            let _ = writeln!(log, ">\n{}", body.log);
            request = request.body(body.bytes.clone());
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
        if step.cookies {
            let set = response.headers().get_all(reqwest::header::SET_COOKIE);
            let url = response.url().clone();
            ctx.cookies
                .store(set.iter().filter_map(|v| v.to_str().ok()), &url);
        }
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
    Ok(Sent {
        method,
        url: current,
        response,
    })
}

/// `query:` appended to the URL's own query, url-encoded (a space as `%20`, which every server
/// reads as a space, where `+` is one only to form parsers).
fn with_query(ctx: &GateCtx, url: String, pairs: &[(String, String)]) -> Result<String, Failure> {
    if pairs.is_empty() {
        return Ok(url);
    }
    let mut parsed = reqwest::Url::parse(&url)
        .map_err(|e| Failure::Error(format!("invalid URL {}: {e}", redact_url(&url))))?;
    let mut encoded = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in pairs {
        encoded.append_pair(name, &vars::interpolate(value, &ctx.vars).map_err(invalid)?);
    }
    // The serializer writes a space as `+` and a `+` as `%2B`: every `+` left is a space.
    let encoded = encoded.finish().replace('+', "%20");
    let query = match parsed.query() {
        Some(q) if !q.is_empty() => format!("{q}&{encoded}"),
        _ => encoded,
    };
    parsed.set_query(Some(&query));
    Ok(parsed.into())
}

/// Add what a request sends as a credential to the gate's secrets, once each (an `eventually`
/// step sends on every attempt).
fn learn(ctx: &mut GateCtx, parts: Vec<String>) {
    for p in parts {
        if !ctx.secrets.contains(&p) {
            ctx.secrets.push(p);
        }
    }
}
