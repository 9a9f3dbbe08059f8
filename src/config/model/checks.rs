//! What an `http` step expects of a header and of a JSONPath's selection; also what a mock's
//! route and a `received` step ask of a request (issue 20). A leaf of the model.

use crate::expect::Pattern;
use crate::expect::value::ValueCheck;

/// One expectation on a response header, which may be repeated (`Set-Cookie`).
#[derive(Debug, Clone)]
pub enum HeaderCheck {
    /// A positive pattern must match at least one value, a `!` pattern none.
    Pattern(Pattern),
    Exists(bool),
    /// How many times the header is present.
    Count(ValueCheck),
}

/// An expectation on what a JSONPath selects.
#[derive(Debug, Clone)]
pub struct JsonExpect {
    pub check: ValueCheck,
    /// The path can select several nodes (wildcard, slice, filter, descendants): what it
    /// selects is compared as an array, even one node.
    pub many: bool,
}
