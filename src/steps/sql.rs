//! The `sql` step: a statement on the gate's fresh database; `rows`, `count`, `value`, or an
//! `error` the statement must fail with; captures by column name from the first row.

use serde_json::Value;

use super::outcome::Failure;
use crate::config::SqlExpect;
use crate::database::{self, SqlOutcome};
use crate::expect;
use crate::expect::value::{Bindings, Matcher, ValueCheck, render as render_value, resolve};
use crate::runner::gate::ctx::GateCtx;
use crate::vars;

/// Rows shown in the log.
const LOG_ROWS: usize = 20;
/// How long a rendering of rows may get in a one-line message.
const MESSAGE_CAP: usize = 300;

/// Cells compare as typed values, numbers exactly by value (`3` = `3.0`, never `3.0000001`);
/// booleans also equal 1 and 0, since SQLite stores them so.
pub fn cell_eq(want: &Value, got: &Value) -> bool {
    match (want, got) {
        (Value::Bool(b), Value::Number(n)) | (Value::Number(n), Value::Bool(b)) => {
            number_as_bool(n) == Some(*b)
        }
        (a, b) => crate::expect::value::values_equal(a, b),
    }
}

/// 1 and 0 (also `1.0`, `0.0`) as the booleans SQLite stores them as.
fn number_as_bool(n: &serde_json::Number) -> Option<bool> {
    use crate::expect::number::compare;
    let is = |v: u64| compare(n, &v.into()) == Some(std::cmp::Ordering::Equal);
    if is(1) {
        Some(true)
    } else if is(0) {
        Some(false)
    } else {
        None
    }
}

/// Where a check compares with `true` or `false`, a cell of 1 or 0 is that boolean, so the
/// plain, `!` and `equals` forms agree.
fn as_expected_bool(check: &ValueCheck, got: &Value, b: Bindings) -> Value {
    let is_bool = |v: &Value| matches!(resolve(v, b), Ok(Value::Bool(_)));
    let expects_bool = match check {
        ValueCheck::Equals(v) => is_bool(v),
        // `!false` is "not false": written as text, it stands for the boolean too.
        ValueCheck::NotEquals(v) => {
            is_bool(v)
                || matches!(resolve(v, b), Ok(Value::String(s)) if s == "true" || s == "false")
        }
        ValueCheck::All(matchers) => matchers
            .iter()
            .any(|m| matches!(m, Matcher::Equals(v) if is_bool(v))),
        ValueCheck::Regex { .. } => false,
    };
    match got {
        Value::Number(n) if expects_bool => number_as_bool(n).map_or(got.clone(), Value::Bool),
        _ => got.clone(),
    }
}

fn rows_eq(want: &[Vec<Value>], got: &[Vec<Value>]) -> bool {
    want.len() == got.len()
        && want
            .iter()
            .zip(got)
            .all(|(w, g)| w.len() == g.len() && w.iter().zip(g).all(|(a, b)| cell_eq(a, b)))
}

fn render(rows: &[Vec<Value>]) -> String {
    let text = serde_json::to_string(rows).unwrap_or_default();
    if text.chars().count() > MESSAGE_CAP {
        format!(
            "{}… ({} rows)",
            text.chars().take(MESSAGE_CAP).collect::<String>(),
            rows.len()
        )
    } else {
        text
    }
}

pub async fn attempt(
    ctx: &mut GateCtx,
    statement: &str,
    expect: &SqlExpect,
    on: Option<&str>,
    captures: &[(String, String)],
) -> Result<(), Failure> {
    let statement =
        vars::interpolate(statement, &ctx.vars).map_err(|e| Failure::Error(e.to_string()))?;
    let wants_rows = expect.rows.is_some()
        || expect.count.is_some()
        || expect.value.is_some()
        || !captures.is_empty();
    match on {
        Some(name) => ctx.log_line(&format!("> ({name}) {}", statement.trim())),
        None => ctx.log_line(&format!("> {}", statement.trim())),
    }
    let db = ctx.db_mut(on).ok_or_else(|| {
        Failure::Error(match on {
            Some(name) => format!("the gate has no database `{name}`"),
            None => "the gate has no database".to_owned(),
        })
    })?;
    let outcome = database::execute(db, &statement, wants_rows)
        .await
        .map_err(Failure::Error)?;
    let (columns, rows) = match (outcome, &expect.error) {
        (SqlOutcome::Failed(message), Some(patterns)) => {
            ctx.log_line(&format!("< error (as expected): {message}"));
            return Ok(expect::check_all("error", patterns, &message, &ctx.vars)?);
        }
        (SqlOutcome::Failed(message), None) => {
            ctx.log_line(&format!("< error: {message}"));
            return Err(Failure::Check(format!("the statement failed: {message}")));
        }
        (SqlOutcome::Rows { .. }, Some(_)) => {
            ctx.log_line("< ok");
            return Err(Failure::Check(
                "expected the statement to fail, but it succeeded".to_owned(),
            ));
        }
        (SqlOutcome::Rows { columns, rows }, None) => (columns, rows),
    };
    if !columns.is_empty() {
        let mut log = format!(
            "< {} row{} ({})",
            rows.len(),
            if rows.len() == 1 { "" } else { "s" },
            columns.join(", ")
        );
        for r in rows.iter().take(LOG_ROWS) {
            log.push_str(&format!(
                "\n< {}",
                serde_json::to_string(r).unwrap_or_default()
            ));
        }
        if rows.len() > LOG_ROWS {
            log.push_str(&format!("\n< … {} more", rows.len() - LOG_ROWS));
        }
        ctx.log_line(&log);
    } else {
        ctx.log_line("< ok");
    }
    let bindings = ctx.bindings();
    let resolve = |v: &Value| resolve(v, bindings).map_err(Failure::from);
    let want_rows = match &expect.rows {
        Some(r) => Some(
            r.iter()
                .map(|row| row.iter().map(resolve).collect::<Result<Vec<_>, _>>())
                .collect::<Result<Vec<_>, _>>()?,
        ),
        None => None,
    };
    if let Some(want) = &want_rows
        && !rows_eq(want, &rows)
    {
        return Err(Failure::Check(format!(
            "expected rows {}, got {}",
            render(want),
            render(&rows)
        )));
    }
    if let Some(n) = expect.count
        && rows.len() as u64 != n
    {
        return Err(Failure::Check(format!(
            "expected {n} row{}, got {}",
            if n == 1 { "" } else { "s" },
            rows.len()
        )));
    }
    if let Some(check) = &expect.value {
        let Some(got) = rows.first().and_then(|r| r.first()) else {
            return Err(Failure::Check("expected a value, got no rows".to_owned()));
        };
        match check {
            ValueCheck::Equals(want) => {
                let want = resolve(want)?;
                if !cell_eq(&want, got) {
                    return Err(Failure::Check(format!(
                        "expected value {}, got {}",
                        render_value(&want),
                        render_value(got)
                    )));
                }
            }
            other => {
                let got = as_expected_bool(other, got, bindings);
                other.check("value", Some(&got), false, bindings)?
            }
        }
    }
    for (name, column) in captures {
        let Some(i) = columns.iter().position(|c| c == column.trim()) else {
            return Err(Failure::Check(format!(
                "capture `{name}`: no column {column} (columns: {})",
                columns.join(", ")
            )));
        };
        let Some(row) = rows.first() else {
            return Err(Failure::Check(format!(
                "capture `{name}`: the statement returned no rows"
            )));
        };
        let cell = row[i].clone();
        ctx.capture(name, cell);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cells_compare_as_json_values() {
        assert!(cell_eq(&json!(3), &json!(3.0)));
        assert!(cell_eq(&json!(true), &json!(1)));
        assert!(cell_eq(&json!(null), &json!(null)));
        assert!(!cell_eq(&json!("3"), &json!(3)));
        assert!(!cell_eq(&json!(false), &json!(1)));
        assert!(cell_eq(&json!(true), &json!(1.0)));
        assert!(!cell_eq(&json!(true), &json!(2)));
        let vars = crate::vars::Vars::new();
        let typed = crate::expect::value::Typed::new();
        let b = Bindings {
            text: &vars,
            typed: &typed,
        };
        // `!false` on 0 is false: it fails, as `false` on 0 passes.
        let not_false = ValueCheck::parse(&json!("!false")).unwrap();
        let zero = as_expected_bool(&not_false, &json!(0), b);
        assert!(not_false.check("value", Some(&zero), false, b).is_err());
        let equals_true = ValueCheck::parse(&json!({"equals": true})).unwrap();
        let one = as_expected_bool(&equals_true, &json!(1), b);
        assert_eq!(equals_true.check("value", Some(&one), false, b), Ok(()));
        assert!(rows_eq(
            &[vec![json!(1), json!("a")]],
            &[vec![json!(1), json!("a")]]
        ));
        assert!(!rows_eq(
            &[vec![json!(1)]],
            &[vec![json!(1)], vec![json!(2)]]
        ));
    }
}
