//! Fresh databases: every gate that asks gets one nobody else has touched, and nothing is left
//! behind. SQLite is a new file in the gate's temp directory; PostgreSQL is a new database on
//! `GATERUN_POSTGRES_URL` or on a throw-away cluster this run starts on first use (MySQL
//! likewise, on `GATERUN_MYSQL_URL` or a throw-away MariaDB server); the roles,
//! tablespaces and databases a gate creates there go when it ends (`global`).
//!
//! `gate` is a gate's database through its life; `value` the rows a statement gives back;
//! `sqlite`; for PostgreSQL, `postgres` (the provider), `cluster` (the throw-away server),
//! `global` (what gates create beside their database), `pgpool` (databases made ahead),
//! `pgclient`, `pgurl`, `pgstatement` and `pgcell` (cells decoded from the binary form); for
//! MySQL and MariaDB, `mysql` (the provider and a gate's database), `mysqlserver` (the
//! throw-away server), `mysqlstatement` and `mysqlcell`; `scratch`, where a throw-away server
//! keeps its data. Databases from a template (issue 18): the template's key `template_key`,
//! PostgreSQL templates `pgtemplate` (SQLite's is a file the gate's is copied from, in
//! `gate`); the throw-away cluster's data directory kept between runs, `warm`, as one file,
//! `pack`.

mod cluster;
mod gate;
pub mod global;
pub mod mysql;
mod mysqlcell;
mod mysqlserver;
mod mysqlstatement;
mod pack;
pub mod pgcell;
mod pgclient;
mod pgpool;
mod pgstatement;
pub mod pgtemplate;
mod pgurl;
pub mod postgres;
mod scratch;
pub mod sqlite;
mod template_key;
mod value;
pub mod warm;

pub use cluster::kill_postmaster;
pub use gate::{GateDb, Template, execute, provision, release};
pub use mysqlserver::kill_server as kill_mysql_server;
pub use template_key::template_key;
pub use value::SqlOutcome;
