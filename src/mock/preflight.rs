//! Before a mock serves: every `${VAR}` its routes' matchers name must be defined. A matcher
//! is judged per request, where an undefined variable could only make the route never match
//! (a silent 404); found at start, it is the gate's error instead, as for any step.

use serde_json::Value;

use crate::config::{HeaderCheck, RequestMatch};
use crate::expect::value::{Matcher, ValueCheck};
use crate::vars::{self, Vars};

pub fn defined(m: &RequestMatch, vars: &Vars) -> Result<(), String> {
    let mut texts: Vec<&str> = Vec::new();
    for (_, checks) in m.headers.iter().chain(&m.query) {
        for c in checks {
            match c {
                HeaderCheck::Pattern(p) => texts.push(&p.source),
                HeaderCheck::Count(v) => check_texts(v, &mut texts),
                HeaderCheck::Exists(_) => {}
            }
        }
    }
    texts.extend(m.body.iter().map(|p| p.source.as_str()));
    for (path, want) in &m.json {
        texts.push(path);
        check_texts(&want.check, &mut texts);
    }
    for t in texts {
        vars::interpolate(t, vars).map_err(|e| e.to_string())?;
    }
    Ok(())
}

fn check_texts<'a>(c: &'a ValueCheck, out: &mut Vec<&'a str>) {
    match c {
        ValueCheck::Equals(v) | ValueCheck::NotEquals(v) => value_texts(v, out),
        ValueCheck::Regex { source, .. } => out.push(source),
        ValueCheck::All(ms) => {
            for m in ms {
                match m {
                    Matcher::Equals(v) | Matcher::Contains(v) | Matcher::Compare(_, _, v) => {
                        value_texts(v, out)
                    }
                    Matcher::Matches(s) => out.push(s),
                    Matcher::Count(inner) => check_texts(inner, out),
                    Matcher::Exists(_) | Matcher::Type(_) => {}
                }
            }
        }
    }
}

fn value_texts<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::String(s) => out.push(s),
        Value::Array(items) => items.iter().for_each(|i| value_texts(i, out)),
        Value::Object(map) => map.values().for_each(|i| value_texts(i, out)),
        _ => {}
    }
}
