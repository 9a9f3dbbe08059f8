//! Issue 20, the `received` step: what a mock was sent, judged from its journal. `match`
//! selects requests (none: all); `count` (default: at least one), then each selected request
//! against `json` and `headers`; `order`, the requests matching any of its entries in arrival
//! order; `unexpected`, the requests no route took. A malformed request (one the mock could
//! not read) is never selected: a step that could have selected it fails, and `unexpected`
//! counts it. Each failure is one line, expected against actual, naming the request that
//! broke it.

use crate::config::ReceivedStep;
use crate::mock::{Exchange, ResolvedTarget, judge};
use crate::runner::gate::ctx::GateCtx;
use crate::steps::outcome::Failure;

/// How many requests a message lists.
const LISTED: usize = 5;

pub async fn attempt(ctx: &mut GateCtx, step: &ReceivedStep) -> Result<(), Failure> {
    let name = &step.mock;
    let mock = ctx.mocks.find(name).ok_or_else(|| {
        Failure::Error(format!("no mock `{name}` runs for this gate or its stage"))
    })?;
    // Only what arrived since this attempt began: a stage's mock outlives a failed attempt,
    // whose requests are not this one's. A request the client abandoned is no request: it
    // counts only as unexpected.
    let journal: Vec<Exchange> = mock
        .journal
        .snapshot()
        .into_iter()
        .filter(|e| ctx.mocks.since.is_none_or(|t| e.at >= t))
        .collect();
    let all: Vec<Exchange> = journal
        .iter()
        .filter(|e| e.request.readable())
        .cloned()
        .collect();
    let b = ctx.bindings();
    let resolve = |t| ResolvedTarget::new(t, &ctx.vars).map_err(Failure::Error);
    let target = step.target.as_ref().map(resolve).transpose()?;
    let chosen: Vec<&Exchange> = all
        .iter()
        .filter(|e| {
            target
                .as_ref()
                .is_none_or(|t| t.matches(&e.request.method, &e.request.path))
        })
        .collect();
    let kind = target
        .as_ref()
        .map(|t| format!("{} ", t.shown))
        .unwrap_or_default();
    let order = step
        .order
        .iter()
        .map(resolve)
        .collect::<Result<Vec<_>, _>>()?;
    // A request the mock could not read is judged by nothing: a step that could have
    // selected it fails, naming it (a step asking only `unexpected` counts it there).
    if judges_requests(step) {
        let broken: Vec<&Exchange> = journal
            .iter()
            .filter(|e| e.request.malformed.is_some())
            .filter(|e| {
                let r = &e.request;
                let known = !r.method.is_empty() && !r.path.is_empty();
                let hits = |t: &ResolvedTarget| t.matches(&r.method, &r.path);
                !known || target.as_ref().is_none_or(hits) || order.iter().any(hits)
            })
            .collect();
        if let Some(first) = broken.first() {
            return Err(Failure::Check(format!(
                "expected {kind}requests to mock `{name}` it could read, got {}",
                if broken.len() == 1 {
                    format!("a malformed one: {}", lines(&broken))
                } else {
                    format!("{} malformed, the first: {}", broken.len(), lines(&[first]))
                }
            )));
        }
    }
    match &step.count {
        Some(c) => c
            .check(
                &format!("the number of {kind}requests to mock `{name}`"),
                Some(&serde_json::Value::from(chosen.len())),
                false,
                b,
            )
            .map_err(|e| with_list(Failure::from(e), &chosen))?,
        // Without `count`, at least one request is expected, unless the step asks only
        // `order`, `unexpected` or `gap` of everything the mock was sent (`unexpected: 0`
        // holds for a mock sent nothing).
        None if chosen.is_empty() && implies_one(step) => {
            let got = if all.is_empty() {
                "none".to_owned()
            } else {
                format!("none (it got {})", lines(&all.iter().collect::<Vec<_>>()))
            };
            return Err(Failure::Check(format!(
                "expected a {kind}request to mock `{name}`, got {got}"
            )));
        }
        None => {}
    }
    if !step.each.is_empty() && chosen.is_empty() {
        return Err(Failure::Check(format!(
            "expected at least one {kind}request to mock `{name}` to judge json/headers against, got none"
        )));
    }
    for e in &chosen {
        judge(&step.each, &e.request, b).map_err(|f| match f {
            Failure::Check(m) => Failure::Check(format!(
                "{m} (request #{} to mock `{name}`: {})",
                e.seq,
                line(e)
            )),
            other => other,
        })?;
    }
    if !step.gap.is_empty() {
        if chosen.len() < 2 {
            return Err(Failure::Check(format!(
                "expected at least 2 {kind}requests to mock `{name}` to measure the gap between them, got {}",
                chosen.len()
            )));
        }
        for pair in chosen.windows(2) {
            let gap = pair[1].at.saturating_duration_since(pair[0].at);
            let what = format!("the gap between {kind}requests to mock `{name}`");
            crate::steps::http::measures::within(&what, &step.gap, gap).map_err(|f| match f {
                Failure::Check(m) => {
                    Failure::Check(format!("{m} (#{} → #{})", pair[0].seq, pair[1].seq))
                }
                other => other,
            })?;
        }
    }
    if !step.order.is_empty() {
        let arrived: Vec<&Exchange> = all
            .iter()
            .filter(|e| {
                order
                    .iter()
                    .any(|t| t.matches(&e.request.method, &e.request.path))
            })
            .collect();
        let holds = arrived.len() == order.len()
            && arrived
                .iter()
                .zip(&order)
                .all(|(e, t)| t.matches(&e.request.method, &e.request.path));
        if !holds {
            let want: Vec<&str> = order.iter().map(|t| t.shown.as_str()).collect();
            let got = if arrived.is_empty() {
                "none".to_owned()
            } else {
                lines(&arrived)
            };
            return Err(Failure::Check(format!(
                "expected requests to mock `{name}` in the order {}, got {got}",
                want.join(", ")
            )));
        }
    }
    if let Some(c) = &step.unexpected {
        let stray: Vec<&Exchange> = journal.iter().filter(|e| e.route.is_none()).collect();
        c.check(
            &format!("the number of unexpected requests to mock `{name}` (no route matched)"),
            Some(&serde_json::Value::from(stray.len())),
            false,
            b,
        )
        .map_err(|e| with_list(Failure::from(e), &stray))?;
    }
    Ok(())
}

/// The step judges requests it selects (`match`, `count`, `json`, `headers`, `order`, `gap`,
/// or at least one request), not only how many were unexpected.
fn judges_requests(step: &ReceivedStep) -> bool {
    step.count.is_some() || !step.order.is_empty() || !step.gap.is_empty() || implies_one(step)
}

fn implies_one(step: &ReceivedStep) -> bool {
    let other = !step.order.is_empty() || step.unexpected.is_some() || !step.gap.is_empty();
    step.target.is_some() || !step.each.is_empty() || !other
}

/// A failed count, with the requests it counted.
fn with_list(f: Failure, list: &[&Exchange]) -> Failure {
    match f {
        Failure::Check(m) if !list.is_empty() => Failure::Check(format!("{m}: {}", lines(list))),
        other => other,
    }
}

/// `#1 POST /a, #2 GET /b` (the first few).
fn lines(list: &[&Exchange]) -> String {
    let mut shown: Vec<String> = list
        .iter()
        .take(LISTED)
        .map(|e| match (&e.request.malformed, e.status) {
            (Some(why), Some(s)) => format!("#{} {} → {s}, malformed: {why}", e.seq, line(e)),
            (Some(why), None) => format!("#{} {} → malformed: {why}", e.seq, line(e)),
            (None, Some(s)) => format!("#{} {} → {s}", e.seq, line(e)),
            (None, None) if e.request.incomplete.is_some() => {
                format!("#{} {} → incomplete", e.seq, line(e))
            }
            (None, None) => format!("#{} {} → dropped", e.seq, line(e)),
        })
        .collect();
    if list.len() > LISTED {
        shown.push(format!("… {} more", list.len() - LISTED));
    }
    shown.join(", ")
}

fn line(e: &Exchange) -> String {
    crate::text::one_line(&e.request.line(), 100)
}
