//! Judging a value against an expectation: exactly and by type, so a near miss (`"1"` for
//! `1`, a lone value for a list, a missing path for `count: 0`) fails with a one-line message
//! naming what was expected and what was found.

use std::cmp::Ordering;

use serde_json::Value;

use super::json::{Bindings, render, resolve, values_equal};
use super::parse::{Matcher, ValueCheck, value_regex};
use crate::expect::error::CheckError;
use crate::expect::number::{self, Decimal};

impl ValueCheck {
    /// Check `got` (`None`: the selection found nothing). `many`: the selection can hold
    /// several values and `got` is their array, for `exists` and `count`.
    pub fn check(
        &self,
        what: &str,
        got: Option<&Value>,
        many: bool,
        b: Bindings,
    ) -> Result<(), CheckError> {
        let shown = || got.map(render).unwrap_or_else(|| "nothing".to_owned());
        match self {
            ValueCheck::Equals(want) => {
                let want = resolve(want, b)?;
                several_need_a_list(what, &want, many)?;
                if got.is_some_and(|g| values_equal(&want, g)) {
                    Ok(())
                } else {
                    mismatch(format!(
                        "expected {what} to be {}, got {}",
                        render(&want),
                        shown()
                    ))
                }
            }
            ValueCheck::NotEquals(want) => {
                let want = resolve(want, b)?;
                several_need_a_list(what, &want, many)?;
                // `!0` means "not 0": a string that reads as a number, boolean or null is
                // neither that value nor that text.
                let mut unwanted = vec![want.clone()];
                if let Value::String(text) = &want
                    && let Ok(literal @ (Value::Number(_) | Value::Bool(_) | Value::Null)) =
                        serde_json::from_str::<Value>(text)
                {
                    unwanted.push(literal);
                }
                match got {
                    Some(g) if !unwanted.iter().any(|u| values_equal(u, g)) => Ok(()),
                    _ => mismatch(format!(
                        "expected {what} not to be {}, got {}",
                        render(&want),
                        shown()
                    )),
                }
            }
            ValueCheck::Regex { source, negate } => {
                if many {
                    return Err(several_nodes(what, "a regex"));
                }
                let re = compile(source, b)?;
                // A regex is on a string: anything else fails, negated or not.
                let holds = match got {
                    Some(Value::String(s)) => re.is_match(s) != *negate,
                    _ => false,
                };
                if holds {
                    return Ok(());
                }
                let verb = match (negate, got) {
                    (true, Some(Value::String(_))) => "not to match",
                    (true, _) => "to be a string not matching",
                    (false, Some(g)) if !g.is_string() => "to be a string matching",
                    (false, _) => "to match",
                };
                mismatch(format!(
                    "expected {what} {verb} /{}/, got {}",
                    re.as_str(),
                    shown()
                ))
            }
            ValueCheck::All(matchers) => {
                for m in matchers {
                    m.check(what, got, many, b)?;
                }
                Ok(())
            }
        }
    }
}

impl Matcher {
    fn check(
        &self,
        what: &str,
        got: Option<&Value>,
        many: bool,
        b: Bindings,
    ) -> Result<(), CheckError> {
        let shown = || got.map(render).unwrap_or_else(|| "nothing".to_owned());
        match self {
            Matcher::Equals(want) => ValueCheck::Equals(want.clone()).check(what, got, many, b),
            Matcher::Contains(want) => {
                let want = resolve(want, b)?;
                let holds = match (got, &want) {
                    (Some(Value::String(s)), Value::String(w)) => s.contains(w.as_str()),
                    (Some(Value::Array(items)), w) => items.iter().any(|i| values_equal(w, i)),
                    _ => false,
                };
                if holds {
                    Ok(())
                } else {
                    mismatch(format!(
                        "expected {what} to contain {}, got {}",
                        render(&want),
                        shown()
                    ))
                }
            }
            Matcher::Matches(source) => ValueCheck::Regex {
                source: source.clone(),
                negate: false,
            }
            .check(what, got, many, b),
            Matcher::Exists(want) => {
                let exists = match got {
                    Some(Value::Array(items)) if many => !items.is_empty(),
                    Some(_) => true,
                    None => false,
                };
                match (exists, *want) {
                    (true, true) | (false, false) => Ok(()),
                    (false, true) => mismatch(format!("expected {what} to exist, got nothing")),
                    (true, false) => {
                        mismatch(format!("expected {what} not to exist, got {}", shown()))
                    }
                }
            }
            Matcher::Count(inner) => {
                // Only an array is counted: a path that selects nothing, or a scalar or an
                // object, fails (a mistyped path must not pass `count: 0`).
                let n = match got {
                    Some(Value::Array(items)) => items.len(),
                    _ => {
                        return mismatch(format!(
                            "expected {what} to be an array to count, got {}",
                            shown()
                        ));
                    }
                };
                inner.check(
                    &format!("the count of {what}"),
                    Some(&Value::from(n)),
                    false,
                    b,
                )
            }
            Matcher::Type(t) => {
                if got.is_some_and(|g| type_holds(t, g)) {
                    Ok(())
                } else {
                    let article = if t.starts_with(['a', 'i', 'o']) {
                        "an"
                    } else {
                        "a"
                    };
                    mismatch(format!(
                        "expected {what} to be {article} {t}, got {}",
                        shown()
                    ))
                }
            }
            Matcher::Compare(side, or_equal, want) => {
                let want = resolve(want, b)?;
                let Value::Number(w) = &want else {
                    return Err(CheckError::Invalid(format!(
                        "comparing {what}: {} is not a number",
                        render(&want)
                    )));
                };
                let holds = match got {
                    Some(Value::Number(g)) => number::compare(g, w)
                        .is_some_and(|o| o == *side || (*or_equal && o == Ordering::Equal)),
                    _ => false,
                };
                if holds {
                    return Ok(());
                }
                let relation = match (side, or_equal) {
                    (Ordering::Greater, false) => "greater than",
                    (Ordering::Greater, true) => "at least",
                    (_, false) => "less than",
                    (_, true) => "at most",
                };
                mismatch(format!(
                    "expected {what} to be {relation} {w}, got {}",
                    shown()
                ))
            }
        }
    }
}

fn type_holds(t: &str, v: &Value) -> bool {
    match (t, v) {
        ("string", Value::String(_))
        | ("number", Value::Number(_))
        | ("boolean", Value::Bool(_))
        | ("null", Value::Null)
        | ("array", Value::Array(_))
        | ("object", Value::Object(_)) => true,
        ("integer", Value::Number(n)) => Decimal::from_number(n).is_some_and(|d| d.is_integer()),
        _ => false,
    }
}

fn mismatch(message: String) -> Result<(), CheckError> {
    Err(CheckError::Mismatch(message))
}

/// A regex on a value: `^` and `$` are the value's start and end (a value is not lines of
/// output), and a `${VAR}` in it matches the variable's text literally.
fn compile(source: &str, b: Bindings) -> Result<regex::Regex, CheckError> {
    let re =
        crate::expect::regexes::interpolate_regex(source, b.text).map_err(CheckError::Invalid)?;
    value_regex(&re).map_err(|e| CheckError::Invalid(format!("invalid regex `/{re}/`: {e}")))
}

/// A path that can select several nodes is compared as a list: a lone value never equals it.
fn several_need_a_list(what: &str, want: &Value, many: bool) -> Result<(), CheckError> {
    if many && !want.is_array() {
        return Err(several_nodes(what, &format!("the value {}", render(want))));
    }
    Ok(())
}

fn several_nodes(what: &str, given: &str) -> CheckError {
    CheckError::Invalid(format!(
        "{what} can select several nodes, so it is compared as a list, and {given} never equals one: write a list ([…]) or use `contains`, `count` or `exists`"
    ))
}
