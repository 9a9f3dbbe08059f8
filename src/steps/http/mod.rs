//! The `http` step: one request, expectations on status, headers, body, JSON, XPath, CSS,
//! bytes and duration, captures by JSONPath, header, regex or the whole body. The gate log
//! keeps the request and the response (body capped).
//!
//! `step` is one attempt: `request` sends (following redirects), `response` reads (its text
//! decoded by `charset`) and logs, `checks` compares and captures, with `measures` (duration,
//! bytes, text captures), `xpath` and `css` (judged alike by `nodes`); `json` and `redact`
//! are their leaves.

mod charset;
mod checks;
mod css;
mod json;
mod measures;
mod nesting;
mod nodes;
mod redact;
mod request;
mod response;
mod step;
mod xpath;

pub use step::attempt;
