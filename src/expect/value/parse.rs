//! An expectation on a value as written in a gate file, read and checked up front (a bad
//! regex, an unknown matcher, a near miss of one) so that `gaterun check` refuses it before
//! anything runs. Judging a value against it is [`super::check`]'s.

use std::cmp::Ordering;

use serde_json::Value;

use super::json::{render, whole_variable};
use crate::expect::number::Decimal;
use crate::vars;

pub const MATCHERS: &[&str] = &[
    "equals", "contains", "matches", "exists", "count", "type", "gt", "ge", "lt", "le",
];

pub(super) const TYPES: &[&str] = &[
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
            crate::expect::regexes::first_line(&e.to_string())
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

/// A regex on a value: `^` and `$` are the value's start and end (a value is not lines of
/// output).
pub(super) fn value_regex(re: &str) -> Result<regex::Regex, regex::Error> {
    crate::expect::memo::regex(re, false)
}
