//! A `sql` step: its statement, and the rows, count, single value or error it expects.

use super::ctx::{FileCtx, check_template};
use super::kind::Input;
use super::patterns::patterns;
use crate::config::model::{SqlExpect, StepKind};
use crate::config::raw::{RawCount, Sp};
use crate::expect::value::ValueCheck;

pub fn build(ctx: &mut FileCtx, input: Input) -> Option<StepKind> {
    let Input {
        raw,
        expect,
        expect_at,
        ..
    } = input;
    let statement = raw.sql?;
    check_template(ctx, statement.referenced, &statement.value)?;
    if statement.value.trim().is_empty() {
        ctx.error(statement.referenced, "`sql` is empty");
    }
    let error = expect.error.map(|e| patterns(ctx, Some(e)));
    if error.is_some()
        && (expect.rows.is_some() || expect.count.is_some() || expect.value.is_some())
    {
        ctx.error(expect_at, "`expect.error` says the statement fails: it cannot also expect `rows`, `count` or `value`");
    }
    let value = expect
        .value
        .and_then(|v| match ValueCheck::parse(&v.to_json(ctx.text)) {
            Ok(check) => Some(check),
            Err(e) => {
                ctx.error(expect_at, format!("expect.value: {e}"));
                None
            }
        });
    let rows = expect.rows.map(|rows| {
        rows.iter()
            .map(|row| row.iter().map(|c| c.to_json(ctx.text)).collect::<Vec<_>>())
            .collect::<Vec<_>>()
    });
    for cell in rows.iter().flatten().flatten() {
        if let Err(e) = ValueCheck::parse(cell) {
            ctx.error(expect_at, format!("expect.rows: {e}"));
        }
    }
    let count = match expect.count {
        Some(Sp {
            value: RawCount::Rows(n),
            ..
        }) => Some(n),
        Some(Sp { referenced, .. }) => {
            ctx.error(referenced, "`count` of a `sql` step is a number of rows");
            None
        }
        None => None,
    };
    let sql_expect = SqlExpect {
        rows,
        count,
        value,
        error,
    };
    Some(StepKind::Sql {
        statement: statement.value,
        expect: sql_expect,
        // Chosen by the step's `db:` (validate/scope.rs).
        db: None,
    })
}

/// A `sql` capture: a column of the first row.
pub fn capture(sel: &str) -> Result<(), String> {
    if sel.trim().is_empty() {
        Err("a `sql` step captures nothing".to_owned())
    } else {
        Ok(())
    }
}
