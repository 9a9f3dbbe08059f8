//! The validated form of an `http` step's expectations added by issue 18: bounds on the
//! response time, the body's bytes, and XPath/CSS selections. Apart from `model` so that the
//! model file stays a table of the plan's shapes.

use std::cmp::Ordering;
use std::time::Duration;

use crate::expect::Pattern;
use crate::expect::value::ValueCheck;

/// `expect.duration`: one bound, `lt`/`le` (`Less`) or `gt`/`ge` (`Greater`).
#[derive(Debug, Clone)]
pub struct DurationBound {
    pub side: Ordering,
    pub or_equal: bool,
    pub limit: Duration,
    /// As written (`500ms`), for the failure message.
    pub written: String,
}

/// `expect.bytes`: on the body's bytes (after any content decoding).
#[derive(Debug, Clone, Default)]
pub struct BytesExpect {
    /// The number of bytes: a whole number or `gt`/`ge`/`lt`/`le`.
    pub count: Option<ValueCheck>,
    /// 64 lower-case hex digits.
    pub sha256: Option<String>,
}

/// What an `expect.xpath` or `expect.css` selector must select.
#[derive(Debug, Clone)]
pub enum NodeExpect {
    /// Text patterns on the selected texts joined by newlines.
    Patterns(Vec<Pattern>),
    /// Matchers (`count`, `exists`, `equals`…) on the list of texts, or on the typed value of
    /// an XPath expression that is not a node-set.
    Matchers(ValueCheck),
}
