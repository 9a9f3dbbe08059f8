//! The `http` step: one request, expectations on status, headers, body and JSON, captures by
//! JSONPath or header. The gate log keeps the request and the response (body capped).
//!
//! `step` is one attempt: `request` sends (following redirects), `response` reads and logs,
//! `checks` compares and captures; `json` and `redact` are their leaves.

mod body;
mod checks;
mod decode;
mod json;
mod redact;
mod request;
mod response;
mod step;

pub use step::attempt;
