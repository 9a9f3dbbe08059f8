//! Response templating from the request, `{{request.…}}`: a mock's response header values,
//! text body and the strings of its JSON body may quote what it was sent.
//!
//! | template | value |
//! |---|---|
//! | `{{request.method}}`, `{{request.path}}`, `{{request.body}}` | the method, the path as sent, the body's text |
//! | `{{request.query.NAME}}` | the first value of query parameter NAME |
//! | `{{request.headers.NAME}}` | the first value of header NAME (any case) |
//! | `{{request.json.$.PATH}}` | what the JSONPath selects in the JSON body |
//! | `{{request.match.N}}`, `{{request.match.NAME}}` | group N (or named NAME) of the route's `/regex/` path |
//!
//! In a JSON body, a string that is one template alone takes the value with its JSON type
//! (`id: "{{request.json.$.id}}"` answers the number 7 for `{"id": 7}`); inside longer text a
//! value is its text (JSON compact for a non-string). A template that finds nothing is empty
//! text, or `null` alone in JSON. Any other `{{…}}` is left as written. Templates are filled
//! once, after the gate's `${VAR}`: what a request sent is never read as a template again.

use serde_json::Value;

use super::request::Request;
use crate::expect::value::Bindings;

enum Field {
    Method,
    Path,
    Body,
    Query(String),
    Header(String),
    Json(String),
    Group(String),
}

const KNOWN: &str = "request.method, request.path, request.body, request.query.NAME, request.headers.NAME, request.json.$.PATH, request.match.N";

/// `None`: not a template of the request (left as written).
fn field(inner: &str) -> Option<Result<Field, String>> {
    let rest = inner.trim().strip_prefix("request.")?;
    let named = |prefix: &str| rest.strip_prefix(prefix).filter(|n| !n.is_empty());
    Some(match rest {
        "method" => Ok(Field::Method),
        "path" => Ok(Field::Path),
        "body" => Ok(Field::Body),
        _ => {
            if let Some(n) = named("query.") {
                Ok(Field::Query(n.to_owned()))
            } else if let Some(n) = named("headers.") {
                Ok(Field::Header(n.to_ascii_lowercase()))
            } else if let Some(p) = named("json.") {
                if p.contains("${") {
                    Ok(Field::Json(p.to_owned()))
                } else {
                    crate::config::validate::jsonpath::jsonpath(p)
                        .map(|_| Field::Json(p.to_owned()))
                        .map_err(|e| format!("`{{{{{}}}}}`: {e}", inner.trim()))
                }
            } else if let Some(g) = named("match.") {
                Ok(Field::Group(g.to_owned()))
            } else {
                Err(format!(
                    "unknown template `{{{{{}}}}}`: use {KNOWN}",
                    inner.trim()
                ))
            }
        }
    })
}

/// The pieces of a text: literal text, and templates.
fn pieces(text: &str) -> Vec<Result<(&str, Option<Field>), String>> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        let after = &rest[open + 2..];
        let Some(close) = after.find("}}") else { break };
        match field(&after[..close]) {
            Some(Ok(f)) => {
                out.push(Ok((&rest[..open], Some(f))));
                rest = &after[close + 2..];
            }
            Some(Err(e)) => {
                out.push(Err(e));
                rest = &after[close + 2..];
            }
            None => {
                out.push(Ok((&rest[..open + 2], None)));
                rest = after;
            }
        }
    }
    out.push(Ok((rest, None)));
    out
}

/// Why a text's templates are wrong, if they are (`gaterun check`).
pub fn check(text: &str) -> Result<(), String> {
    if !text.contains("{{") {
        return Ok(());
    }
    pieces(text).into_iter().try_for_each(|p| p.map(|_| ()))
}

/// What a template is filled from.
pub struct Source<'a> {
    pub request: &'a Request,
    /// The route's regex groups, by number and name.
    pub groups: &'a [(String, String)],
    pub bindings: Bindings<'a>,
}

impl Source<'_> {
    fn value(&self, f: &Field) -> Option<Value> {
        let r = self.request;
        let text = |s: Option<String>| s.map(Value::String);
        match f {
            Field::Method => text(Some(r.method.clone())),
            Field::Path => text(Some(r.path.clone())),
            Field::Body => text(Some(r.text().into_owned())),
            Field::Query(n) => text(r.query_values(n).into_iter().next()),
            Field::Header(n) => text(r.header_values(n).into_iter().next()),
            Field::Group(g) => text(
                self.groups
                    .iter()
                    .find(|(k, _)| k == g)
                    .map(|(_, v)| v.clone()),
            ),
            Field::Json(p) => {
                let json = r.json().ok()?;
                crate::steps::http::json::select(p, json, self.bindings)
                    .ok()
                    .and_then(|(v, _)| v)
            }
        }
    }

    /// A text with its templates filled in.
    pub fn text(&self, text: &str) -> String {
        if !text.contains("{{") {
            return text.to_owned();
        }
        let mut out = String::with_capacity(text.len());
        for piece in pieces(text).into_iter().flatten() {
            out.push_str(piece.0);
            if let Some(f) = piece.1 {
                match self.value(&f) {
                    Some(Value::String(s)) => out.push_str(&s),
                    Some(v) => out.push_str(&v.to_string()),
                    None => {}
                }
            }
        }
        out
    }

    /// A JSON body with its templates filled in; a string that is one template alone takes
    /// the value's type.
    pub fn json(&self, v: &Value) -> Value {
        match v {
            Value::String(s) if s.contains("{{") => {
                let parts = pieces(s);
                if let [Ok(("", Some(f))), Ok(("", None))] = parts.as_slice() {
                    return self.value(f).unwrap_or(Value::Null);
                }
                Value::String(self.text(s))
            }
            Value::Array(items) => Value::Array(items.iter().map(|i| self.json(i)).collect()),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (self.text(k), self.json(v)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> Request {
        Request::new(
            "POST".into(),
            "/users/42".into(),
            "q=a%20b&q=c".into(),
            vec![("x-id".into(), "abc".into())],
            br#"{"id": 7, "name": "ana"}"#.to_vec(),
            false,
        )
    }

    #[test]
    fn templates_are_checked_and_filled() {
        for bad in [
            "{{request.nope}}",
            "{{ request.json.x }}",
            "{{request.query.}}",
        ] {
            assert!(check(bad).is_err(), "{bad}");
        }
        for good in [
            "{{request.method}}",
            "{{other}}",
            "{{",
            "a {{ request.json.$.id }} b",
        ] {
            assert_eq!(check(good), Ok(()), "{good}");
        }
        let r = request();
        let (vars, typed) = (Default::default(), Default::default());
        let groups = vec![("1".to_owned(), "42".to_owned())];
        let s = Source {
            request: &r,
            groups: &groups,
            bindings: Bindings {
                text: &vars,
                typed: &typed,
            },
        };
        assert_eq!(
            s.text("{{request.method}} {{request.path}} {{request.query.q}} {{request.headers.X-Id}} {{request.match.1}} {{request.json.$.id}} {{x}} {{request.query.none}}."),
            "POST /users/42 a b abc 42 7 {{x}} ."
        );
        let json: Value = serde_json::json!({"id": "{{request.json.$.id}}", "who": "is {{request.json.$.name}}", "none": "{{request.json.$.zz}}"});
        assert_eq!(
            s.json(&json),
            serde_json::json!({"id": 7, "who": "is ana", "none": null})
        );
    }
}
