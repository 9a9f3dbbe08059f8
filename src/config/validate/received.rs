//! Issue 20: a `received` step: which mock, which of its requests (`match`), and what they
//! must show: `count`, `json` and `headers` (of each), `order`, `unexpected`.

use super::ctx::FileCtx;
use super::http::{headers_expect, json_expect};
use super::kind::Input;
use super::target::target;
use crate::config::model::StepKind;
use crate::config::model::mock::{ReceivedStep, RequestMatch};
use crate::config::raw::{RawCount, Sp};
use crate::expect::value::{ValueCheck, count_check};

pub fn build(ctx: &mut FileCtx, input: Input) -> Option<StepKind> {
    let Input {
        mut raw,
        expect,
        expect_at,
        ..
    } = input;
    let mock = raw.received.take()?;
    if let Some(known) = &ctx.mocks
        && !known.contains(&mock.value)
    {
        let have = if known.is_empty() {
            "this gate has no mocks".to_owned()
        } else {
            format!("its mocks: {}", known.join(", "))
        };
        ctx.error(
            mock.referenced,
            format!("`received` names an unknown mock `{}` ({have})", mock.value),
        );
    }
    let selected = raw
        .r#match
        .take()
        .map(|m| target(ctx, &m.value, m.referenced, "match"));
    let count = expect.count.and_then(|c| count_of(ctx, c, "count"));
    let unexpected = expect
        .unexpected
        .and_then(|c| count_of(ctx, c, "unexpected"));
    let each = RequestMatch {
        json: json_expect(ctx, expect.json, expect_at, "expect.json"),
        headers: headers_expect(ctx, expect.headers, expect_at, "expect.headers"),
        ..RequestMatch::default()
    };
    let mut order = Vec::new();
    if let Some(list) = expect.order {
        if list.value.is_empty() {
            ctx.error(list.referenced, "`expect.order` is empty: list the `METHOD PATH` of the requests in the order they must arrive");
        }
        for entry in list.value {
            order.extend(target(ctx, &entry.value, entry.referenced, "expect.order"));
        }
    }
    let gap = expect
        .gap
        .map(|g| super::http_expect::bounds(ctx, g, "gap"))
        .unwrap_or_default();
    let none = matches!(&count, Some(ValueCheck::Equals(n)) if n.as_u64() == Some(0));
    if none && !each.is_empty() {
        ctx.error(expect_at, "`expect.count: 0` says no request arrives, so `json` and `headers` would hold for nothing: drop them, or expect a count");
    }
    Some(StepKind::Received(Box::new(ReceivedStep {
        mock: mock.value,
        // A `match` written but wrong was reported: the step is not built.
        target: match selected {
            Some(t) => Some(t?),
            None => None,
        },
        count,
        each,
        order,
        unexpected,
        gap,
    })))
}

/// `count: 2`, or `count: { ge: 2 }` (`equals`, `gt`, `ge`, `lt`, `le`).
fn count_of(ctx: &mut FileCtx, raw: Sp<RawCount>, what: &str) -> Option<ValueCheck> {
    let value = match raw.value {
        RawCount::Rows(n) => serde_json::Value::from(n),
        RawCount::Selectors(map) => {
            serde_json::Value::Object(map.0.into_iter().map(|(k, v)| (k, v.value)).collect())
        }
    };
    match count_check(&value) {
        Ok(c) => Some(c),
        Err(e) => {
            ctx.error(
                raw.referenced,
                format!(
                    "expect.{what}: {}",
                    e.replace("`count`", &format!("`{what}`"))
                ),
            );
            None
        }
    }
}
