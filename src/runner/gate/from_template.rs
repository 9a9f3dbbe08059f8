//! A gate's database from a template (`database: { kind, init }`): the template's key, the
//! run's entry for it (runner/templates.rs), and the build an entry starts — the init run on a
//! template database (runner/dbinit.rs), PostgreSQL's by `database::pgtemplate`, SQLite's a
//! file of the run's. The init's deadline is the timeout of the gate that started the build.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::config::{DatabaseKind, DbInit};
use crate::database::{self, Template, pgtemplate};
use crate::runner::context::RunContext;
use crate::runner::dbinit;
use crate::runner::templates::Built;

/// What a gate asks for.
pub struct Request {
    pub kind: DatabaseKind,
    pub init: Arc<DbInit>,
    /// The gate's workdir, and the same relative to the project root.
    pub workdir: PathBuf,
    pub rel: String,
    /// The deadline of a build this request starts.
    pub timeout: Duration,
}

/// The template for a request: built by this call, or by an earlier one with the same key.
/// `None`: interrupted while waiting.
pub async fn template(
    rc: &Arc<RunContext>,
    req: Request,
    cancel: &mut watch::Receiver<bool>,
) -> Option<Arc<Built>> {
    let key = {
        let (kind, init) = (req.kind, req.init.clone());
        let (dir, rel) = (req.workdir.clone(), req.rel.clone());
        tokio::task::spawn_blocking(move || database::template_key(kind, &init, &dir, &rel))
            .await
            .unwrap_or_else(|e| Err(format!("internal error: the key task failed: {e}")))
    };
    let key = match key {
        Ok(k) => k,
        Err(e) => {
            return Some(Arc::new(Built {
                result: Err(format!("database init: {e}")),
                output: String::new(),
                note: "no template: its key could not be made".to_owned(),
            }));
        }
    };
    let mut rx = rc.templates.entry(&key, |tx, stop| {
        tokio::spawn(build(
            rc.clone(),
            key.clone(),
            req,
            cancel.clone(),
            stop,
            tx,
        ))
    });
    tokio::select! {
        r = rx.wait_for(Option::is_some) => r.ok().and_then(|v| v.clone()),
        _ = crate::steps::cancelled(cancel) => None,
    }
}

async fn build(
    rc: Arc<RunContext>,
    key: String,
    req: Request,
    cancel: watch::Receiver<bool>,
    stop: watch::Receiver<bool>,
    tx: watch::Sender<Option<Arc<Built>>>,
) {
    let started = Instant::now();
    let short = &key[..16];
    let output = Arc::new(Mutex::new(String::new()));
    let init = dbinit::Init {
        init: req.init.clone(),
        workdir: req.workdir.clone(),
        deadline: started + req.timeout,
        timeout: req.timeout,
        tmp: rc.tmp.root().join("templates").join(format!("{short}-tmp")),
        project_root: rc.project_root.clone(),
        hidden: rc.secrets.names.iter().cloned().collect(),
        cancel,
        stop,
        output: output.clone(),
    };
    let result = match req.kind {
        DatabaseKind::Postgres => rc
            .postgres
            .template(&key, init.stop.clone(), |target| init.run(target))
            .await
            .map(|(name, built)| (Template::Postgres(name), built)),
        DatabaseKind::Sqlite => sqlite(&rc, short, &init).await,
        // Refused by `check` (config::validate::databases).
        DatabaseKind::Mysql => Err("`init` is not supported for `mysql`".to_owned()),
    };
    let took = crate::text::human_duration(started.elapsed());
    let (result, note) = match result {
        Ok((t, true)) => (Ok(t), format!("template {short}: built in {took}")),
        Ok((t, false)) => (
            Ok(t),
            format!("template {short}: complete on the server already, reused"),
        ),
        Err(e) => (Err(e), format!("template {short}: failed after {took}")),
    };
    let output = std::mem::take(&mut *output.lock().unwrap_or_else(|e| e.into_inner()));
    let _ = tx.send(Some(Arc::new(Built {
        result,
        output,
        note,
    })));
}

/// A SQLite template: a file of the run's, the init run on it, its journal folded in.
async fn sqlite(
    rc: &RunContext,
    short: &str,
    init: &dbinit::Init,
) -> Result<(Template, bool), String> {
    let dir = rc.tmp.root().join("templates");
    std::fs::create_dir_all(&dir)
        .map_err(|e| format!("failed to create {}: {e}", dir.display()))?;
    let path = dir.join(format!("{short}.sqlite3"));
    init.run(pgtemplate::sqlite_target(&path)).await?;
    let p = path.clone();
    tokio::task::spawn_blocking(move || {
        rusqlite::Connection::open(&p)
            .and_then(|c| c.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)"))
            .map_err(|e| format!("failed to close the template database: {e}"))
    })
    .await
    .map_err(|e| format!("internal error: the SQLite task failed: {e}"))??;
    Ok((Template::Sqlite(path), true))
}
