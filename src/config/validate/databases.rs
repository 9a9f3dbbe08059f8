//! A gate's databases: `database:` (one, its variables unprefixed) and `databases:` (several,
//! by name, each one's variables prefixed with its name: `MAIN_DATABASE_URL`). Both may use
//! the gate's matrix variables (`database: ${DB}`), replaced here for each combination. Each
//! may be a map, `{ kind, init }`: a database copied from a template (`db_init.rs`).

use std::sync::LazyLock;

use regex::Regex;

use super::ctx::FileCtx;
use super::matrix::{Combination, substitute, unresolved};
use crate::config::model::{Database, DatabaseKind};
use crate::config::raw::{OrderedMap, RawDatabase, Sp};

/// The longest name in `databases:`: it prefixes variable names and a PostgreSQL database's.
const MAX_NAME: usize = 20;

/// What the gate's steps may choose from: the `database:` one, and the named ones.
pub struct Choices {
    pub single: bool,
    pub named: Vec<String>,
    /// A template's steps: which databases the gate that uses it has is not known here, so a
    /// `db:` may name any (a gate without it fails the step, naming the database).
    pub open: bool,
}

impl Choices {
    pub fn any(&self) -> bool {
        self.single || self.open || !self.named.is_empty()
    }

    /// What a template's steps may name.
    pub fn open() -> Choices {
        Choices {
            single: true,
            named: Vec::new(),
            open: true,
        }
    }
}

pub fn kind(ctx: &mut FileCtx, db: &Sp<String>, combination: &Combination) -> Option<DatabaseKind> {
    let text = substitute(db.value.trim(), combination);
    if !combination.is_empty() && unresolved(ctx, db.referenced, "database", &text) {
        return None;
    }
    match text.as_str() {
        "sqlite" => Some(DatabaseKind::Sqlite),
        "postgres" | "postgresql" => Some(DatabaseKind::Postgres),
        "mysql" | "mariadb" => Some(DatabaseKind::Mysql),
        other => {
            let with = if combination.is_empty() || other == db.value.trim() {
                String::new()
            } else {
                format!(" (from `{}`)", db.value.trim())
            };
            ctx.error(
                db.referenced,
                format!("unknown database `{other}`{with}: use `sqlite`, `postgres` or `mysql`"),
            );
            None
        }
    }
}

/// A database as written (a kind, or `{ kind, init }`), for one combination of the matrix.
pub fn database(
    ctx: &mut FileCtx,
    raw: &Sp<RawDatabase>,
    combination: &Combination,
) -> Option<Database> {
    let (kind, init) = match &raw.value {
        RawDatabase::Kind(k) => (
            Sp {
                value: k.clone(),
                referenced: raw.referenced,
            },
            None,
        ),
        RawDatabase::Map(m) => (m.kind.clone(), m.init.as_ref()),
    };
    let at = kind.referenced;
    let kind = self::kind(ctx, &kind, combination);
    let init = match init {
        Some(i) => Some(super::db_init::init(ctx, i)?),
        None => None,
    };
    if init.is_some() && kind == Some(DatabaseKind::Mysql) {
        ctx.error(
            at,
            "`init` (a database from a template) is for `sqlite` and `postgres`; a `mysql` gate \
             runs its migrations in a step of its own",
        );
        return None;
    }
    Some(Database { kind: kind?, init })
}

/// The names of `databases:`, checked, in order.
pub fn names(ctx: &mut FileCtx, raw: &Sp<OrderedMap<Sp<RawDatabase>>>) -> Vec<String> {
    static NAME: LazyLock<Regex> =
        LazyLock::new(|| Regex::new("^[a-z][a-z0-9_]*$").expect("static regex"));
    if raw.value.0.is_empty() {
        ctx.error(
            raw.referenced,
            "`databases` is empty: name each database, like `databases: { main: postgres, audit: sqlite }`",
        );
    }
    let mut out = Vec::new();
    for (name, kind) in &raw.value.0 {
        if !NAME.is_match(name) || name.len() > MAX_NAME {
            ctx.error(
                kind.referenced,
                format!("invalid database name `{name}`: lower-case letters, digits and `_`, starting with a letter, at most {MAX_NAME} characters"),
            );
        } else {
            out.push(name.clone());
        }
    }
    out
}

/// `databases:` for one combination of the matrix (the empty one without a matrix).
pub fn databases(
    ctx: &mut FileCtx,
    raw: &Sp<OrderedMap<Sp<RawDatabase>>>,
    combination: &Combination,
) -> Vec<(String, Database)> {
    raw.value
        .0
        .iter()
        .filter_map(|(name, db)| database(ctx, db, combination).map(|d| (name.clone(), d)))
        .collect()
}
