//! The response: its body read (up to a cap) and its head and body written to the gate log.

use std::fmt::Write;

use super::decode::decode;
use super::redact::{LOG_BODY_CAP, capped, redact_header, redact_urls_in};
use super::request::Sent;
use crate::runner::gate::ctx::GateCtx;
use crate::steps::outcome::Failure;
use crate::steps::probe::short_error;
use crate::text::redact_url;

/// How much of a response body is read; the rest is ignored.
pub(super) const BODY_CAP: usize = 16 << 20;

/// What came back, read.
pub(super) struct Received {
    pub status: reqwest::StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
    /// The body was longer than [`BODY_CAP`].
    pub cut: bool,
    /// The body as text, decoded by its charset, for patterns and the log.
    pub text: String,
    /// The content coding gaterun could not undo (`zstd`): `body` is still encoded.
    pub undecoded: Option<String>,
    /// Why `text` is not the body's text (an unknown charset): its text checks fail.
    pub text_error: Option<String>,
}

pub(super) async fn read(ctx: &mut GateCtx, sent: Sent) -> Result<Received, Failure> {
    let Sent {
        method,
        url: current,
        response,
    } = sent;
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
    // Every check sees the decoded body; the log says it was decoded.
    let decoded = decode(&headers, body, body_cut, BODY_CAP);
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
    let decoded = match decoded {
        Ok(d) => d,
        Err(reason) => {
            ctx.log_line(log.trim_end());
            ctx.log_line(&format!("< [{reason}]"));
            return Err(Failure::Check(reason));
        }
    };
    if let Some(note) = &decoded.note {
        let _ = writeln!(log, "< [{note}]");
    }
    let (body, body_cut) = (decoded.body, decoded.cut);
    let content_type = headers
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let charset = super::charset::decode(content_type, &body);
    let text = charset.text;
    if let Some(charset) = charset.charset {
        let _ = writeln!(log, "< [body decoded from {charset}]");
    }
    if let Some(why) = &charset.unknown {
        let _ = writeln!(log, "< [{why}]");
    }
    if !text.is_empty() {
        let _ = writeln!(log, "<\n{}", capped(&text, LOG_BODY_CAP));
    }
    ctx.log_line(log.trim_end());

    Ok(Received {
        status,
        headers,
        body,
        cut: body_cut,
        text,
        undecoded: decoded.undecoded,
        text_error: charset.unknown,
    })
}
