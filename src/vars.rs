//! `${NAME}` interpolation. An undefined name is an error, never an empty string; `$${` writes
//! a literal `${`. Shell strings are not interpolated here: the shell expands them itself.

use std::collections::HashMap;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VarError {
    /// The name, and the defined name nearest it, if one is near enough to be the one meant.
    #[error("undefined variable `${{{0}}}`{near}", near = near(.1.as_deref()))]
    Undefined(String, Option<String>),
    #[error("unclosed `${{` in `{0}`")]
    Unclosed(String),
    #[error("invalid variable name `${{{0}}}`")]
    BadName(String),
}

fn near(name: Option<&str>) -> String {
    name.map(|n| format!(", did you mean `${{{n}}}`?"))
        .unwrap_or_default()
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
                None => return Err(VarError::Undefined(name.to_owned(), None)),
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

/// Replace every `${NAME}` in `template` by its value in `vars`; an undefined name says which
/// defined one it may have meant.
pub fn interpolate(template: &str, vars: &Vars) -> Result<String, VarError> {
    interpolate_with(template, |name| vars.get(name).map(String::as_str)).map_err(|e| match e {
        VarError::Undefined(name, None) => {
            let mut known: Vec<&str> = vars.keys().map(String::as_str).collect();
            known.sort_unstable();
            let near = crate::near::suggest_name(&name, &known).map(str::to_owned);
            VarError::Undefined(name, near)
        }
        e => e,
    })
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
    fn an_undefined_name_says_which_it_may_mean() {
        let e = interpolate("${B2}", &vars()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "undefined variable `${B2}`, did you mean `${B_2}`?"
        );
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
            ("${NOPE}", Err(VarError::Undefined("NOPE".into(), None))),
            (
                "${B2}",
                Err(VarError::Undefined("B2".into(), Some("B_2".into()))),
            ),
            (
                "${b_2}",
                Err(VarError::Undefined("b_2".into(), Some("B_2".into()))),
            ),
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
