//! The tracker integration, outbound (the method's Phase 3): when a task is done, the tracker
//! at `TRACKER_URL` is told, `POST {TRACKER_URL}/v1/tasks/{id}/events`, with
//! `Authorization: Bearer $TRACKER_TOKEN` and an `Idempotency-Key`.
//!
//! The notification is an outbox row written in the transaction of the move to done (no move
//! without its notification, no notification without its move); a delivery loop in `serve`
//! sends due rows one at a time. A 2xx delivers it, keeping the tracker's `id` and its
//! `usage` (`input_tokens`, `output_tokens`, `cost_usd`) as the call's cost. A 408, 429, 5xx,
//! a dropped connection or a timeout is retried with exponential backoff
//! (`TASKAPI_BACKOFF_MS` × 2^(n−1)), never sooner than a `Retry-After` of N seconds asks; any
//! other answer, or `TASKAPI_NOTIFY_ATTEMPTS` tries (default 5), dead-letters it. A dead letter
//! is retried by hand: `POST /notifications/{id}/retry`.
//!
//! Faults (`TASKAPI_FAULT`): `retry-ignores-retry-after`, `notify-twice` (sends a delivered
//! notification again), `notify-without-auth` (no `Authorization`).

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::{Value, json};

use crate::api::fault;
use crate::db;

/// The tracker's base URL, without a trailing `/`; `None`: the integration is off.
pub fn url() -> Option<String> {
    std::env::var("TRACKER_URL")
        .ok()
        .map(|u| u.trim().trim_end_matches('/').to_owned())
        .filter(|u| !u.is_empty())
}

fn env_i64(name: &str, default: i64) -> i64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

pub fn max_attempts() -> i64 {
    env_i64("TASKAPI_NOTIFY_ATTEMPTS", 5).max(1)
}

pub fn backoff_base_ms() -> i64 {
    env_i64("TASKAPI_BACKOFF_MS", 100).max(0)
}

/// Queue the tracker's notification of `event` on `task`, in the caller's transaction; nothing
/// when the integration is off.
pub fn enqueue(conn: &Connection, task: i64, event: &str) -> rusqlite::Result<()> {
    if url().is_none() {
        return Ok(());
    }
    let id = db::next_id(conn, "notifications")?;
    conn.execute(
        "INSERT INTO notifications (id, task_id, event, idempotency_key, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![id, task, event, format!("task-{task}-{event}"), db::now_text()],
    )?;
    Ok(())
}

/// Starts the delivery loop when the integration is on.
pub fn start() {
    let Some(base) = url() else { return };
    println!("tracker notifications go to {base}");
    std::thread::spawn(move || {
        loop {
            match db::open().and_then(|conn| deliver_due(&conn, &base)) {
                Ok(true) => continue,
                Ok(false) => {}
                Err(e) => eprintln!("tracker delivery: {e}"),
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    });
}

/// One due notification sent, if there is one.
fn deliver_due(conn: &Connection, base: &str) -> Result<bool, String> {
    let now = db::now_ms();
    let due: Option<(i64, i64, String, String, i64)> = conn
        .query_row(
            "UPDATE notifications SET attempts = attempts + 1
             WHERE id = (SELECT id FROM notifications WHERE state = 'pending' AND next_at <= ?1 ORDER BY id LIMIT 1)
             RETURNING id, task_id, event, idempotency_key, attempts",
            [now],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .optional()
        .map_err(|e| e.to_string())?;
    let Some((id, task, event, key, attempts)) = due else {
        return Ok(false);
    };
    let title: String = conn
        .query_row("SELECT title FROM tasks WHERE id = ?1", [task], |r| {
            r.get(0)
        })
        .map_err(|e| e.to_string())?;
    let body = json!({
        "event": format!("task.{event}"),
        "task": { "id": task, "title": title, "state": event },
        "idempotency_key": key,
    })
    .to_string();
    let target = format!("{base}/v1/tasks/{task}/events");
    let mut headers = vec![
        ("Content-Type", "application/json".to_owned()),
        ("Idempotency-Key", key.clone()),
        (
            "User-Agent",
            format!("taskapi/{}", env!("CARGO_PKG_VERSION")),
        ),
    ];
    if let Ok(token) = std::env::var("TRACKER_TOKEN")
        && !fault("notify-without-auth")
    {
        headers.push(("Authorization", format!("Bearer {token}")));
    }
    let reply = post(&target, &headers, &body);
    let status = reply.as_ref().map(|r| r.status).ok();
    let set = |state: &str, next_at: i64, error: Option<String>| {
        conn.execute(
            "UPDATE notifications SET state = ?1, next_at = ?2, last_status = ?3, last_error = ?4 WHERE id = ?5",
            params![state, next_at, status, error, id],
        )
        .map_err(|e| e.to_string())
    };
    match reply {
        Ok(r) if (200..300).contains(&r.status) => {
            delivered(conn, id, task, &r.body)?;
            println!("notification {id} (task {task}) delivered: {}", r.status);
            if fault("notify-twice") {
                let _ = post(&target, &headers, &body);
            }
        }
        Ok(r) if !retryable(r.status) => {
            let error = format!("the tracker refused it: {}", r.status);
            println!("notification {id} dead: {error}");
            set("dead", 0, Some(error))?;
        }
        result => {
            let (error, wait) = match &result {
                Ok(r) => (
                    format!("the tracker answered {}", r.status),
                    retry_after_ms(r),
                ),
                Err(e) => (e.clone(), None),
            };
            if attempts >= max_attempts() {
                println!("notification {id} dead after {attempts} attempts: {error}");
                set("dead", 0, Some(error))?;
            } else {
                let backoff = backoff_base_ms() * (1 << (attempts - 1).clamp(0, 10));
                let wait = match wait {
                    Some(w) if !fault("retry-ignores-retry-after") => w.max(backoff),
                    _ => backoff,
                };
                println!(
                    "notification {id} attempt {attempts} failed ({error}); next in {wait} ms"
                );
                set("pending", db::now_ms() + wait, Some(error))?;
            }
        }
    }
    Ok(true)
}

/// 2xx: the tracker's id and what the call cost, from its `usage`.
fn delivered(conn: &Connection, id: i64, task: i64, body: &[u8]) -> Result<(), String> {
    let v: Value = serde_json::from_slice(body).unwrap_or_default();
    let external = match &v["id"] {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    conn.execute(
        "UPDATE notifications SET state = 'delivered', external_id = ?1, last_status = 200, last_error = NULL WHERE id = ?2",
        params![external, id],
    )
    .map_err(|e| e.to_string())?;
    let usage = &v["usage"];
    if usage.is_object() {
        let int = |k: &str| usage[k].as_i64().unwrap_or(0);
        let micros = (usage["cost_usd"].as_f64().unwrap_or(0.0) * 1e6).round() as i64;
        let uid = db::next_id(conn, "api_usage").map_err(|e| e.to_string())?;
        conn.execute(
            "INSERT INTO api_usage (id, notification_id, task_id, input_tokens, output_tokens, cost_micros, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![uid, id, task, int("input_tokens"), int("output_tokens"), micros, db::now_text()],
        )
        .map_err(|e| e.to_string())?;
    }
    Ok(())
}

fn retryable(status: u16) -> bool {
    status == 408 || status == 429 || status >= 500
}

/// `Retry-After: N` (seconds, at most an hour). An HTTP date is not read: the backoff applies.
fn retry_after_ms(r: &Reply) -> Option<i64> {
    let v = r
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("retry-after"))?;
    let secs: i64 = v.1.trim().parse().ok()?;
    Some(secs.clamp(0, 3600) * 1000)
}

pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// One HTTP/1.1 POST over plain TCP, `Connection: close`, 5 s to connect and for each read.
fn post(url: &str, headers: &[(&str, String)], body: &str) -> Result<Reply, String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("the tracker URL must be http://, got {url}"))?;
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let addr = host
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {host}: {e}"))?
        .next()
        .ok_or_else(|| format!("cannot resolve {host}"))?;
    let timeout = Duration::from_secs(5);
    let mut stream = TcpStream::connect_timeout(&addr, timeout)
        .map_err(|e| format!("cannot connect to the tracker: {e}"))?;
    stream.set_read_timeout(Some(timeout)).ok();
    stream.set_write_timeout(Some(timeout)).ok();
    let mut head = format!(
        "POST {} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {}\r\nConnection: close\r\n",
        if path.is_empty() { "/" } else { path },
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream
        .write_all(head.as_bytes())
        .and_then(|()| stream.write_all(body.as_bytes()))
        .map_err(|e| format!("failed to send to the tracker: {e}"))?;
    read_reply(&mut std::io::BufReader::new(stream))
        .map_err(|e| format!("failed to read the tracker's answer: {e}"))?
}

/// The answer: its head, then a body of `Content-Length` bytes, chunked, or up to the close
/// (a server that keeps the connection open despite `Connection: close` is still read right).
fn read_reply(r: &mut impl std::io::BufRead) -> std::io::Result<Result<Reply, String>> {
    let mut line = String::new();
    if r.read_line(&mut line)? == 0 {
        return Ok(Err(
            "the tracker closed the connection without an answer".to_owned()
        ));
    }
    let Some(status) = line.split_whitespace().nth(1).and_then(|s| s.parse().ok()) else {
        return Ok(Err(format!(
            "the tracker's answer has no status: {}",
            line.trim()
        )));
    };
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if r.read_line(&mut h)? == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((n, v)) = h.split_once(':') {
            headers.push((n.trim().to_owned(), v.trim().to_owned()));
        }
    }
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _): &&(String, String)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.to_ascii_lowercase())
    };
    let mut body = Vec::new();
    if let Some(len) = header("content-length").and_then(|v| v.parse::<usize>().ok()) {
        body.resize(len.min(1 << 20), 0);
        r.read_exact(&mut body)?;
    } else if header("transfer-encoding").is_some_and(|t| t.contains("chunked")) {
        loop {
            let mut size = String::new();
            r.read_line(&mut size)?;
            let n =
                usize::from_str_radix(size.trim().split(';').next().unwrap_or(""), 16).unwrap_or(0);
            if n == 0 || body.len() > 1 << 20 {
                break;
            }
            let mut chunk = vec![0; n + 2];
            r.read_exact(&mut chunk)?;
            body.extend_from_slice(&chunk[..n]);
        }
    } else {
        r.take(1 << 20).read_to_end(&mut body)?;
    }
    Ok(Ok(Reply {
        status,
        headers,
        body,
    }))
}
