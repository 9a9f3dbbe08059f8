//! Why a check did not hold, shared by text patterns and typed values: a gate's failure when
//! the expectation is false, or an expectation that could not be evaluated.

/// Why a check did not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckError {
    /// The expectation is false: `expected stdout to contain "ok", got "hello"`.
    Mismatch(String),
    /// The expectation could not be evaluated (an undefined variable, a bad regex).
    Invalid(String),
}
