//! The tracker integration, inbound: `POST /webhooks/tracker`, signed by the tracker with
//! HMAC-SHA256 under `TRACKER_WEBHOOK_SECRET` over the body as sent
//! (`X-Hub-Signature-256: sha256=<hex>`), each delivery named by `X-Tracker-Delivery`.
//! No session is needed (the tracker has none); the signature is the credential: a missing or
//! bad one is 401 and changes nothing. A delivery already applied is answered 200
//! `{"duplicate": true}` and applied no second time (the check and the effect share one
//! transaction).
//!
//! Actions: `blocked` (`task_id`, `reason`) raises an escalation on the task, which blocks its
//! moves; `unblocked` (`task_id`) resolves the task's open escalations.
//!
//! Faults (`TASKAPI_FAULT`): `webhook-unsigned-accepted` (a delivery without a signature is
//! applied), `webhook-replay-accepted` (a replay is applied again).

use hmac::{Hmac, KeyInit, Mac};
use rusqlite::{OptionalExtension, TransactionBehavior, params};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::api::fault;
use crate::db;
use crate::http::{Request, Response};

pub fn secret_set() -> bool {
    std::env::var("TRACKER_WEBHOOK_SECRET").is_ok_and(|s| !s.is_empty())
}

pub fn receive(req: &Request) -> Response {
    let secret = std::env::var("TRACKER_WEBHOOK_SECRET").unwrap_or_default();
    if secret.is_empty() {
        return Response::error(503, "webhooks are not configured (TRACKER_WEBHOOK_SECRET)");
    }
    match req.header("x-hub-signature-256") {
        None if fault("webhook-unsigned-accepted") => {}
        None => return Response::error(401, "missing signature"),
        Some(sig) if !verify(secret.as_bytes(), &req.body, sig) => {
            return Response::error(401, "bad signature");
        }
        Some(_) => {}
    }
    let Some(delivery) = req.header("x-tracker-delivery").filter(|d| !d.is_empty()) else {
        return Response::error(400, "missing X-Tracker-Delivery");
    };
    let body: Value = match serde_json::from_slice(&req.body) {
        Ok(v) => v,
        Err(e) => return Response::error(400, format!("the body is not JSON: {e}")),
    };
    apply(delivery, &body).unwrap_or_else(|e| Response::error(500, e.to_string()))
}

/// `sha256=<hex>` of the body under the key, compared in constant time.
fn verify(key: &[u8], body: &[u8], header: &str) -> bool {
    let Some(bytes) = header.trim().strip_prefix("sha256=").and_then(unhex) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&bytes).is_ok()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

fn apply(delivery: &str, body: &Value) -> Result<Response, String> {
    let action = body["action"].as_str().unwrap_or("");
    let task = body["task_id"]
        .as_i64()
        .or_else(|| body["task_id"].as_str()?.parse().ok());
    let mut conn = db::open()?;
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|e| e.to_string())?;
    let seen: Option<String> = tx
        .query_row(
            "SELECT delivery_id FROM webhook_deliveries WHERE delivery_id = ?1",
            [delivery],
            |r| r.get(0),
        )
        .optional()
        .map_err(|e| e.to_string())?;
    if seen.is_some() && !fault("webhook-replay-accepted") {
        println!("webhook delivery {delivery} replayed: ignored");
        return Ok(Response::json(
            200,
            json!({ "delivery": delivery, "duplicate": true }),
        ));
    }
    let Some(task) = task.filter(|t| db::task_json(&tx, *t).ok().flatten().is_some()) else {
        return Ok(Response::error(422, "the delivery names no known task_id"));
    };
    let effect = match action {
        "blocked" => {
            let reason = body["reason"].as_str().unwrap_or("blocked in the tracker");
            let eid = db::next_id(&tx, "escalations").map_err(|e| e.to_string())?;
            tx.execute(
                "INSERT INTO escalations (id, task_id, reason, state, created_at) VALUES (?1, ?2, ?3, 'open', ?4)",
                params![eid, task, reason, db::now_text()],
            )
            .map_err(|e| e.to_string())?;
            json!({ "escalation": eid })
        }
        "unblocked" => {
            let n = tx
                .execute(
                    "UPDATE escalations SET state = 'resolved' WHERE task_id = ?1 AND state = 'open'",
                    [task],
                )
                .map_err(|e| e.to_string())?;
            json!({ "resolved": n })
        }
        other => {
            return Ok(Response::error(
                422,
                format!("unknown action `{other}`: blocked or unblocked"),
            ));
        }
    };
    tx.execute(
        "INSERT OR REPLACE INTO webhook_deliveries (delivery_id, action, task_id, received_at) VALUES (?1, ?2, ?3, ?4)",
        params![delivery, action, task, db::now_text()],
    )
    .map_err(|e| e.to_string())?;
    tx.commit().map_err(|e| e.to_string())?;
    println!("webhook delivery {delivery}: {action} task {task}");
    Ok(Response::json(
        202,
        json!({ "delivery": delivery, "action": action, "task_id": task, "effect": effect }),
    ))
}
