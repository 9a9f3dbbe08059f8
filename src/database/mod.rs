//! Fresh databases: every gate that asks gets one nobody else has touched, and nothing is left
//! behind. SQLite is a new file in the gate's temp directory; PostgreSQL is a new database on
//! `GATERUN_POSTGRES_URL` or on a throw-away cluster this run starts on first use; the roles,
//! tablespaces and databases a gate creates there go when it ends (`global`).
//!
//! `gate` is a gate's database through its life; `value` the rows a statement gives back;
//! `sqlite`; for PostgreSQL, `postgres` (the provider), `cluster` (the throw-away server),
//! `global` (what gates create beside their database), `pgpool` (databases made ahead),
//! `pgclient`, `pgurl`, `pgstatement` and
//! `pgcell` (cells decoded from the binary form). Databases from a template (issue 18): the
//! template's key `template_key`, PostgreSQL templates `pgtemplate` (SQLite's is a file the
//! gate's is copied from, in `gate`); the throw-away cluster's data directory kept between
//! runs, `warm`, as one file, `pack`.

mod cluster;
mod gate;
pub mod global;
mod pack;
pub mod pgcell;
mod pgclient;
mod pgpool;
mod pgstatement;
pub mod pgtemplate;
mod pgurl;
pub mod postgres;
pub mod sqlite;
mod template_key;
mod value;
pub mod warm;

pub use cluster::kill_postmaster;
pub use gate::{GateDb, Template, execute, provision, release};
pub use template_key::template_key;
pub use value::SqlOutcome;
