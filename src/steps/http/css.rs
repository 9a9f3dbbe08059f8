//! `expect.css`: CSS selectors on an HTML body, parsed as browsers parse it (scraper, on
//! html5ever). An element is its text content, white space as written; `SELECTOR @NAME`
//! reads an attribute instead (elements without it are not selected).

use super::nodes::{Selected, judge, texts};
use crate::config::NodeExpect;
use crate::config::validate::selectors;
use crate::runner::gate::ctx::GateCtx;
use crate::steps::outcome::{Deadline, Failure};

pub(super) async fn check(
    ctx: &GateCtx,
    checks: &[(String, NodeExpect)],
    text: &str,
    deadline: &Deadline,
) -> Result<(), Failure> {
    let mut compiled = Vec::new();
    for (sel, _) in checks {
        let written = selectors::interpolate(sel, &ctx.vars).map_err(Failure::Error)?;
        let (selector, attribute) = selectors::css(&written).map_err(Failure::Error)?;
        compiled.push((format!("css {sel}"), selector, attribute));
    }
    let text = text.to_owned();
    // Parsed and selected off the runtime (`offload`); judged here, in order.
    let selected = super::offload::off_thread(deadline, ctx.cancel.clone(), move || {
        select(&text, &compiled)
    })
    .await??;
    for ((sel, expect), found) in checks.iter().zip(selected) {
        judge(&format!("css {sel}"), expect, Selected::Nodes(found?), ctx)?;
    }
    Ok(())
}

/// Each selector's texts, up to the first that selects too much.
fn select(
    text: &str,
    compiled: &[(String, scraper::Selector, Option<String>)],
) -> Result<Vec<Result<Vec<String>, Failure>>, Failure> {
    super::nesting::html(text).map_err(|why| {
        Failure::Check(format!(
            "expected an HTML body for expect.css that a check can read, got one with {why}"
        ))
    })?;
    let html = scraper::Html::parse_document(text);
    let mut out = Vec::new();
    for (what, selector, attribute) in compiled {
        // A `<template>`'s content is not in the document (as `querySelectorAll` sees it).
        let found = html
            .select(selector)
            .filter(|e| !in_template(e))
            .filter_map(|e| match attribute {
                Some(name) => e.value().attr(name).map(str::to_owned),
                None => Some(e.text().collect::<String>()),
            });
        let texts = texts(what, found);
        let failed = texts.is_err();
        out.push(texts);
        if failed {
            break;
        }
    }
    Ok(out)
}

fn in_template(e: &scraper::ElementRef<'_>) -> bool {
    e.ancestors()
        .filter_map(scraper::ElementRef::wrap)
        .any(|a| a.value().name() == "template")
}
