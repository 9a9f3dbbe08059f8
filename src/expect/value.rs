//! Exact values and matchers: what `expect.json`, `sql` `value`/`rows` and captured values are
//! compared with. A gate must never pass on a near miss, so a plain value is compared exactly
//! and by type: a string equals only that string, numbers compare by value with no precision
//! loss ([`super::number`]), `true`/`false`/`null` equal only themselves. A string `/re/` is a
//! regex on a string, `!value` means "not equal", and a map whose keys are all matcher names is
//! a predicate (`equals`, `contains`, `matches`, `exists`, `count`, `type`, `gt`, `ge`, `lt`,
//! `le`).

use std::cmp::Ordering;
use std::collections::HashMap;

use serde_json::Value;

use super::CheckError;
use super::number::Decimal;
use crate::vars::{self, Vars};

/// Variables with the JSON or SQL type they were captured with.
pub type Typed = HashMap<String, Value>;

/// What an expected value may refer to: the gate's variables as text, and the typed ones.
#[derive(Clone, Copy)]
pub struct Bindings<'a> {
    pub text: &'a Vars,
    pub typed: &'a Typed,
}

pub const MATCHERS: &[&str] = &[
    "equals", "contains", "matches", "exists", "count", "type", "gt", "ge", "lt", "le",
];

const TYPES: &[&str] = &[
    "string", "number", "integer", "boolean", "null", "array", "object",
];

/// One expectation on a value.
#[derive(Debug, Clone)]
pub enum ValueCheck {
    /// Exactly this value. Strings may hold `${VAR}`; a string that is one `${NAME}` alone
    /// stands for that variable's value with its captured type.
    Equals(Value),
    NotEquals(Value),
    /// A string value matching the regex (which may hold `${VAR}`).
    Regex {
        source: String,
        negate: bool,
    },
    /// Every matcher holds.
    All(Vec<Matcher>),
}

#[derive(Debug, Clone)]
pub enum Matcher {
    Equals(Value),
    Contains(Value),
    Matches(String),
    Exists(bool),
    Count(Box<ValueCheck>),
    Type(&'static str),
    Compare(Ordering, bool, Value),
}

fn regex_body(s: &str) -> Option<&str> {
    (s.len() >= 2 && s.starts_with('/') && s.ends_with('/')).then(|| &s[1..s.len() - 1])
}

fn check_regex(source: &str) -> Result<(), String> {
    let checked = vars::check_syntax(source, "x").map_err(|e| e.to_string())?;
    value_regex(&checked).map(|_| ()).map_err(|e| {
        format!(
            "invalid regex `/{source}/`: {}",
            super::first_line(&e.to_string())
        )
    })
}

fn check_templates(v: &Value) -> Result<(), String> {
    match v {
        Value::String(s) => vars::check_syntax(s, "x")
            .map(|_| ())
            .map_err(|e| e.to_string()),
        Value::Array(items) => items.iter().try_for_each(check_templates),
        Value::Object(map) => map.values().try_for_each(check_templates),
        _ => Ok(()),
    }
}

/// A number, or a string that is a single `${NAME}` (a captured number).
fn number_operand(name: &str, v: &Value) -> Result<Value, String> {
    match v {
        Value::Number(_) => Ok(v.clone()),
        Value::String(s) if whole_variable(s).is_some() => Ok(v.clone()),
        other => Err(format!("`{name}` takes a number, got {}", render(other))),
    }
}

impl ValueCheck {
    /// Read an expectation as written in a gate file.
    pub fn parse(written: &Value) -> Result<ValueCheck, String> {
        match written {
            Value::String(s) => {
                let (negate, body) = match s.strip_prefix('!') {
                    Some(rest) => (true, rest),
                    None => (false, s.as_str()),
                };
                if let Some(re) = regex_body(body) {
                    check_regex(re)?;
                    return Ok(ValueCheck::Regex {
                        source: re.to_owned(),
                        negate,
                    });
                }
                vars::check_syntax(body, "x").map_err(|e| e.to_string())?;
                let v = Value::String(body.to_owned());
                Ok(if negate {
                    ValueCheck::NotEquals(v)
                } else {
                    ValueCheck::Equals(v)
                })
            }
            Value::Object(map)
                if !map.is_empty() && map.keys().all(|k| MATCHERS.contains(&k.as_str())) =>
            {
                let mut matchers = Vec::new();
                for (name, arg) in map {
                    matchers.push(Matcher::parse(name, arg)?);
                }
                Ok(ValueCheck::All(matchers))
            }
            Value::Object(map) => {
                // Some keys are matchers and every other one is a near miss of one: a typo
                // (`gte`, `exits`), not a literal object that would never equal anything.
                let matcher_like =
                    map.keys().any(|k| MATCHERS.contains(&k.as_str())) || map.len() == 1;
                if matcher_like {
                    let typos: Vec<(String, &str)> = map
                        .keys()
                        .filter(|k| !MATCHERS.contains(&k.as_str()))
                        .filter_map(|k| {
                            const ALIASES: &[(&str, &str)] = &[
                                ("gte", "ge"),
                                ("lte", "le"),
                                ("eq", "equals"),
                                ("equal", "equals"),
                                ("regex", "matches"),
                                ("match", "matches"),
                                ("length", "count"),
                                ("len", "count"),
                                ("size", "count"),
                            ];
                            ALIASES
                                .iter()
                                .find(|(a, _)| a == k)
                                .map(|(_, m)| *m)
                                .or_else(|| crate::config::diagnostic::suggest(k, MATCHERS))
                                .map(|m| (k.clone(), m))
                        })
                        .collect();
                    if let Some((k, m)) = typos.first()
                        && typos.len()
                            == map
                                .keys()
                                .filter(|k| !MATCHERS.contains(&k.as_str()))
                                .count()
                    {
                        return Err(format!(
                            "unknown matcher `{k}`, did you mean `{m}`? (to compare with an object, wrap it in `equals`)"
                        ));
                    }
                }
                check_templates(written)?;
                Ok(ValueCheck::Equals(written.clone()))
            }
            other => {
                check_templates(other)?;
                Ok(ValueCheck::Equals(other.clone()))
            }
        }
    }

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
    fn parse(name: &str, arg: &Value) -> Result<Matcher, String> {
        Ok(match name {
            "equals" => {
                check_templates(arg)?;
                Matcher::Equals(arg.clone())
            }
            "contains" => {
                check_templates(arg)?;
                Matcher::Contains(arg.clone())
            }
            "matches" => match arg {
                Value::String(s) => {
                    let re = regex_body(s).unwrap_or(s);
                    check_regex(re)?;
                    Matcher::Matches(re.to_owned())
                }
                other => {
                    return Err(format!(
                        "`matches` takes a regex string, got {}",
                        render(other)
                    ));
                }
            },
            "exists" => match arg {
                Value::Bool(b) => Matcher::Exists(*b),
                other => {
                    return Err(format!(
                        "`exists` takes true or false, got {}",
                        render(other)
                    ));
                }
            },
            "count" => Matcher::Count(Box::new(count_check(arg)?)),
            "type" => match arg.as_str().and_then(|t| TYPES.iter().find(|x| **x == t)) {
                Some(t) => Matcher::Type(t),
                None => {
                    return Err(format!(
                        "`type` takes one of {}, got {}",
                        TYPES.join(", "),
                        render(arg)
                    ));
                }
            },
            "gt" => Matcher::Compare(Ordering::Greater, false, number_operand(name, arg)?),
            "ge" => Matcher::Compare(Ordering::Greater, true, number_operand(name, arg)?),
            "lt" => Matcher::Compare(Ordering::Less, false, number_operand(name, arg)?),
            "le" => Matcher::Compare(Ordering::Less, true, number_operand(name, arg)?),
            other => return Err(format!("unknown matcher `{other}`")),
        })
    }

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
                    Some(Value::Number(g)) => super::number::compare(g, w)
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

/// What `count` takes: a whole number, or a map of `equals`, `gt`, `ge`, `lt`, `le`.
pub fn count_check(arg: &Value) -> Result<ValueCheck, String> {
    match arg {
        Value::Number(n)
            if Decimal::from_number(n).is_some_and(|d| d.is_integer())
                && !n.to_string().starts_with('-') =>
        {
            Ok(ValueCheck::Equals(arg.clone()))
        }
        Value::Object(map)
            if !map.is_empty()
                && map
                    .keys()
                    .all(|k| ["equals", "gt", "ge", "lt", "le"].contains(&k.as_str())) =>
        {
            ValueCheck::parse(arg)
        }
        other => Err(format!(
            "`count` takes a whole number or a map of `gt`, `ge`, `lt`, `le`, got {}",
            render(other)
        )),
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
    let re = super::interpolate_regex(source, b.text).map_err(CheckError::Invalid)?;
    value_regex(&re).map_err(|e| CheckError::Invalid(format!("invalid regex `/{re}/`: {e}")))
}

fn value_regex(re: &str) -> Result<regex::Regex, regex::Error> {
    regex::RegexBuilder::new(re).size_limit(1 << 22).build()
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

/// Whether this check can hold for a path that selects several nodes (a list): refused up
/// front by `gaterun check` otherwise, since it would never, or vacuously always, hold.
pub fn fits_several(check: &ValueCheck) -> bool {
    let listish =
        |v: &Value| v.is_array() || v.as_str().is_some_and(|s| whole_variable(s).is_some());
    match check {
        ValueCheck::Equals(v) | ValueCheck::NotEquals(v) => listish(v),
        ValueCheck::Regex { .. } => false,
        ValueCheck::All(matchers) => matchers.iter().all(|m| match m {
            Matcher::Equals(v) => listish(v),
            Matcher::Matches(_) | Matcher::Compare(..) => false,
            _ => true,
        }),
    }
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
        (Value::Number(x), Value::Number(y)) => {
            super::number::compare(x, y) == Some(Ordering::Equal)
        }
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn body(text: &str) -> Value {
        serde_json::from_str(text).expect("test JSON")
    }

    /// Each row: the expectation as written, a value that must pass, and a near miss that must
    /// fail with the message given.
    #[test]
    fn every_form_passes_its_value_and_fails_its_near_miss() {
        let cases: &[(Value, &str, &str, &str)] = &[
            (
                json!("done"),
                r#""done""#,
                r#""undone""#,
                r#"expected $.x to be "done", got "undone""#,
            ),
            (
                json!("active"),
                r#""active""#,
                r#""inactive""#,
                r#"expected $.x to be "active", got "inactive""#,
            ),
            (
                json!("5"),
                r#""5""#,
                "5",
                r#"expected $.x to be "5", got 5"#,
            ),
            (
                json!("false"),
                r#""false""#,
                "false",
                r#"expected $.x to be "false", got false"#,
            ),
            (
                json!("null"),
                r#""null""#,
                "null",
                r#"expected $.x to be "null", got null"#,
            ),
            (
                json!(false),
                "false",
                "0",
                "expected $.x to be false, got 0",
            ),
            (
                json!(null),
                "null",
                r#""""#,
                r#"expected $.x to be null, got """#,
            ),
            (
                json!(5),
                "5.0",
                r#""5""#,
                r#"expected $.x to be 5, got "5""#,
            ),
            (
                json!(4.5),
                "4.50",
                "4.05",
                "expected $.x to be 4.5, got 4.05",
            ),
            (
                body("1000000000000000000000"),
                "1e21",
                "1000000000000000000001",
                "expected $.x to be 1000000000000000000000, got 1000000000000000000001",
            ),
            (
                json!([1, "a"]),
                r#"[1.0, "a"]"#,
                r#"[1, "a", null]"#,
                r#"expected $.x to be [1,"a"], got [1,"a",null]"#,
            ),
            (
                json!({"a": 1}),
                r#"{"a": 1}"#,
                r#"{"a": 1, "b": 2}"#,
                r#"expected $.x to be {"a":1}, got {"a":1,"b":2}"#,
            ),
            (
                json!("!done"),
                r#""undone""#,
                r#""done""#,
                r#"expected $.x not to be "done", got "done""#,
            ),
            (
                json!("/^do/"),
                r#""done""#,
                r#""undone""#,
                r#"expected $.x to match /^do/, got "undone""#,
            ),
            (
                json!("/^5$/"),
                r#""5""#,
                "5",
                "expected $.x to be a string matching /^5$/, got 5",
            ),
            (
                json!("!/err/"),
                r#""ok""#,
                r#""an error""#,
                r#"expected $.x not to match /err/, got "an error""#,
            ),
            (
                json!({"equals": {"type": "t"}}),
                r#"{"type": "t"}"#,
                r#"{"type": "u"}"#,
                r#"expected $.x to be {"type":"t"}, got {"type":"u"}"#,
            ),
            (
                json!({"contains": "act"}),
                r#""inactive""#,
                r#""acquired""#,
                r#"expected $.x to contain "act", got "acquired""#,
            ),
            (
                json!({"contains": 2}),
                "[1, 2]",
                r#"[1, "2"]"#,
                r#"expected $.x to contain 2, got [1,"2"]"#,
            ),
            (
                json!({"matches": "^a+$"}),
                r#""aaa""#,
                r#""aab""#,
                r#"expected $.x to match /^a+$/, got "aab""#,
            ),
            (
                json!({"count": 2}),
                "[1, 2]",
                "[1, 2, 3]",
                "expected the count of $.x to be 2, got 3",
            ),
            (
                json!({"count": {"ge": 2}}),
                "[1, 2]",
                "[1]",
                "expected the count of $.x to be at least 2, got 1",
            ),
            (
                json!({"type": "integer"}),
                "4.0",
                "4.5",
                "expected $.x to be an integer, got 4.5",
            ),
            (
                json!({"type": "string"}),
                r#""4""#,
                "4",
                "expected $.x to be a string, got 4",
            ),
            (
                json!({"type": "null"}),
                "null",
                "false",
                "expected $.x to be a null, got false",
            ),
            (
                json!({"type": "array"}),
                "[]",
                "{}",
                "expected $.x to be an array, got {}",
            ),
            (
                json!({"type": "object"}),
                "{}",
                "[]",
                "expected $.x to be an object, got []",
            ),
            (
                json!({"type": "boolean"}),
                "true",
                r#""true""#,
                r#"expected $.x to be a boolean, got "true""#,
            ),
            (
                json!({"type": "number"}),
                "1e3",
                r#""1e3""#,
                r#"expected $.x to be a number, got "1e3""#,
            ),
            (
                json!({"gt": 5}),
                "5.000001",
                "5",
                "expected $.x to be greater than 5, got 5",
            ),
            (
                json!({"ge": 5}),
                "5",
                "4.999",
                "expected $.x to be at least 5, got 4.999",
            ),
            (
                json!({"lt": 5}),
                "4",
                "5",
                "expected $.x to be less than 5, got 5",
            ),
            (
                json!({"le": 5}),
                "5",
                "5.1",
                "expected $.x to be at most 5, got 5.1",
            ),
            (
                json!({"gt": 9007199254740992_u64}),
                "9007199254740993",
                "9007199254740992",
                "expected $.x to be greater than 9007199254740992, got 9007199254740992",
            ),
            (
                json!({"gt": 1, "lt": 3}),
                "2",
                "3",
                "expected $.x to be less than 3, got 3",
            ),
            (
                json!({"exists": true}),
                "null",
                "",
                "expected $.x to exist, got nothing",
            ),
        ];
        let vars = Vars::new();
        let typed = Typed::new();
        let b = Bindings {
            text: &vars,
            typed: &typed,
        };
        for (written, pass, miss, message) in cases {
            let check = ValueCheck::parse(written).unwrap_or_else(|e| panic!("{written}: {e}"));
            let got = body(pass);
            assert_eq!(
                check.check("$.x", Some(&got), false, b),
                Ok(()),
                "{written} on {pass}"
            );
            let miss = (!miss.is_empty()).then(|| body(miss));
            assert_eq!(
                check.check("$.x", miss.as_ref(), false, b),
                Err(CheckError::Mismatch((*message).to_owned())),
                "{written} on {miss:?}"
            );
        }
    }

    #[test]
    fn absent_values() {
        let vars = Vars::new();
        let typed = Typed::new();
        let b = Bindings {
            text: &vars,
            typed: &typed,
        };
        let check = |w: Value| ValueCheck::parse(&w).unwrap();
        assert_eq!(
            check(json!({"exists": false})).check("$.x", None, false, b),
            Ok(())
        );
        // `!value` and a negated regex still need something to compare: a mistyped path must
        // not pass.
        for w in [json!("!done"), json!("!/x/"), json!(null)] {
            assert!(
                check(w.clone()).check("$.x", None, false, b).is_err(),
                "{w}"
            );
        }
        // A path that can select several nodes selected none: an empty array.
        let none = json!([]);
        assert!(
            check(json!({"exists": true}))
                .check("$[*]", Some(&none), true, b)
                .is_err()
        );
        assert_eq!(
            check(json!({"exists": false})).check("$[*]", Some(&none), true, b),
            Ok(())
        );
        assert_eq!(
            check(json!({"count": 0})).check("$[*]", Some(&none), true, b),
            Ok(())
        );
    }

    /// Each of these passed once (an attack on the first version); each must fail now.
    #[test]
    fn attacks_that_passed_fail() {
        let vars: Vars = [("V".to_owned(), "a|".to_owned())].into();
        let typed: Typed = [("B".to_owned(), json!(false))].into();
        let b = Bindings {
            text: &vars,
            typed: &typed,
        };
        let fails = |w: Value, got: Option<Value>, many: bool| {
            let check = ValueCheck::parse(&w).unwrap_or_else(|e| panic!("{w}: {e}"));
            assert!(
                check.check("$.x", got.as_ref(), many, b).is_err(),
                "{w} passed on {got:?}"
            );
        };
        // `count` on a path that selects nothing, or on an object.
        fails(json!({"count": 0}), None, false);
        fails(json!({"count": {"lt": 1}}), None, false);
        fails(json!({"count": 2}), Some(json!({"a": 1, "b": 2})), false);
        // `^`/`$` are the value's ends, not line ends.
        fails(
            json!({"matches": "^t-\\d+$"}),
            Some(json!("<script>\nt-1")),
            false,
        );
        fails(json!("/^1\\.2\\.3$/"), Some(json!("9.9.9\n1.2.3")), false);
        // `!0`, `!false`, `!null` are not 0, false, null (nor their text).
        fails(json!("!0"), Some(json!(0)), false);
        fails(json!("!0"), Some(json!("0")), false);
        fails(json!("!false"), Some(json!(false)), false);
        fails(json!("!null"), Some(json!(null)), false);
        fails(json!("!${B}"), Some(json!(false)), false);
        // A negated regex is on a string too.
        fails(json!("!/fail/"), Some(json!(5)), false);
        // Several nodes never equal, or differ from, a lone value.
        fails(json!("!failed"), Some(json!(["failed", "failed"])), true);
        fails(json!("failed"), Some(json!(["failed"])), true);
        fails(json!("/fail/"), Some(json!(["failed"])), true);
        // A variable in a regex is literal text.
        fails(json!("/^${V}$/"), Some(json!("x")), false);
        let ok = |w: Value, got: Value| {
            let check = ValueCheck::parse(&w).unwrap();
            assert_eq!(
                check.check("$.x", Some(&got), false, b),
                Ok(()),
                "{w} on {got}"
            );
        };
        ok(json!("!0"), json!(1));
        ok(json!("/^${V}$/"), json!("a|"));
        ok(json!("!/fail/"), json!("passed"));
        assert!(!fits_several(
            &ValueCheck::parse(&json!("!failed")).unwrap()
        ));
        assert!(fits_several(
            &ValueCheck::parse(&json!({"contains": "x", "count": 2})).unwrap()
        ));
        assert!(fits_several(&ValueCheck::parse(&json!(["a"])).unwrap()));
    }

    #[test]
    fn captured_values_keep_their_type() {
        let vars: Vars = [
            ("ID".to_owned(), "4".to_owned()),
            ("NAME".to_owned(), "x".to_owned()),
        ]
        .into();
        let typed: Typed = [("ID".to_owned(), json!(4))].into();
        let b = Bindings {
            text: &vars,
            typed: &typed,
        };
        let id = ValueCheck::parse(&json!("${ID}")).unwrap();
        assert_eq!(id.check("$.id", Some(&json!(4)), false, b), Ok(()));
        assert_eq!(
            id.check("$.id", Some(&json!(14)), false, b),
            Err(CheckError::Mismatch(
                "expected $.id to be 4, got 14".to_owned()
            ))
        );
        assert!(id.check("$.id", Some(&json!("4")), false, b).is_err());
        // Inside a longer string a variable is text.
        let label = ValueCheck::parse(&json!("task-${ID}")).unwrap();
        assert_eq!(label.check("$.l", Some(&json!("task-4")), false, b), Ok(()));
        assert!(
            label
                .check("$.l", Some(&json!("task-14")), false, b)
                .is_err()
        );
        // An untyped variable (environment) stays text.
        let name = ValueCheck::parse(&json!("${NAME}")).unwrap();
        assert_eq!(name.check("$.n", Some(&json!("x")), false, b), Ok(()));
        let gt = ValueCheck::parse(&json!({"gt": "${ID}"})).unwrap();
        assert_eq!(gt.check("$.n", Some(&json!(5)), false, b), Ok(()));
        assert!(gt.check("$.n", Some(&json!(4)), false, b).is_err());
    }

    #[test]
    fn bad_expectations_are_refused_up_front() {
        for (written, error) in [
            (json!({"count": -1}), "`count` takes a whole number"),
            (json!({"count": 1.5}), "`count` takes a whole number"),
            (json!({"type": "int"}), "`type` takes one of"),
            (json!({"gt": "5"}), "`gt` takes a number"),
            (json!({"exists": "yes"}), "`exists` takes true or false"),
            (json!({"matches": "(a"}), "invalid regex"),
            (json!("/(a/"), "invalid regex"),
            (json!("${A"), "unclosed"),
        ] {
            let e = ValueCheck::parse(&written).unwrap_err();
            assert!(e.contains(error), "{written}: {e}");
        }
        // A matcher misspelt next to matchers, or alone, is an error, not a literal object.
        for (written, error) in [
            (
                json!({"type": "integer", "gte": 0}),
                "unknown matcher `gte`, did you mean `ge`?",
            ),
            (
                json!({"exits": false}),
                "unknown matcher `exits`, did you mean `exists`?",
            ),
        ] {
            assert_eq!(
                ValueCheck::parse(&written).unwrap_err(),
                format!("{error} (to compare with an object, wrap it in `equals`)")
            );
        }
        // A map with any key that is not a matcher is a literal object.
        assert!(matches!(
            ValueCheck::parse(&json!({"type": "user", "name": "x"})),
            Ok(ValueCheck::Equals(_))
        ));
    }
}
