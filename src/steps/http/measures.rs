//! `expect.duration` and `expect.bytes`: the response measured rather than read.

use std::cmp::Ordering;
use std::time::Duration;

use super::response::{BODY_CAP, Received};
use crate::config::{BytesExpect, DurationBound};
use crate::runner::gate::ctx::GateCtx;
use crate::steps::outcome::Failure;

/// Every bound on the time from sending the request (the first, when redirects are followed)
/// to the end of the last response's body.
pub(super) fn duration(bounds: &[DurationBound], took: Duration) -> Result<(), Failure> {
    within("duration", bounds, took)
}

/// Every bound on a time; `what` names it in the message (`duration`, issue 20's `gap`).
pub(crate) fn within(what: &str, bounds: &[DurationBound], took: Duration) -> Result<(), Failure> {
    for b in bounds {
        let holds = match took.cmp(&b.limit) {
            Ordering::Equal => b.or_equal,
            o => o == b.side,
        };
        if !holds {
            let op = match (b.side, b.or_equal) {
                (Ordering::Less, false) => "<",
                (Ordering::Less, true) => "<=",
                (_, false) => ">",
                (_, true) => ">=",
            };
            return Err(Failure::Check(format!(
                "expected {what} {op} {}, got {}",
                b.written,
                show(took, b.limit)
            )));
        }
    }
    Ok(())
}

/// Milliseconds, with microseconds when whole milliseconds would read as the limit itself.
pub(super) fn show(took: Duration, limit: Duration) -> String {
    if took.as_millis() == limit.as_millis() && took != limit {
        format!("{:.3}ms", took.as_secs_f64() * 1000.0)
    } else {
        format!("{}ms", took.as_millis())
    }
}

/// The body's length and sha256, of its bytes as received (after content decoding).
pub(super) fn bytes(
    expect: &BytesExpect,
    received: &Received,
    ctx: &GateCtx,
) -> Result<(), Failure> {
    if expect.count.is_none() && expect.sha256.is_none() {
        return Ok(());
    }
    if received.cut {
        return Err(Failure::Check(format!(
            "expected the body's bytes to be measured, but only the first {} MiB were read",
            BODY_CAP >> 20
        )));
    }
    if let Some(count) = &expect.count {
        count.check(
            "the body's byte count",
            Some(&serde_json::Value::from(received.body.len())),
            false,
            ctx.bindings(),
        )?;
    }
    if let Some(want) = &expect.sha256 {
        let digest = crate::evidence::manifest::digest(&received.body);
        let got = digest.trim_start_matches("sha256:");
        if got != want {
            return Err(Failure::Check(format!(
                "expected the body's sha256 {want}, got {got}"
            )));
        }
    }
    Ok(())
}

/// A capture on the body's text: `body` (all of it) or `/regex/` (its one group).
pub(super) fn text_capture(
    name: &str,
    sel: &str,
    observed: &crate::expect::Observed,
    ctx: &GateCtx,
) -> Result<serde_json::Value, Failure> {
    if sel == "body" {
        if let Some(cut) = &observed.cut {
            return Err(Failure::Check(format!(
                "capture `{name}`: the whole body cannot be captured: {cut}"
            )));
        }
        return Ok(serde_json::Value::String(observed.head.to_owned()));
    }
    crate::steps::run::capture(sel, observed, "the body", &ctx.vars)
        .map(serde_json::Value::String)
        .map_err(|e| match e {
            crate::expect::CheckError::Mismatch(m) => {
                Failure::Check(format!("capture `{name}`: {m}"))
            }
            crate::expect::CheckError::Invalid(m) => {
                Failure::Error(format!("capture `{name}`: {m}"))
            }
        })
}
