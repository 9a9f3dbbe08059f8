//! The worker: claims a job with a lease (a worker killed mid-job loses its claim when the lease
//! runs out, and the job runs again), retries with exponential backoff, dead-letters a job after
//! three attempts.
//!
//! Job kinds: `summarize` succeeds; `flaky-N` fails its first N attempts; `slow-MS` takes MS
//! milliseconds; `fail` always fails.

use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, params};

use crate::db;

const MAX_ATTEMPTS: i64 = 3;

fn lease_ms() -> i64 {
    std::env::var("TASKAPI_LEASE_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5_000)
}

fn backoff_ms(attempts: i64) -> i64 {
    let base: i64 = std::env::var("TASKAPI_BACKOFF_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    base * (1 << (attempts - 1).clamp(0, 10))
}

/// Claim one due job: queued and due, or running with an expired lease. Atomic: two workers
/// never claim the same job.
fn claim(conn: &Connection) -> rusqlite::Result<Option<(i64, i64, String, i64)>> {
    let now = db::now_ms();
    conn.query_row(
        "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_until = ?1
         WHERE id = (SELECT id FROM jobs
                     WHERE (state = 'queued' AND run_after <= ?2) OR (state = 'running' AND lease_until < ?2)
                     ORDER BY id LIMIT 1)
         RETURNING id, task_id, kind, attempts",
        params![now + lease_ms(), now],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    )
    .optional()
}

fn work(task: i64, kind: &str, attempts: i64) -> Result<String, String> {
    if kind == "summarize" {
        return Ok(format!("summary of task {task}"));
    }
    if let Some(n) = kind
        .strip_prefix("flaky-")
        .and_then(|n| n.parse::<i64>().ok())
    {
        return if attempts <= n {
            Err(format!("attempt {attempts} failed on purpose"))
        } else {
            Ok("done after retries".to_owned())
        };
    }
    if let Some(ms) = kind
        .strip_prefix("slow-")
        .and_then(|n| n.parse::<u64>().ok())
    {
        std::thread::sleep(Duration::from_millis(ms));
        return Ok(format!("slow work of {ms} ms"));
    }
    Err(format!("cannot do a `{kind}` job"))
}

pub fn run(once: bool) -> Result<(), String> {
    let conn = db::open()?;
    println!("taskapi worker started");
    loop {
        match claim(&conn).map_err(|e| e.to_string())? {
            Some((id, task, kind, attempts)) => {
                println!("job {id} ({kind}) attempt {attempts}");
                match work(task, &kind, attempts) {
                    Ok(result) => {
                        conn.execute("UPDATE jobs SET state = 'done', result = ?1, last_error = NULL WHERE id = ?2", params![result, id])
                            .map_err(|e| e.to_string())?;
                        println!("job {id} done");
                    }
                    Err(error) if attempts >= MAX_ATTEMPTS => {
                        conn.execute(
                            "UPDATE jobs SET state = 'dead', last_error = ?1 WHERE id = ?2",
                            params![error, id],
                        )
                        .map_err(|e| e.to_string())?;
                        println!("job {id} dead after {attempts} attempts: {error}");
                    }
                    Err(error) => {
                        let after = db::now_ms() + backoff_ms(attempts);
                        conn.execute(
                            "UPDATE jobs SET state = 'queued', run_after = ?1, last_error = ?2 WHERE id = ?3",
                            params![after, error, id],
                        )
                        .map_err(|e| e.to_string())?;
                        println!("job {id} failed, retrying: {error}");
                    }
                }
            }
            None => {
                let pending: i64 = conn
                    .query_row(
                        "SELECT count(*) FROM jobs WHERE state IN ('queued', 'running')",
                        [],
                        |r| r.get(0),
                    )
                    .map_err(|e| e.to_string())?;
                if once && pending == 0 {
                    return Ok(());
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
}
