//! Whether a request shows what a route (or a `received` step) asks of it: headers and query
//! parameters judged like an `http` step's response headers, the body's text like its body,
//! JSONPaths like its `expect.json`. The same judges, so a mock matches exactly as an
//! expectation would, and a `received` step fails with the message one would give.

use super::request::Request;
use crate::config::RequestMatch;
use crate::expect;
use crate::expect::value::Bindings;
use crate::steps::headers;
use crate::steps::http::json::select;
use crate::steps::outcome::Failure;

pub fn judge(m: &RequestMatch, req: &Request, b: Bindings) -> Result<(), Failure> {
    if req.headers_cut && !m.headers.is_empty() {
        return Err(Failure::Check(
            "expected headers kept whole to judge, got a part (over the mock's 64 KiB of headers per request, or past its record of 64 MiB)".to_owned(),
        ));
    }
    for (name, checks) in &m.headers {
        let values = req.header_values(name);
        for c in checks {
            headers::check("header", name, c, &values, b)?;
        }
    }
    for (name, checks) in &m.query {
        let values = req.query_values(name);
        for c in checks {
            headers::check("query parameter", name, c, &values, b)?;
        }
    }
    // A body not kept whole is judged by no pattern: a positive one would hold on the part.
    if !(m.body.is_empty() && m.json.is_empty())
        && let Some(why) = req.not_whole()
    {
        return Err(Failure::Check(format!(
            "expected a body kept whole to judge, got a part ({why})"
        )));
    }
    if !m.body.is_empty() {
        let text = req.text();
        let observed = expect::Observed {
            head: &text,
            tail: None,
            cut: None,
        };
        expect::check_observed("body", &m.body, &observed, b.text)?;
    }
    if !m.json.is_empty() {
        let json = req.json().map_err(|reason| {
            Failure::Check(format!(
                "expected a JSON body, got {} ({})",
                expect::preview(&req.text()),
                expect::value::render(&serde_json::Value::String(reason))
            ))
        })?;
        for (path, want) in &m.json {
            let (got, many) = select(path, json, b)?;
            want.check.check(path, got.as_ref(), many || want.many, b)?;
        }
    }
    Ok(())
}
