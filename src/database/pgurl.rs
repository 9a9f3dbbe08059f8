//! A gate's PostgreSQL variables (`DATABASE_URL`, `PG*`): a URL every common client takes as
//! given, built from the server's configuration or from the user's own URL.

use tokio_postgres::Config;
use tokio_postgres::config::Host;

/// The gate's variables. `DATABASE_URL` is meant to work as given with libpq (psql), lib/pq and
/// pgx (dbmate), sqlx and SQLAlchemy: the scheme is `postgresql://` (SQLAlchemy refuses
/// `postgres://`); on the throw-away cluster, which has no TLS, `sslmode=disable` (lib/pq
/// defaults to `require`); on `GATERUN_POSTGRES_URL`, that URL with only the database replaced,
/// so every parameter the user gave stays.
pub(super) fn variables(
    config: &Config,
    name: &str,
    user_url: Option<&str>,
    cluster: bool,
) -> Vec<(String, String)> {
    let user = config.get_user().unwrap_or("postgres").to_owned();
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let (host, url_host) = match config.get_hosts().first() {
        Some(Host::Tcp(h)) => (h.clone(), format!("{h}:{port}")),
        Some(Host::Unix(p)) => (p.display().to_string(), String::new()),
        None => ("127.0.0.1".to_owned(), format!("127.0.0.1:{port}")),
    };
    let password = config
        .get_password()
        .map(|p| String::from_utf8_lossy(p).into_owned());
    let url = match user_url.and_then(|u| with_database(u, name)) {
        Some(url) => url,
        None => {
            let auth = match &password {
                Some(p) => format!("{}:{}", encode(&user), encode(p)),
                None => encode(&user),
            };
            let mut query = Vec::new();
            if url_host.is_empty() {
                query.push(format!("host={}", encode(&host)));
                query.push(format!("port={port}"));
            }
            let mode = match config.get_ssl_mode() {
                _ if cluster => Some("disable"),
                tokio_postgres::config::SslMode::Disable => Some("disable"),
                tokio_postgres::config::SslMode::Require => Some("require"),
                _ => None,
            };
            query.extend(mode.map(|m| format!("sslmode={m}")));
            let query = if query.is_empty() {
                String::new()
            } else {
                format!("?{}", query.join("&"))
            };
            format!("postgresql://{auth}@{url_host}/{}{query}", encode(name))
        }
    };
    let mut vars = vec![
        ("DATABASE_URL".to_owned(), url),
        ("PGHOST".to_owned(), host),
        ("PGPORT".to_owned(), port.to_string()),
        ("PGUSER".to_owned(), user),
        ("PGDATABASE".to_owned(), name.to_owned()),
    ];
    if let Some(p) = password {
        vars.push(("PGPASSWORD".to_owned(), p));
    }
    if cluster {
        // For tools that read the PG* variables alone (lib/pq would otherwise ask for TLS).
        vars.push(("PGSSLMODE".to_owned(), "disable".to_owned()));
    }
    vars
}

/// A `postgres://` or `postgresql://` URL with its database replaced (the path, and a
/// `dbname` parameter if there is one), everything else as written; the scheme becomes
/// `postgresql://`. `None` if it is not such a URL.
fn with_database(url: &str, name: &str) -> Option<String> {
    let rest = url
        .strip_prefix("postgresql://")
        .or_else(|| url.strip_prefix("postgres://"))?;
    let (before_query, query) = match rest.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (rest, None),
    };
    let authority = before_query.split('/').next().unwrap_or_default();
    let mut out = format!("postgresql://{authority}/{}", encode(name));
    if let Some(query) = query {
        let params: Vec<String> = query
            .split('&')
            .map(|p| match p.split_once('=') {
                Some(("dbname", _)) => format!("dbname={}", encode(name)),
                _ => p.to_owned(),
            })
            .collect();
        out.push('?');
        out.push_str(&params.join("&"));
    }
    Some(out)
}

/// Percent-encode what may not stand in a URL's user info or query.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn a_user_url_keeps_its_parameters_and_gets_the_gate_s_database() {
        let cases = [
            (
                "postgres://admin:pw@db.example:5433/postgres?sslmode=require&application_name=ci",
                "postgresql://admin:pw@db.example:5433/gaterun_1_2?sslmode=require&application_name=ci",
            ),
            (
                "postgresql://admin@127.0.0.1",
                "postgresql://admin@127.0.0.1/gaterun_1_2",
            ),
            (
                "postgresql://admin@h1:5432,h2:5433/app?dbname=app&connect_timeout=5",
                "postgresql://admin@h1:5432,h2:5433/gaterun_1_2?dbname=gaterun_1_2&connect_timeout=5",
            ),
            (
                "postgresql:///app?host=/run/postgresql",
                "postgresql:///gaterun_1_2?host=/run/postgresql",
            ),
        ];
        for (given, want) in cases {
            assert_eq!(
                with_database(given, "gaterun_1_2").as_deref(),
                Some(want),
                "{given}"
            );
        }
        assert_eq!(with_database("host=/tmp user=admin", "x"), None);
    }

    #[test]
    fn the_throwaway_cluster_s_url_disables_tls() {
        let mut config = Config::new();
        config.host("127.0.0.1").port(5999).user("postgres");
        let vars: HashMap<String, String> = variables(&config, "gaterun_db_3", None, true)
            .into_iter()
            .collect();
        assert_eq!(
            vars["DATABASE_URL"],
            "postgresql://postgres@127.0.0.1:5999/gaterun_db_3?sslmode=disable"
        );
        assert_eq!(vars["PGSSLMODE"], "disable");
        // A server of the user's: its parameters, no sslmode of gaterun's.
        let vars: HashMap<String, String> = variables(
            &config,
            "gaterun_1_2",
            Some("postgres://postgres@127.0.0.1:5999/postgres"),
            false,
        )
        .into_iter()
        .collect();
        assert_eq!(
            vars["DATABASE_URL"],
            "postgresql://postgres@127.0.0.1:5999/gaterun_1_2"
        );
        assert!(!vars.contains_key("PGSSLMODE"));
    }
}
