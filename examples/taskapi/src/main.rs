//! taskapi: gaterun's pilot, a small backend in the shape of the method's Phase 1 — tasks with a
//! state machine and an audit trail, escalations that block progress, a cost policy, a job
//! queue with a worker, and an evidence endpoint. SQLite, plain HTTP/1.1 on std.
//!
//!   taskapi migrate          apply migrations (idempotent)
//!   taskapi serve            HTTP on 127.0.0.1:$PORT (migrates first)
//!   taskapi worker [--once]  process jobs; --once stops when none is left
//!
//! `serve` also serves the UI under `/ui/` (the method's Phase 2). `TASKAPI_USERS=user:pw,…`
//! turns authentication on (src/auth.rs).
//!
//! `TASKAPI_FAULT=allow-invalid-transitions` switches the transition rule off, and
//! `TASKAPI_FAULT=ui-stale-list` or `ui-console-error` breaks one UI behaviour (src/ui.rs), and
//! `api-without-session` lets API reads through without a session (src/auth.rs), so gaterun's
//! tests can show that the right gate catches it.
//!
//! Phase 3: `TRACKER_URL` turns on the tracker integration — a done task is notified to the
//! tracker with retries and a dead letter (src/tracker.rs), the tracker's signed webhooks
//! block and unblock tasks (src/webhook.rs), and the API shows both (src/integration.rs); its
//! faults are listed in those files.

mod api;
mod auth;
mod db;
mod http;
mod integration;
mod tracker;
mod ui;
mod webhook;
mod worker;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("migrate") => migrate(),
        Some("serve") | None => serve(),
        Some("worker") => worker::run(args.iter().any(|a| a == "--once")),
        Some("version" | "--version") => {
            println!("taskapi {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        Some(other) => Err(format!(
            "unknown command `{other}`: use migrate, serve or worker"
        )),
    };
    if let Err(e) = result {
        eprintln!("taskapi: {e}");
        std::process::exit(1);
    }
}

fn migrate() -> Result<(), String> {
    let mut conn = db::open()?;
    let (applied, version) = db::migrate(&mut conn)?;
    if applied == 0 {
        println!("up to date at version {version}");
    } else {
        println!("applied {applied} migrations, now at version {version}");
    }
    Ok(())
}

fn serve() -> Result<(), String> {
    let mut conn = db::open()?;
    db::migrate(&mut conn)?;
    drop(conn);
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(8080);
    let listener = std::net::TcpListener::bind(("127.0.0.1", port))
        .map_err(|e| format!("failed to listen on port {port}: {e}"))?;
    println!("taskapi listening on 127.0.0.1:{port}");
    tracker::start();
    http::serve(listener, route)
}

/// Who may ask is decided first; then the login routes, the UI's pages, and the API.
fn route(req: &http::Request) -> http::Response {
    if let Some(refused) = auth::refuse(req) {
        return refused;
    }
    match (req.method.as_str(), req.path.as_str()) {
        ("POST", "/login") => auth::login(req),
        ("POST", "/logout") => auth::logout(req),
        // A browser asks for it on its own; no icon is no error.
        ("POST", "/webhooks/tracker") => webhook::receive(req),
        ("GET", "/favicon.ico") => http::Response::of(204, "image/x-icon", String::new()),
        (_, path) if path == "/ui" || path.starts_with("/ui/") => ui::page(req),
        _ => api::handle(req),
    }
}
