//! `matrix:` on a gate: one gate per combination of its values, first key varying slowest,
//! with the id `ID[K=v,K2=w]`. The values become variables of the gate and name its log file
//! (`logs/ID[K=v].log`), so they are held to a charset that is safe in a file name, an id
//! and a command line; the keys may not take a name gaterun or the gate's `env` sets.

use std::sync::LazyLock;

use regex::Regex;
use serde_saphyr::Location;

use super::ctx::FileCtx;
use crate::config::raw::{OrderedMap, Scalar, Sp};
use crate::vars;

/// The most combinations one matrix may give: each is a gate that runs.
pub const MAX_COMBINATIONS: usize = 256;

/// The names gaterun sets for every gate (see runner/gate/setup.rs): a matrix key or a step's
/// `env` may not take them.
/// What a fresh database sets (SQLite, PostgreSQL, MySQL); neither a matrix key nor a
/// template param may be one of them.
pub const DATABASE_VARS: &[&str] = &[
    "DATABASE_URL",
    "DATABASE_PATH",
    "PGHOST",
    "PGPORT",
    "PGUSER",
    "PGPASSWORD",
    "PGDATABASE",
    "PGSSLMODE",
    "MYSQL_HOST",
    "MYSQL_TCP_PORT",
    "MYSQL_USER",
    "MYSQL_PWD",
    "MYSQL_DATABASE",
];

pub const BUILT_INS: &[&str] = &[
    "GATE_ID",
    "GATE_TMP",
    "TMPDIR",
    "GATERUN_PHASE",
    "GATERUN_STAGE",
    "PROJECT_ROOT",
    "GATERUN_GATES",
    "GATERUN_EVIDENCE",
    "GATERUN",
];

/// One combination: each key with its value, in the order the keys were written.
pub type Combination = Vec<(String, String)>;

static VALUE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new("^[A-Za-z0-9._-]+$").expect("static regex"));

/// The combinations of a matrix, or `None` after reporting what is wrong with it. `taken`:
/// the names the gate's own `env` and secrets define.
pub fn combinations(
    ctx: &mut FileCtx,
    raw: Sp<OrderedMap<Sp<Vec<Sp<Scalar>>>>>,
    taken: &[(&str, &str)],
) -> Option<Vec<Combination>> {
    let before = ctx.diagnostics.len();
    if raw.value.0.is_empty() {
        ctx.error(
            raw.referenced,
            "`matrix` is empty: give it a key and a list of values, like `matrix: { DB: [sqlite, postgres] }`",
        );
        return None;
    }
    let mut axes: Vec<(String, Vec<String>)> = Vec::new();
    for (key, list) in raw.value.0 {
        let at = list.referenced;
        if !vars::is_name(&key) {
            ctx.error(at, format!("invalid matrix key `{key}`: a variable name (letters, digits and `_`, not starting with a digit)"));
        } else if BUILT_INS.contains(&key.as_str()) {
            ctx.error(
                at,
                format!(
                    "matrix key `{key}` is a built-in variable gaterun sets: choose another name"
                ),
            );
        } else if let Some((_, what)) = taken.iter().find(|(name, _)| *name == key) {
            ctx.error(
                at,
                format!("matrix key `{key}` is also {what}: the matrix sets it, choose one"),
            );
        }
        if list.value.is_empty() {
            ctx.error(
                at,
                format!("matrix key `{key}` has no values: give it a list of at least one"),
            );
        }
        let mut values: Vec<String> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for v in list.value {
            // As written: `3.10` stays `3.10`, as an `env` value does.
            let text = v.as_written(ctx.text);
            if !VALUE.is_match(&text) || text.contains("..") {
                ctx.error(
                    v.referenced,
                    format!(
                        "invalid matrix value `{}` for `{key}`: use letters, digits, `.`, `_` and `-` (it goes into the gate id and its log file name)",
                        text.escape_debug()
                    ),
                );
            } else if !seen.insert(text.clone()) {
                ctx.error(
                    v.referenced,
                    format!("matrix value `{text}` appears twice for `{key}`"),
                );
            } else {
                values.push(text);
            }
        }
        axes.push((key, values));
    }
    if ctx.diagnostics.len() > before {
        return None;
    }
    let count = axes
        .iter()
        .try_fold(1usize, |n, (_, v)| n.checked_mul(v.len()));
    match count {
        Some(n) if n <= MAX_COMBINATIONS => {}
        _ => {
            let sizes: Vec<String> = axes.iter().map(|(_, v)| v.len().to_string()).collect();
            ctx.error(
                raw.referenced,
                format!(
                    "`matrix` gives {} combinations ({}): at most {MAX_COMBINATIONS}",
                    count.map_or("too many".to_owned(), |n| n.to_string()),
                    sizes.join(" × ")
                ),
            );
            return None;
        }
    }
    let mut out: Vec<Combination> = vec![Vec::new()];
    for (key, values) in &axes {
        out = out
            .into_iter()
            .flat_map(|c| {
                values.iter().map(move |v| {
                    let mut c = c.clone();
                    c.push((key.clone(), v.clone()));
                    c
                })
            })
            .collect();
    }
    Some(out)
}

/// `ID[K=v,K2=w]`
pub fn combination_id(base: &str, combination: &Combination) -> String {
    if combination.is_empty() {
        return base.to_owned();
    }
    let pairs: Vec<String> = combination
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    format!("{base}[{}]", pairs.join(","))
}

/// `text` with each `${K}` of the combination replaced by its value; other `${…}` stay.
pub fn substitute(text: &str, combination: &Combination) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        // `$${X}` is the text `${X}`, escaped as everywhere else: left as written.
        // (`$$` before it is a `$` of its own.)
        let escaped = out.chars().rev().take_while(|&c| c == '$').count() % 2 == 1;
        let value = after.find('}').and_then(|end| {
            let key = &after[..end];
            let (_, v) = combination.iter().find(|(k, _)| k == key)?;
            Some((v, end))
        });
        match value {
            Some((v, end)) if !escaped => {
                out.push_str(v);
                rest = &after[end + 1..];
            }
            _ => {
                out.push_str("${");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// A gate id as the stage file rules allow: a plain id, or a matrix combination's.
pub fn is_gate_id(id: &str) -> bool {
    static ID: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"^[a-z0-9][a-z0-9_-]*(\[[A-Za-z_][A-Za-z0-9_]*=[A-Za-z0-9._-]+(,[A-Za-z_][A-Za-z0-9_]*=[A-Za-z0-9._-]+)*\])?$",
        )
        .expect("static regex")
    });
    ID.is_match(id) && !id.contains("..")
}

/// The text after substitution, when it still holds `${…}` that no matrix value replaced.
pub fn unresolved(ctx: &mut FileCtx, at: Location, what: &str, text: &str) -> bool {
    if text.contains("${") {
        ctx.error(
            at,
            format!("`{what}` may use only the gate's matrix variables, got `{text}`"),
        );
        return true;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substitution_replaces_matrix_keys_and_leaves_escapes_and_others() {
        let c = vec![("DB".to_owned(), "sqlite".to_owned())];
        let table = [
            ("on ${DB}", "on sqlite"),
            ("${DB}${DB}", "sqlitesqlite"),
            // The near misses: escaped, another name, unclosed.
            ("$${DB} is literal", "$${DB} is literal"),
            ("${DBX} and ${OTHER}", "${DBX} and ${OTHER}"),
            ("${DB", "${DB"),
            ("$$${DB}", "$$sqlite"),
        ];
        for (text, want) in table {
            assert_eq!(substitute(text, &c), want, "{text}");
        }
    }

    #[test]
    fn ids_of_combinations_are_gate_ids_and_near_misses_are_not() {
        let c = vec![
            ("DB".to_owned(), "sqlite".to_owned()),
            ("MODE".to_owned(), "v1.2".to_owned()),
        ];
        let id = combination_id("api", &c);
        assert_eq!(id, "api[DB=sqlite,MODE=v1.2]");
        assert!(is_gate_id(&id));
        assert!(is_gate_id("api"));
        for bad in [
            "api[]",
            "api[DB=]",
            "api[DB=a/b]",
            "api[DB=..]",
            "api[DB=a b]",
            "api[DB=a]x",
            "Api[DB=a]",
            "api[1=a]",
            "api[DB=a,]",
        ] {
            assert!(!is_gate_id(bad), "{bad}");
        }
    }

    #[test]
    fn a_matrix_expands_in_order_with_its_values_substituted() {
        use crate::config::{DatabaseKind, Defaults, parse_stage};
        let text = "stage: 1\nname: S\ngates:\n  - id: g\n    title: on ${DB} (${MODE}) ${OTHER}\n    matrix: { DB: [sqlite, postgres], MODE: [a, b] }\n    database: ${DB}\n    databases: { aux: \"${DB}\" }\n    retries: 2\n    sql: SELECT 1\n    db: aux\n";
        let (stage, diagnostics) =
            parse_stage(std::path::Path::new("s.yaml"), text, &Defaults::default());
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        let (stage, _) = stage.expect("a stage");
        let got: Vec<(&str, &str, Option<DatabaseKind>, &str, u32)> = stage
            .gates
            .iter()
            .map(|g| {
                (
                    g.id.as_str(),
                    g.title.as_str(),
                    g.database.as_ref().map(|d| d.kind),
                    g.base_id.as_str(),
                    g.retries,
                )
            })
            .collect();
        use DatabaseKind::{Postgres, Sqlite};
        assert_eq!(
            got,
            [
                (
                    "g[DB=sqlite,MODE=a]",
                    "on sqlite (a) ${OTHER}",
                    Some(Sqlite),
                    "g",
                    2
                ),
                (
                    "g[DB=sqlite,MODE=b]",
                    "on sqlite (b) ${OTHER}",
                    Some(Sqlite),
                    "g",
                    2
                ),
                (
                    "g[DB=postgres,MODE=a]",
                    "on postgres (a) ${OTHER}",
                    Some(Postgres),
                    "g",
                    2
                ),
                (
                    "g[DB=postgres,MODE=b]",
                    "on postgres (b) ${OTHER}",
                    Some(Postgres),
                    "g",
                    2
                ),
            ]
        );
        let aux: Vec<_> = stage.gates[2]
            .databases
            .iter()
            .map(|(n, d)| (n.as_str(), d.kind))
            .collect();
        assert_eq!(aux, [("aux", Postgres)]);
        assert_eq!(
            stage.gates[3].matrix,
            [
                ("DB".to_owned(), "postgres".to_owned()),
                ("MODE".to_owned(), "b".to_owned())
            ]
        );
    }

    #[test]
    fn substitution_replaces_matrix_variables_only() {
        let c = vec![("DB".to_owned(), "postgres".to_owned())];
        assert_eq!(substitute("${DB} on ${OTHER}", &c), "postgres on ${OTHER}");
    }
}
