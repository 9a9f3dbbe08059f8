//! The one place YAML is parsed, so the backend can change without touching the rest.

use serde::de::DeserializeOwned;

/// A parse or shape error with its location and, for an unknown key, what was expected.
#[derive(Debug, Clone)]
pub struct YamlError {
    pub line: u64,
    pub column: u64,
    pub message: String,
    pub unknown_key: Option<(String, Vec<&'static str>)>,
}

pub fn parse<T: DeserializeOwned>(text: &str) -> Result<T, YamlError> {
    let blank = text.lines().all(|l| {
        let l = l.trim();
        l.is_empty() || l.starts_with('#') || l == "---" || l == "..."
    });
    if blank {
        return Err(YamlError {
            line: 1,
            column: 1,
            message: "the file is empty: a stage file needs at least `stage`, `name` and `gates`"
                .to_owned(),
            unknown_key: None,
        });
    }
    let mut options = serde_saphyr::Options::default();
    options.with_snippet = false; // we draw our own snippet, with suggestions
    // YAML 1.2 core schema: only true/false are booleans. Under YAML 1.1 `Y`, `on`, `no`…
    // were too, so `env: { FLAG: yes }` gave "true"; now it gives "yes", and a boolean key
    // (`follow_redirects: yes`) is an error asking for true or false.
    options.strict_booleans = true;
    serde_saphyr::from_str_with_options(text, options).map_err(|e| convert(&e, text))
}

fn convert(err: &serde_saphyr::Error, text: &str) -> YamlError {
    use serde_saphyr::{DefaultMessageFormatter, Error, MessageFormatter};
    let (line, column) = err
        .location()
        .map(|l| (l.line(), l.column()))
        .unwrap_or((0, 0));
    let (message, unknown_key) = match err {
        Error::SerdeUnknownField {
            field, expected, ..
        } => (
            super::yaml_hints::unknown_key(field, expected),
            Some((field.clone(), expected.clone())),
        ),
        Error::DuplicateMappingKey { key: Some(key), .. } => {
            (format!("duplicate key '{key}'"), None)
        }
        Error::SerdeMissingField { field, .. } => (format!("missing required key '{field}'"), None),
        Error::MultipleDocuments { .. } => (
            "a stage file holds one YAML document, and this one starts a second (`---`)".to_owned(),
            None,
        ),
        Error::Budget { breach, .. } => (budget_message(breach), None),
        Error::InvalidBooleanStrict { .. } => (
            "expected `true` or `false` (YAML 1.2: `yes`, `no`, `on`, `off`, `y`, `n` are text, not booleans)"
                .to_owned(),
            None,
        ),
        Error::NullIntoString { .. } => (
            "expected a value here, found none (empty or `~`)".to_owned(),
            None,
        ),
        other => {
            let text = DefaultMessageFormatter.format_message(other).into_owned();
            // Keep it to one printable line whatever the input held.
            let clean: String = text
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect();
            // Some budget breaches (alias expansion) arrive wrapped, as text.
            let clean = if clean.contains("budget breached") {
                if clean.contains("Depth") {
                    TOO_DEEP.to_owned()
                } else if clean.contains("Events") {
                    TOO_LARGE.to_owned()
                } else {
                    ALIAS_BOMB.to_owned()
                }
            } else if clean.contains("recursion limit exceeded") {
                TOO_DEEP.to_owned()
            } else if clean == "expected string scalar" {
                "expected text or a number here, not a list or a mapping".to_owned()
            } else if clean.contains("expected mapping start") {
                "expected a mapping (`key: value` lines) here".to_owned()
            } else if clean.contains("expected sequence start") {
                "expected a list (`- item` lines) here".to_owned()
            } else {
                clean
            };
            (clean, None)
        }
    };
    let (message, line, column) = super::yaml_hints::plain(message, text, line, column);
    YamlError {
        line,
        column,
        message,
        unknown_key,
    }
}

const TOO_DEEP: &str = "nested too deeply: refusing to read further";
const TOO_LARGE: &str = "the file is too large for a stage file: refusing to read further; split it into several \
     stage files";
const ALIAS_BOMB: &str = "the file grows too large once its anchors and aliases are expanded \
     (an alias bomb?): refusing to read further";

fn budget_message(breach: &serde_saphyr::budget::BudgetBreach) -> String {
    use serde_saphyr::budget::BudgetBreach as B;
    match breach {
        B::Depth { depth } => format!(
            "nested more than {} levels deep: refusing to read further",
            depth - 1
        ),
        B::Events { .. } => TOO_LARGE.to_owned(),
        B::Nodes { .. } | B::Aliases { .. } | B::Anchors { .. } => ALIAS_BOMB.to_owned(),
        other => format!("the file is too large or too complex to read: {other:?}"),
    }
}

/// The parsed document as JSON with keys sorted: the input of the definition hash.
pub fn canonical_json(text: &str) -> Result<String, YamlError> {
    let value: serde_json::Value = parse(text)?;
    Ok(canonical_value(&value))
}

/// A value as JSON with keys sorted.
pub fn canonical_value(value: &serde_json::Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(v: &serde_json::Value, out: &mut String) {
    match v {
        serde_json::Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::Value::String((*k).clone()).to_string());
                out.push(':');
                write_canonical(&map[k.as_str()], out);
            }
            out.push('}');
        }
        serde_json::Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}
