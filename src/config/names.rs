//! The names a `${…}` may use at one point of a gate, as the run defines them, each with where
//! it comes from (for `check`'s did-you-mean). The run builds a gate's variables in
//! runner/gate/setup.rs (gaterun's environment less the secrets of other gates, the built-ins,
//! the matrix, the stage's share, services, mocks, databases, then `env` in order),
//! runner/gate/share.rs (what a stage's `setup` hands its gates), runner/gate/scope.rs (a
//! step's own `env`) and runner/gate/template.rs (a `use`'s params and outputs): this file
//! follows them, and must change when they do.

use std::collections::{BTreeMap, BTreeSet};

use super::model::{Database, DatabaseKind, Gate, Stage, StageScope, var_prefix};
use super::validate::BUILT_INS;

/// What a fresh database of `kind` sets. `PGPASSWORD`, `PGSSLMODE` and `MYSQL_PWD` depend on
/// the server the run is given: counted as defined (the run refuses them when it sets none).
pub fn database_vars(kind: DatabaseKind) -> &'static [&'static str] {
    match kind {
        DatabaseKind::Sqlite => &["DATABASE_URL", "DATABASE_PATH"],
        DatabaseKind::Postgres => &[
            "DATABASE_URL",
            "PGHOST",
            "PGPORT",
            "PGUSER",
            "PGDATABASE",
            "PGPASSWORD",
            "PGSSLMODE",
        ],
        DatabaseKind::Mysql => &[
            "DATABASE_URL",
            "MYSQL_HOST",
            "MYSQL_TCP_PORT",
            "MYSQL_USER",
            "MYSQL_PWD",
            "MYSQL_DATABASE",
        ],
    }
}

/// The names defined at one point, each with where it comes from (`service api`).
#[derive(Debug, Clone, Default)]
pub struct Scope {
    names: BTreeMap<String, String>,
}

impl Scope {
    pub fn add(&mut self, name: impl Into<String>, origin: impl Into<String>) {
        self.names.insert(name.into(), origin.into());
    }

    pub fn has(&self, name: &str) -> bool {
        self.names.contains_key(name)
    }

    /// The defined name nearest `name` and where it comes from: the project's names first,
    /// then the environment's (there are many, and a typo of a project name is likelier).
    pub fn near(&self, name: &str) -> Option<(&str, &str)> {
        let (env, own): (Vec<_>, Vec<_>) = self
            .names
            .iter()
            .partition(|(_, origin)| origin.as_str() == ENVIRONMENT);
        // The environment's names of one or two letters are near any short name (`_`, the
        // shell's last argument, was offered for `${B}`): never a suggestion.
        let env: Vec<_> = env.into_iter().filter(|(n, _)| n.len() > 2).collect();
        [own, env].into_iter().find_map(|list| {
            let known: Vec<&str> = list.iter().map(|(n, _)| n.as_str()).collect();
            let near = crate::near::suggest_name(name, &known)?;
            self.names
                .get_key_value(near)
                .map(|(n, o)| (n.as_str(), o.as_str()))
        })
    }

    /// Service (or mock) `name`'s `<NAME>_PORT` and `<NAME>_URL`.
    fn ports(&mut self, name: &str, origin: &str) {
        let prefix = var_prefix(name);
        self.add(format!("{prefix}_PORT"), origin);
        self.add(format!("{prefix}_URL"), origin);
    }

    /// A fresh database's variables; `name`: one of `databases:`, whose are prefixed.
    fn database(&mut self, db: &Database, name: Option<&str>, origin: &str) {
        let prefix = name.map(|n| format!("{}_", n.to_ascii_uppercase()));
        for v in database_vars(db.kind) {
            self.add(format!("{}{v}", prefix.as_deref().unwrap_or("")), origin);
        }
    }
}

pub const ENVIRONMENT: &str = "the environment";

/// gaterun's environment as `check` sees it (the run's may differ: the documented caveat),
/// less the gate token and the secrets of other gates (`secrets`: every gate's).
pub fn environment(gate_secrets: &[String], secrets: &BTreeSet<String>) -> Scope {
    let mut scope = Scope::default();
    for (k, _) in std::env::vars_os() {
        let Ok(k) = k.into_string() else { continue };
        let hidden = secrets.contains(&k) && !gate_secrets.contains(&k);
        if k != crate::process::TOKEN_VAR && !hidden {
            scope.add(k, ENVIRONMENT);
        }
    }
    scope
}

/// What a gate has before its `env`: the built-ins, its secrets and matrix values, what its
/// stage shares (`share`), its services', mocks' and databases' variables.
pub fn gate_scope(env: Scope, gate: &Gate, share: &Scope) -> Scope {
    let mut scope = env;
    for name in &gate.secrets {
        scope.add(name, "a secret");
    }
    for b in BUILT_INS {
        scope.add(*b, "a built-in");
    }
    for (k, _) in &gate.matrix {
        scope.add(k, "the matrix");
    }
    for (name, origin) in &share.names {
        // The stage's database is for the gates without their own.
        let stage_db = origin.as_str() == STAGE_DATABASE;
        if !(stage_db && gate.database.is_some()) {
            scope.add(name, origin);
        }
    }
    for s in &gate.services {
        scope.ports(&s.name, &format!("service {}", s.name));
    }
    for m in &gate.mocks {
        scope.ports(&m.name, &format!("mock {}", m.name));
    }
    if let Some(db) = &gate.database {
        scope.database(db, None, "the database");
    }
    for (name, db) in &gate.databases {
        scope.database(db, Some(name), &format!("database {name}"));
    }
    scope
}

const STAGE_DATABASE: &str = "the stage's database";

/// What a stage's scope hands its gates before setup's captures: its services' and mocks'
/// variables, its database's.
pub fn stage_share(scope: &StageScope) -> Scope {
    let mut share = Scope::default();
    for s in &scope.services {
        share.ports(&s.name, &format!("stage service {}", s.name));
    }
    for m in &scope.mocks {
        share.ports(&m.name, &format!("stage mock {}", m.name));
    }
    if let Some(db) = &scope.database {
        share.database(db, None, STAGE_DATABASE);
    }
    share
}

/// The names every gate of `stages` sets for itself alone (its `env`, services, mocks,
/// databases, captures), with which gate: for a name undefined where it is used but set by
/// another gate or stage.
pub fn elsewhere(stages: &[Stage]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for stage in stages {
        let share = stage_share(&stage.scope);
        for (name, origin) in share.names {
            out.entry(name)
                .or_insert_with(|| format!("{origin} of stage {}", stage.key));
        }
        for gate in &stage.gates {
            let own = gate_scope(Scope::default(), gate, &Scope::default());
            let env = gate
                .env
                .iter()
                .map(|(k, _)| (k.clone(), "its env".to_owned()));
            let captures = gate.steps.iter().flat_map(|s| &s.captures);
            let captured = captures.map(|(k, _)| (k.clone(), "a capture".to_owned()));
            for (name, origin) in own.names.into_iter().chain(env).chain(captured) {
                if BUILT_INS.contains(&name.as_str()) || gate.secrets.contains(&name) {
                    continue;
                }
                out.entry(name).or_insert_with(|| {
                    format!("gate `{}` of stage {} ({origin})", gate.base_id, stage.key)
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_names_are_the_ones_validation_reserves() {
        let kinds = [
            DatabaseKind::Sqlite,
            DatabaseKind::Postgres,
            DatabaseKind::Mysql,
        ];
        for v in kinds.into_iter().flat_map(database_vars) {
            assert!(super::super::validate::DATABASE_VARS.contains(v), "{v}");
        }
    }

    #[test]
    fn near_prefers_the_projects_names_and_says_where_they_come_from() {
        let mut s = Scope::default();
        s.add("API_URL", "service api");
        s.add("API_URI", ENVIRONMENT);
        assert_eq!(s.near("API_ULR"), Some(("API_URL", "service api")));
        assert_eq!(s.near("api_url"), Some(("API_URL", "service api")));
        assert_eq!(s.near("BANANA"), None);
    }
}
