//! JSONPath selectors (`expect.json`, `http` captures), checked here and compiled again by the
//! `http` step: a leaf, so the step executor can name it without the validator.
//!
//! Two things are written before RFC 9535 reads a path. A member name with a `-` in the
//! shorthand form (`$.profile-id`, which RFC 9535 forbids) becomes the bracket form
//! (`$["profile-id"]`). A variable is filled in as a value, never as path syntax: in a name
//! (`$.${KEY}`, `$.user_${N}`) the name is bracketed and quoted; inside a quoted string it is
//! escaped for that string; in a filter outside quotes (`[?@.id == ${ID}]`) it is a literal,
//! a captured number, boolean or null as itself, any other value a quoted string; in a bracket
//! outside a filter (`[${I}]`) an integer is an index, anything else a quoted name. So no
//! value can add a selector, close a bracket or end a filter.

use serde_json::Value;

use crate::vars;

pub fn jsonpath(path: &str) -> Result<serde_json_path::JsonPath, String> {
    let probe = expand(path, |_| Some(Value::from(0)))?;
    serde_json_path::JsonPath::parse(&probe).map_err(|e| format!("invalid JSONPath `{path}`: {e}"))
}

/// Whether a JSONPath can select more than one node, its variables standing for any value.
pub fn can_select_many(path: &str) -> bool {
    let probe = expand(path, |_| Some(Value::from(0))).unwrap_or_else(|_| path.to_owned());
    expanded_can_select_many(&probe)
}

/// [`can_select_many`] of a path already expanded. RFC 9535 allows only singular queries in
/// a filter comparison, so the parser itself answers.
pub fn expanded_can_select_many(expanded: &str) -> bool {
    serde_json_path::JsonPath::parse(&format!("$[?{expanded} == 1]")).is_err()
}

/// The path as RFC 9535 reads it: dashed shorthand names bracketed, each `${NAME}` replaced
/// by the value `lookup` gives (undefined: an error), written as the module doc says.
pub fn expand(path: &str, lookup: impl Fn(&str) -> Option<Value>) -> Result<String, String> {
    let chars: Vec<char> = path.chars().collect();
    let mut out = String::with_capacity(path.len());
    let mut quote: Option<char> = None;
    // One entry per open `[`: whether it opened a filter.
    let mut brackets: Vec<bool> = Vec::new();
    let mut i = 0;
    let value = |name: &str| {
        lookup(name).ok_or_else(|| vars::VarError::Undefined(name.to_owned(), None).to_string())
    };
    while i < chars.len() {
        let c = chars[i];
        if let Some((name, next)) = variable(&chars, i)? {
            let v = value(&name)?;
            match quote {
                Some(q) => out.push_str(&escape_in(&text_of(&v), q)),
                None if brackets.iter().any(|f| *f) => out.push_str(&literal(&v)),
                None if !brackets.is_empty() && is_index(&text_of(&v)) => {
                    out.push_str(&text_of(&v))
                }
                None => {
                    let quoted = Value::String(text_of(&v)).to_string();
                    if brackets.is_empty() {
                        out.push_str(&format!("[{quoted}]"));
                    } else {
                        out.push_str(&quoted);
                    }
                }
            }
            i = next;
            continue;
        }
        if chars[i..].starts_with(&['$', '$', '{']) {
            out.push_str("${");
            i += 3;
            continue;
        }
        match (quote, c) {
            (Some(_), '\\') => {
                out.push('\\');
                if let Some(n) = chars.get(i + 1) {
                    out.push(*n);
                }
                i += 2;
                continue;
            }
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '[') => {
                let rest = chars[i + 1..].iter().find(|c| !c.is_whitespace());
                brackets.push(rest == Some(&'?'));
            }
            (None, ']') => {
                brackets.pop();
            }
            (None, '.') if !in_number(&out) => {
                let dots = if chars.get(i + 1) == Some(&'.') { 2 } else { 1 };
                let (name, dashed, next) = shorthand(&chars, i + dots, &value)?;
                if next > i + dots && dashed {
                    if dots == 2 {
                        out.push_str("..");
                    }
                    out.push_str(&format!("[{}]", Value::String(name)));
                    i = next;
                    continue;
                }
            }
            _ => {}
        }
        out.push(c);
        i += 1;
    }
    Ok(out)
}

/// `${NAME}` at `i`: the name and the index after it. `$${` is no variable.
fn variable(chars: &[char], i: usize) -> Result<Option<(String, usize)>, String> {
    if !chars[i..].starts_with(&['$', '{']) {
        return Ok(None);
    }
    let Some(len) = chars[i + 2..].iter().position(|c| *c == '}') else {
        return Err(vars::VarError::Unclosed(chars.iter().collect()).to_string());
    };
    let name: String = chars[i + 2..i + 2 + len].iter().collect();
    if !vars::is_name(&name) {
        return Err(vars::VarError::BadName(name).to_string());
    }
    Ok(Some((name, i + 3 + len)))
}

/// A shorthand member name from `start`, its variables filled in: the name, whether it needs
/// the bracket form (a `-` or a variable in it), and the index after it.
fn shorthand(
    chars: &[char],
    start: usize,
    value: &impl Fn(&str) -> Result<Value, String>,
) -> Result<(String, bool, usize), String> {
    let mut name = String::new();
    let mut bracket = false;
    let mut i = start;
    while i < chars.len() {
        let c = chars[i];
        if let Some((var, next)) = variable(chars, i)? {
            name.push_str(&text_of(&value(&var)?));
            bracket = true;
            i = next;
        } else if c.is_alphanumeric() || c == '_' || c == '-' || !c.is_ascii() {
            bracket |= c == '-';
            name.push(c);
            i += 1;
        } else {
            break;
        }
    }
    Ok((name, bracket, i))
}

/// Whether `out` ends in a number literal (`1` of `1.5`), not in a name (`a1` of `$.a1.b`).
fn in_number(out: &str) -> bool {
    let head = out.trim_end_matches(|c: char| c.is_ascii_digit());
    head.len() < out.len()
        && !head.ends_with(|c: char| {
            c.is_alphanumeric() || c == '_' || c == '-' || c == '.' || !c.is_ascii()
        })
}

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A value as a filter literal: a number, boolean or null as itself, anything else quoted.
fn literal(v: &Value) -> String {
    match v {
        Value::Number(_) | Value::Bool(_) | Value::Null => v.to_string(),
        other => Value::String(text_of(other)).to_string(),
    }
}

fn is_index(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    !digits.is_empty() && digits.len() <= 15 && digits.bytes().all(|b| b.is_ascii_digit())
}

/// Text inside a string quoted with `q`, escaped as RFC 9535 reads it.
fn escape_in(text: &str, q: char) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            c if c == q => {
                out.push('\\');
                out.push(c);
            }
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod jsonpath_tests {
    use serde_json::Value;

    #[test]
    fn paths_that_can_select_several_nodes() {
        for (path, many) in [
            ("$.a", false),
            ("$.a.b[0]", false),
            ("$['a']['b-c']", false),
            ("$.a-b.c-d", false),
            ("$.items[-1]", false),
            ("$.${FIELD}", false),
            ("$.items[${I}]", false),
            ("$.items[*]", true),
            ("$.items[*].id", true),
            ("$..id", true),
            ("$..a-b", true),
            ("$.items[0:1]", true),
            ("$.items[0,1]", true),
            ("$.items[?@.id > 1]", true),
            ("$.items[?@.id == ${ID}]", true),
            ("$.*", true),
        ] {
            assert_eq!(super::can_select_many(path), many, "{path}");
            assert!(super::jsonpath(path).is_ok(), "{path}");
        }
    }

    #[test]
    fn dashed_names_and_variables_keep_the_path_s_shape() {
        let vars = |name: &str| -> Option<Value> {
            Some(match name {
                "ID" => Value::from(7),
                "NAME" => Value::from("a'] || @.x == 1 || @['"),
                "KEY" => Value::from("first-name"),
                "EVIL" => Value::from("x\"] , $..*, $[\""),
                "I" => Value::from("2"),
                _ => return None,
            })
        };
        for (path, want) in [
            ("$.profile-id", r#"$["profile-id"]"#),
            ("$..profile-id", r#"$..["profile-id"]"#),
            ("$.user.first-name", r#"$.user["first-name"]"#),
            ("$['profile-id']", "$['profile-id']"),
            ("$.${KEY}", r#"$["first-name"]"#),
            ("$.user_${I}", r#"$["user_2"]"#),
            ("$.items[?@.id == ${ID}]", "$.items[?@.id == 7]"),
            ("$.items[?@.price > 1.5e-3]", "$.items[?@.price > 1.5e-3]"),
            ("$.a1.b-c", r#"$.a1["b-c"]"#),
            ("$.items[?@.n > -2.5]", "$.items[?@.n > -2.5]"),
            (
                "$.items[?@.name == '${NAME}']",
                r"$.items[?@.name == 'a\'] || @.x == 1 || @[\'']",
            ),
            (
                "$.items[?@.name == ${NAME}]",
                r#"$.items[?@.name == "a'] || @.x == 1 || @['"]"#,
            ),
            ("$[${EVIL}]", r#"$["x\"] , $..*, $[\""]"#),
            ("$.items[${I}]", "$.items[2]"),
            ("$['$${x}']", "$['${x}']"),
        ] {
            let got = super::expand(path, vars).expect(path);
            assert_eq!(got, want, "{path}");
            assert!(
                serde_json_path::JsonPath::parse(&got).is_ok(),
                "{path} -> {got}"
            );
        }
        assert!(super::expand("$.${NOPE}", vars).is_err());
        assert!(super::expand("$.${OPEN", vars).is_err());
    }
}
