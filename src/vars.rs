//! `${NAME}` interpolation. An undefined name is an error, never an empty string; `$${` writes
//! a literal `${`. Shell strings are not interpolated here: the shell expands them itself.

use std::collections::HashMap;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VarError {
    #[error("undefined variable `${{{0}}}`")]
    Undefined(String),
    #[error("unclosed `${{` in `{0}`")]
    Unclosed(String),
    #[error("invalid variable name `${{{0}}}`")]
    BadName(String),
}

/// The gate's variables: its whole environment.
pub type Vars = HashMap<String, String>;

/// Replace every `${NAME}` in `template` using `lookup`.
pub fn interpolate_with<'a>(
    template: &str,
    lookup: impl Fn(&str) -> Option<&'a str>,
) -> Result<String, VarError> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos..];
        if let Some(after_escape) = after.strip_prefix("$${") {
            out.push_str("${");
            rest = after_escape;
        } else if let Some(body) = after.strip_prefix("${") {
            let Some(end) = body.find('}') else {
                return Err(VarError::Unclosed(template.to_owned()));
            };
            let name = &body[..end];
            if !is_name(name) {
                return Err(VarError::BadName(name.to_owned()));
            }
            match lookup(name) {
                Some(value) => out.push_str(value),
                None => return Err(VarError::Undefined(name.to_owned())),
            }
            rest = &body[end + 1..];
        } else {
            out.push('$');
            rest = &after[1..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

pub fn interpolate(template: &str, vars: &Vars) -> Result<String, VarError> {
    interpolate_with(template, |name| vars.get(name).map(String::as_str))
}

/// Interpolate `${VAR}` in every string of a JSON value.
pub fn interpolate_json(v: &serde_json::Value, vars: &Vars) -> Result<serde_json::Value, VarError> {
    Ok(match v {
        serde_json::Value::String(s) => serde_json::Value::String(interpolate(s, vars)?),
        serde_json::Value::Array(items) => serde_json::Value::Array(
            items
                .iter()
                .map(|i| interpolate_json(i, vars))
                .collect::<Result<_, _>>()?,
        ),
        serde_json::Value::Object(map) => serde_json::Value::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), interpolate_json(v, vars)?)))
                .collect::<Result<_, _>>()?,
        ),
        other => other.clone(),
    })
}

/// Check the syntax of a template without values: every `${...}` closed and well named.
/// Returns the template with each variable replaced by `placeholder`.
pub fn check_syntax(template: &str, placeholder: &str) -> Result<String, VarError> {
    interpolate_with(template, |_| Some(placeholder))
}

pub fn is_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> Vars {
        [
            ("A".to_owned(), "1".to_owned()),
            ("B_2".to_owned(), "two".to_owned()),
        ]
        .into()
    }

    #[test]
    fn table() {
        let cases: &[(&str, Result<&str, VarError>)] = &[
            ("plain", Ok("plain")),
            ("${A}-${B_2}", Ok("1-two")),
            ("$A stays", Ok("$A stays")),
            ("cost $5", Ok("cost $5")),
            ("$${A}", Ok("${A}")),
            ("$$${A}", Ok("$${A}")),
            ("${NOPE}", Err(VarError::Undefined("NOPE".into()))),
            ("${A", Err(VarError::Unclosed("${A".into()))),
            ("${1X}", Err(VarError::BadName("1X".into()))),
        ];
        for (input, want) in cases {
            let got = interpolate(input, &vars());
            assert_eq!(
                got.as_deref().map_err(Clone::clone),
                want.clone(),
                "input {input:?}"
            );
        }
    }
}
