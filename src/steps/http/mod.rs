//! The `http` step: one request, expectations on status, headers, body, JSON, XPath, CSS,
//! bytes and duration, captures by JSONPath, header, regex or the whole body. The gate log
//! keeps the request and the response (body capped).
//!
//! `step` is one attempt: `request` sends (following redirects) with the body `body` makes,
//! `response` reads, decodes (`decode` undoes the content coding, `charset` makes the text)
//! and logs, `save` writes the body to a file, `sign` signs the body sent (`sign:`), `version` and `checks` compare and capture,
//! with `measures` (duration, bytes, text captures), `xpath` and `css` (judged alike by
//! `nodes`, parsed on a thread of their own by `offload` once `nesting` and `open_elements`
//! found the body cheap enough); `json` and `redact` are their leaves, and `credentials`
//! makes what a step sends as a credential a secret of its gate; `paths` finds where a
//! file read or written really is. The gate's cookie jar is `steps::cookies`, owned by the
//! gate context.

mod body;
mod charset;
mod checks;
pub(crate) mod credentials;
mod css;
mod decode;
pub(crate) mod json;
pub(crate) mod measures;
mod nesting;
mod nodes;
mod offload;
mod open_elements;
mod paths;
pub(crate) mod redact;
mod request;
mod response;
mod save;
mod sign;
mod step;
mod version;
mod xpath;

pub use step::attempt;
