//! The body as JSON, and what a JSONPath selects in it.

use crate::expect::value::Bindings;
use crate::steps::outcome::Failure;

/// A step that cannot be evaluated as written (a variable undefined, a method invalid).
pub(super) fn invalid(e: impl std::fmt::Display) -> Failure {
    Failure::Error(e.to_string())
}

/// What a JSONPath selects, and whether the path (with its variables filled in) can select
/// several nodes: then always their array, even of one; else the node, or `None`.
pub(crate) fn select(
    path: &str,
    body: &serde_json::Value,
    b: Bindings,
) -> Result<(Option<serde_json::Value>, bool), Failure> {
    use crate::config::validate::jsonpath;
    // Each variable is filled in as a value (jsonpath::expand): it cannot change the path's
    // shape.
    let expanded = jsonpath::expand(path, |name| {
        b.typed
            .get(name)
            .cloned()
            .or_else(|| b.text.get(name).cloned().map(serde_json::Value::String))
    })
    .map_err(Failure::Error)?;
    let compiled = serde_json_path::JsonPath::parse(&expanded).map_err(|e| {
        Failure::Error(format!(
            "invalid JSONPath `{path}` once its variables are filled in: {e}"
        ))
    })?;
    let many = jsonpath::expanded_can_select_many(&expanded);
    let nodes = compiled.query(body).all();
    let all = || serde_json::Value::Array(nodes.iter().map(|n| (*n).clone()).collect());
    Ok(match nodes.as_slice() {
        _ if many => (Some(all()), true),
        [] => (None, false),
        [one] => (Some((*one).clone()), false),
        _ => (Some(all()), true),
    })
}

/// The body as JSON, numbers kept exactly. The bytes must be UTF-8 (no replacement character
/// stands in for what the server sent), and the key serde_json reserves for an exact number
/// (`$serde_json::private::Number`) is refused, so an object can never pose as a number.
pub(crate) fn parse_json(body: &[u8]) -> Result<serde_json::Value, String> {
    const RESERVED: &str = "serde_json::private::Number";
    let text = std::str::from_utf8(body).map_err(|e| e.to_string())?;
    if text.contains(RESERVED) || (text.contains("\\u") && json_strings_hold(text, RESERVED)) {
        return Err(format!("the body holds the reserved key `${RESERVED}`"));
    }
    serde_json::from_str(text).map_err(|e| e.to_string())
}

/// Whether any JSON string in `text`, its escapes decoded, contains `needle`.
fn json_strings_hold(text: &str, needle: &str) -> bool {
    // Find every string token and decode it: cheap, and independent of how a value is read.
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'"' {
            let start = i;
            i += 1;
            while i < bytes.len() && bytes[i] != b'"' {
                if bytes[i] == b'\\' {
                    i += 1;
                }
                i += 1;
            }
            if let Some(token) = text.get(start..=i.min(text.len() - 1))
                && let Ok(s) = serde_json::from_str::<String>(token)
                && s.contains(needle)
            {
                return true;
            }
        }
        i += 1;
    }
    false
}
