//! Typed values as a gate's expectations see them: the variables they may refer to (as text,
//! and with the JSON or SQL type they were captured with), exact typed equality, and the
//! one-line rendering every failure message uses.

use std::cmp::Ordering;
use std::collections::HashMap;

use serde_json::Value;

use crate::expect::error::CheckError;
use crate::expect::number;
use crate::vars::{self, Vars};

/// Variables with the JSON or SQL type they were captured with.
pub type Typed = HashMap<String, Value>;

/// What an expected value may refer to: the gate's variables as text, and the typed ones.
#[derive(Clone, Copy)]
pub struct Bindings<'a> {
    pub text: &'a Vars,
    pub typed: &'a Typed,
}

/// `NAME` if `s` is exactly `${NAME}`.
pub fn whole_variable(s: &str) -> Option<&str> {
    let name = s.strip_prefix("${")?.strip_suffix('}')?;
    vars::is_name(name).then_some(name)
}

/// Substitute variables in an expected value. A string that is one `${NAME}` alone takes the
/// variable's typed value when it has one (a capture), so a captured number stays a number.
pub fn resolve(v: &Value, b: Bindings) -> Result<Value, CheckError> {
    let invalid = |e: vars::VarError| CheckError::Invalid(e.to_string());
    Ok(match v {
        Value::String(s) => match whole_variable(s).and_then(|n| b.typed.get(n)) {
            Some(typed) => typed.clone(),
            None => Value::String(vars::interpolate(s, b.text).map_err(invalid)?),
        },
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|i| resolve(i, b))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), resolve(v, b)?)))
                .collect::<Result<_, CheckError>>()?,
        ),
        other => other.clone(),
    })
}

/// Exact, typed equality; numbers by value at any precision.
pub fn values_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => number::compare(x, y) == Some(Ordering::Equal),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| values_equal(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| values_equal(v, w)))
        }
        (x, y) => x == y,
    }
}

/// A value in a one-line message: compact JSON (strings quoted, control characters escaped),
/// cut at 120 characters.
pub fn render(v: &Value) -> String {
    const MAX: usize = 120;
    let text = serde_json::to_string(v).unwrap_or_default();
    if text.chars().count() > MAX {
        format!("{}…", text.chars().take(MAX).collect::<String>())
    } else {
        text
    }
}
