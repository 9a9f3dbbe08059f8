//! Exact values and matchers: what `expect.json`, `sql` `value`/`rows` and captured values are
//! compared with. A gate must never pass on a near miss, so a plain value is compared exactly
//! and by type: a string equals only that string, numbers compare by value with no precision
//! loss ([`super::number`]), `true`/`false`/`null` equal only themselves. A string `/re/` is a
//! regex on a string, `!value` means "not equal", and a map whose keys are all matcher names is
//! a predicate (`equals`, `contains`, `matches`, `exists`, `count`, `type`, `gt`, `ge`, `lt`,
//! `le`).

pub mod check;
pub mod json;
pub mod parse;

#[cfg(test)]
mod tests;

pub use json::{Bindings, Typed, render, resolve, values_equal};
pub use parse::{Matcher, ValueCheck, count_check, fits_several};
