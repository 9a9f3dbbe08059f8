//! What a gate creates in a PostgreSQL cluster outside its own database — roles, tablespaces,
//! other databases (PostgreSQL's "global objects") — is dropped when the gate ends, so that the
//! next gate, or the next run of the same gate under `--repeat`, starts from the same cluster.
//!
//! PostgreSQL does not record who created a role or a tablespace, and the gates of a stage share
//! one cluster concurrently, so attribution is by time. Each gate takes a snapshot of the
//! cluster's global objects when it starts (before any of its processes exist) and another when
//! it ends (after all of them are gone). An object in the second and not in the first was
//! created by this gate or by a gate running alongside it. The first gate to find an object
//! records as its possible makers itself and every gate still running whose start snapshot lacks
//! the object; the maker is always among them (it cannot have ended yet: its own end would have
//! found the object first). The object is dropped as soon as none of its possible makers runs:
//! at once when the gate ran alone, else at the end of the last of them. A name that existed
//! when the first gate of the run started is never dropped, whatever happens to it.
//!
//! The limit: only gates with `database: postgres` are known. On `GATERUN_POSTGRES_URL`, an
//! object that someone else — another program, another gaterun run — creates on that server
//! while this run's PostgreSQL gates run is taken for theirs and dropped.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, Config};

use super::pgclient::{connect_gate, describe, drop_database_now, quote};

/// What kind of global object; the order is the order of dropping (a database may hold objects
/// in a tablespace and grants to roles, a tablespace may belong to a role).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub enum Kind {
    Database,
    Tablespace,
    Role,
}

impl Kind {
    fn word(self) -> &'static str {
        match self {
            Kind::Database => "database",
            Kind::Tablespace => "tablespace",
            Kind::Role => "role",
        }
    }
}

/// An object by kind and OID (a renamed object is still the same one).
pub type Key = (Kind, u32);

/// The cluster's global objects at one moment: their names by kind and OID.
pub type Snapshot = HashMap<Key, String>;

/// Gates running against one cluster, and objects waiting for their possible makers to end.
#[derive(Default)]
pub struct Ledger {
    state: Mutex<State>,
    /// One gate's end at a time: finding objects and dropping them is one step.
    turn: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct State {
    next: u64,
    /// Names present when the first gate started.
    baseline: Option<HashSet<(Kind, String)>>,
    /// Gates running now, with the objects that existed when each started.
    live: HashMap<u64, HashSet<Key>>,
    /// Objects found and not dropped yet.
    pending: Vec<Pending>,
}

struct Pending {
    key: Key,
    name: String,
    /// The gates that may have created it.
    makers: HashSet<u64>,
}

/// A gate's place in the ledger; a gate that never reaches its end (its start was interrupted)
/// leaves it when this is dropped.
pub struct Ticket {
    id: u64,
    ledger: Arc<Ledger>,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.ledger.lock().live.remove(&self.id);
    }
}

/// What a gate's end found: whether anything is waiting, and what may be dropped now.
#[derive(Debug, Default, PartialEq)]
pub struct Found {
    /// Objects new since this gate started, or found earlier and still there.
    pub waiting: usize,
    /// Objects none of whose possible makers runs any more, in the order of dropping.
    pub ready: Vec<(Key, String)>,
}

impl Ledger {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A gate starts: `snapshot` was taken before any of its processes exist.
    pub fn enter(self: &Arc<Self>, snapshot: &Snapshot) -> Ticket {
        let mut state = self.lock();
        if state.baseline.is_none() {
            state.baseline = Some(snapshot.iter().map(|(k, n)| (k.0, n.clone())).collect());
        }
        state.next += 1;
        let id = state.next;
        state.live.insert(id, snapshot.keys().copied().collect());
        Ticket {
            id,
            ledger: self.clone(),
        }
    }

    /// Wait for the other gates' ends to be done with the cluster.
    pub async fn turn(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.turn.lock().await
    }

    /// A gate ends: `now` was taken after its last process was gone. `ours` says which
    /// databases gaterun itself made (the gates' own), which are never the gates' doing.
    pub fn leave(&self, ticket: Ticket, now: &Snapshot, ours: impl Fn(&str) -> bool) -> Found {
        let mut state = self.lock();
        let Some(start) = state.live.remove(&ticket.id) else {
            return Found::default();
        };
        // What is gone needs no dropping.
        state.pending.retain(|p| now.contains_key(&p.key));
        let baseline = state.baseline.take().unwrap_or_default();
        let mut found = Vec::new();
        for (key, name) in now {
            let known = start.contains(key)
                || baseline.contains(&(key.0, name.clone()))
                || (key.0 == Kind::Database && ours(name))
                || state.pending.iter().any(|p| p.key == *key);
            if known {
                continue;
            }
            let mut makers: HashSet<u64> = state
                .live
                .iter()
                .filter(|(_, s)| !s.contains(key))
                .map(|(id, _)| *id)
                .collect();
            makers.insert(ticket.id);
            found.push(Pending {
                key: *key,
                name: name.clone(),
                makers,
            });
        }
        state.baseline = Some(baseline);
        state.pending.extend(found);
        let live = &state.live;
        let mut ready: Vec<(Key, String)> = state
            .pending
            .iter()
            .filter(|p| p.makers.iter().all(|m| !live.contains_key(m)))
            .map(|p| {
                let name = now.get(&p.key).cloned().unwrap_or_else(|| p.name.clone());
                (p.key, name)
            })
            .collect();
        ready.sort();
        Found {
            waiting: state.pending.len(),
            ready,
        }
    }

    /// Everything found and not dropped yet (the run is over: no gate runs).
    pub fn remaining(&self) -> Vec<(Key, String)> {
        let state = self.lock();
        let mut all: Vec<_> = state
            .pending
            .iter()
            .map(|p| (p.key, p.name.clone()))
            .collect();
        all.sort();
        all
    }

    /// The object was dropped, or is gone.
    pub fn settle(&self, key: Key) {
        self.lock().pending.retain(|p| p.key != key);
    }
}

/// The cluster's global objects now.
pub async fn snapshot(admin: &Client) -> Result<Snapshot, String> {
    let rows = admin
        .query(
            "SELECT 'd'::text, oid, datname::text FROM pg_database \
             UNION ALL SELECT 't'::text, oid, spcname::text FROM pg_tablespace \
             UNION ALL SELECT 'r'::text, oid, rolname::text FROM pg_roles",
            &[],
        )
        .await
        .map_err(|e| {
            format!(
                "failed to list the cluster's roles, tablespaces and databases: {}",
                describe(&e)
            )
        })?;
    let mut out = Snapshot::new();
    for row in rows {
        let (Ok(kind), Ok(oid), Ok(name)) = (
            row.try_get::<_, String>(0),
            row.try_get::<_, u32>(1),
            row.try_get::<_, String>(2),
        ) else {
            continue;
        };
        let kind = match kind.as_str() {
            "d" => Kind::Database,
            "t" => Kind::Tablespace,
            _ => Kind::Role,
        };
        out.insert((kind, oid), name);
    }
    Ok(out)
}

/// Drop one object a gate created; a line for the gate's log either way.
///
/// A role may still own objects or hold privileges in a database that outlives the gate (one
/// that existed before it): there, what it owns is given to the connecting user
/// (`REASSIGN OWNED`, which never destroys data outside the gates' own databases) and its
/// privileges are revoked (`DROP OWNED`), then it is dropped. A role with objects in a running
/// gate's database waits for that gate's end.
pub async fn drop_object(
    admin: &Client,
    config: &Config,
    (kind, oid): Key,
    name: &str,
    ours: impl Fn(&str) -> bool,
) -> Result<String, String> {
    let Some(name) = current_name(admin, kind, oid).await? else {
        return Ok(format!("{} {} is gone already", kind.word(), quote(name)));
    };
    let what = format!("{} {}", kind.word(), quote(&name));
    let statement = match kind {
        Kind::Database => {
            return drop_database_now(admin, &name)
                .await
                .map(|()| format!("dropped {what}"))
                .map_err(|e| format!("failed to drop {what}: {e}"));
        }
        Kind::Tablespace => format!("DROP TABLESPACE {}", quote(&name)),
        Kind::Role => format!("DROP ROLE {}", quote(&name)),
    };
    let first = admin.batch_execute(&statement).await;
    let Err(e) = first else {
        return Ok(format!("dropped {what}"));
    };
    if kind != Kind::Role || e.code() != Some(&SqlState::DEPENDENT_OBJECTS_STILL_EXIST) {
        return Err(format!("failed to drop {what}: {}", describe(&e)));
    }
    disown(admin, config, oid, &name, ours)
        .await
        .map_err(|e| format!("failed to drop {what}: {e}"))?;
    admin
        .batch_execute(&statement)
        .await
        .map(|()| {
            format!(
                "dropped {what} (what it owned outside the gates' databases now belongs to {})",
                config.get_user().unwrap_or("the connecting user")
            )
        })
        .map_err(|e| format!("failed to drop {what}: {}", describe(&e)))
}

/// The object's name now, if it still exists.
async fn current_name(admin: &Client, kind: Kind, oid: u32) -> Result<Option<String>, String> {
    let query = match kind {
        Kind::Database => "SELECT datname::text FROM pg_database WHERE oid = $1",
        Kind::Tablespace => "SELECT spcname::text FROM pg_tablespace WHERE oid = $1",
        Kind::Role => "SELECT rolname::text FROM pg_roles WHERE oid = $1",
    };
    admin
        .query_opt(query, &[&oid])
        .await
        .map(|row| row.and_then(|r| r.try_get::<_, String>(0).ok()))
        .map_err(|e| describe(&e))
}

/// `REASSIGN OWNED` and `DROP OWNED` for a role in every database where it still has
/// something, and in the connecting database (for what it has on databases and tablespaces).
async fn disown(
    admin: &Client,
    config: &Config,
    oid: u32,
    name: &str,
    ours: impl Fn(&str) -> bool,
) -> Result<(), String> {
    let rows = admin
        .query(
            "SELECT DISTINCT d.datname::text FROM pg_shdepend s JOIN pg_database d ON d.oid = s.dbid \
             WHERE s.refclassid = 'pg_authid'::regclass AND s.refobjid = $1",
            &[&oid],
        )
        .await
        .map_err(|e| describe(&e))?;
    let databases: Vec<String> = rows.iter().filter_map(|r| r.try_get(0).ok()).collect();
    if let Some(gate) = databases.iter().find(|d| ours(d)) {
        return Err(format!(
            "it has objects in {}, the database of a gate still running; tried again when that gate ends",
            quote(gate)
        ));
    }
    let statement = format!(
        "REASSIGN OWNED BY {role} TO CURRENT_USER; DROP OWNED BY {role}",
        role = quote(name)
    );
    admin
        .batch_execute(&statement)
        .await
        .map_err(|e| describe(&e))?;
    let here = config.get_dbname().unwrap_or_default();
    for db in databases.iter().filter(|d| d.as_str() != here) {
        let mut config = config.clone();
        config.dbname(db);
        let client = connect_gate(&config)
            .await
            .map_err(|e| format!("failed to connect to database {}: {e}", quote(db)))?;
        client
            .batch_execute(&statement)
            .await
            .map_err(|e| format!("in database {}: {}", quote(db), describe(&e)))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(objects: &[(Kind, u32, &str)]) -> Snapshot {
        objects
            .iter()
            .map(|(k, o, n)| ((*k, *o), (*n).to_owned()))
            .collect()
    }

    fn names(found: &Found) -> Vec<&str> {
        found.ready.iter().map(|(_, n)| n.as_str()).collect()
    }

    const BASE: &[(Kind, u32, &str)] = &[
        (Kind::Role, 10, "postgres"),
        (Kind::Database, 5, "postgres"),
        (Kind::Tablespace, 1663, "pg_default"),
    ];

    fn with(extra: &[(Kind, u32, &str)]) -> Snapshot {
        let mut all = BASE.to_vec();
        all.extend_from_slice(extra);
        snap(&all)
    }

    fn never(_: &str) -> bool {
        false
    }

    #[test]
    fn a_gate_alone_has_what_it_created_dropped_at_its_end() {
        let ledger = Arc::new(Ledger::default());
        let a = ledger.enter(&with(&[]));
        let now = with(&[
            (Kind::Role, 20, "reporting"),
            (Kind::Tablespace, 21, "fast"),
            (Kind::Database, 22, "other"),
        ]);
        let found = ledger.leave(a, &now, never);
        assert_eq!(names(&found), ["other", "fast", "reporting"], "drop order");
        assert_eq!(found.waiting, 3);
    }

    #[test]
    fn an_object_waits_for_every_gate_that_may_have_made_it() {
        let ledger = Arc::new(Ledger::default());
        let a = ledger.enter(&with(&[]));
        let b = ledger.enter(&with(&[]));
        // B created it while A ran: A's end must not drop it.
        let now = with(&[(Kind::Role, 20, "b_role")]);
        let found = ledger.leave(a, &now, never);
        assert_eq!(found.ready, Vec::new());
        assert_eq!(found.waiting, 1);
        let found = ledger.leave(b, &now, never);
        assert_eq!(names(&found), ["b_role"]);
    }

    #[test]
    fn a_gate_that_started_after_the_object_existed_is_not_a_possible_maker() {
        let ledger = Arc::new(Ledger::default());
        let a = ledger.enter(&with(&[]));
        let later = ledger.enter(&with(&[(Kind::Role, 20, "a_role")]));
        let now = with(&[(Kind::Role, 20, "a_role")]);
        assert_eq!(names(&ledger.leave(a, &now, never)), ["a_role"]);
        // The later gate's end finds nothing new of its own.
        ledger.settle((Kind::Role, 20));
        let found = ledger.leave(later, &with(&[]), never);
        assert_eq!(found, Found::default());
    }

    #[test]
    fn what_existed_before_the_first_gate_is_never_dropped_even_recreated() {
        let ledger = Arc::new(Ledger::default());
        let first = ledger.enter(&with(&[(Kind::Role, 20, "app")]));
        // Dropped and created again: a new OID, the same pre-existing name.
        let found = ledger.leave(first, &with(&[(Kind::Role, 99, "app")]), never);
        assert_eq!(found, Found::default());
        // Renamed: the same OID, so not new either.
        let second = ledger.enter(&with(&[(Kind::Role, 99, "app")]));
        let found = ledger.leave(second, &with(&[(Kind::Role, 99, "renamed")]), never);
        assert_eq!(found, Found::default());
    }

    #[test]
    fn gaterun_s_own_databases_are_not_the_gates_doing() {
        let ledger = Arc::new(Ledger::default());
        let a = ledger.enter(&with(&[]));
        let now = with(&[
            (Kind::Database, 30, "gaterun_db_7"),
            (Kind::Database, 31, "made_by_gate"),
        ]);
        let found = ledger.leave(a, &now, |n| n.starts_with("gaterun_"));
        assert_eq!(names(&found), ["made_by_gate"]);
    }

    #[test]
    fn a_failed_drop_is_tried_again_at_the_next_end_and_what_is_gone_is_forgotten() {
        let ledger = Arc::new(Ledger::default());
        let a = ledger.enter(&with(&[]));
        let now = with(&[(Kind::Role, 20, "stuck"), (Kind::Role, 21, "gone")]);
        assert_eq!(names(&ledger.leave(a, &now, never)), ["stuck", "gone"]);
        // Neither settled; "gone" disappeared meanwhile.
        let b = ledger.enter(&now);
        let found = ledger.leave(b, &with(&[(Kind::Role, 20, "stuck")]), never);
        assert_eq!(names(&found), ["stuck"]);
        assert_eq!(found.waiting, 1);
        assert_eq!(ledger.remaining().len(), 1);
    }

    #[test]
    fn an_interrupted_start_leaves_the_ledger() {
        let ledger = Arc::new(Ledger::default());
        let a = ledger.enter(&with(&[]));
        let b = ledger.enter(&with(&[]));
        drop(b);
        let found = ledger.leave(a, &with(&[(Kind::Role, 20, "r")]), never);
        assert_eq!(
            names(&found),
            ["r"],
            "the dropped ticket holds nothing back"
        );
    }
}
