//! One expectation on a repeated, named value against every value present: a response's
//! header (`http`), and, issue 20, a request's header or query parameter (a mock's route, a
//! `received` step). One judge, so a mock matches a request exactly as an expectation would
//! judge it.

use crate::config::HeaderCheck;
use crate::expect;
use crate::expect::value::Bindings;
use crate::steps::outcome::Failure;

/// `noun` names what is judged in a message (`header`, `query parameter`).
pub fn check(
    noun: &str,
    name: &str,
    check: &HeaderCheck,
    values: &[String],
    b: Bindings,
) -> Result<(), Failure> {
    // A value shown is redacted as the log redacts it: a failure message reaches the
    // terminal and every report.
    let preview = |v: &String| expect::preview(&crate::steps::http::redact::redact_header(name, v));
    let shown = || match values {
        [] => "none".to_owned(),
        [one] => preview(one),
        many => format!(
            "{} values: {}",
            many.len(),
            many.iter().map(preview).collect::<Vec<_>>().join(", ")
        ),
    };
    match check {
        HeaderCheck::Pattern(p) => {
            let m = p.resolve(b.text).map_err(Failure::Error)?;
            // A positive pattern needs one value that matches; a negated one, that no value
            // fails it (every value lacks what it forbids).
            let holds = if m.negated() {
                values.iter().all(|v| m.matches(v))
            } else {
                values.iter().any(|v| m.matches(v))
            };
            if holds {
                return Ok(());
            }
            let scope = if m.negated() { "every value of " } else { "" };
            Err(Failure::Check(format!(
                "expected {scope}{noun} {name} {}, got {}",
                m.describe(),
                shown()
            )))
        }
        HeaderCheck::Exists(want) => match (values.is_empty(), want) {
            (false, true) | (true, false) => Ok(()),
            (true, true) => Err(Failure::Check(format!("expected {noun} {name}, got none"))),
            (false, false) => Err(Failure::Check(format!(
                "expected no {noun} {name}, got {}",
                shown()
            ))),
        },
        HeaderCheck::Count(c) => Ok(c.check(
            &format!("the count of {noun} {name}"),
            Some(&serde_json::Value::from(values.len())),
            false,
            b,
        )?),
    }
}
