//! The `http` step: one request, expectations on status, headers, body and JSON, captures by
//! JSONPath or header. The gate log keeps the request and the response (body capped).
//!
//! `step` is one attempt: `request` sends (following redirects) with the body `body` makes,
//! `response` reads, decodes (`decode`) and logs, `save` writes the body to a file, `version`
//! and `checks` compare and capture; `json` and `redact` are their leaves. The gate's cookie
//! jar is `steps::cookies`, owned by the gate context.

mod body;
mod checks;
mod decode;
mod json;
mod redact;
mod request;
mod response;
mod save;
mod step;
mod version;

pub use step::attempt;
