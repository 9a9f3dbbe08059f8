//! Text patterns: a plain string must occur as a substring, `/.../` is a regex, a leading `!`
//! negates either form, and `{ equals: "ok" }` is the whole text exactly (one trailing newline
//! ignored). Patterns may hold `${VAR}`, so they are compiled once the gate's variables are
//! known; `Pattern::parse` checks them up front so `gaterun check` catches a bad regex before
//! anything runs. Typed values (JSON, SQL cells, captures) are compared in [`value`].

pub mod cut;
pub mod error;
pub mod memo;
pub mod number;
pub mod pattern;
pub mod regexes;
pub mod value;

pub use error::CheckError;
pub use pattern::{Matcher, Observed, Pattern, check_all, check_observed, preview};
pub use regexes::{compile, interpolate_regex};
