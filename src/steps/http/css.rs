//! `expect.css`: CSS selectors on an HTML body, parsed as browsers parse it (scraper, on
//! html5ever). An element is its text content, white space as written; `SELECTOR @NAME`
//! reads an attribute instead (elements without it are not selected).

use super::nodes::{Selected, judge, texts};
use crate::config::NodeExpect;
use crate::config::validate::selectors;
use crate::runner::gate::ctx::GateCtx;
use crate::steps::outcome::Failure;

pub(super) fn check(
    ctx: &GateCtx,
    checks: &[(String, NodeExpect)],
    text: &str,
) -> Result<(), Failure> {
    super::nesting::html(text).map_err(|why| {
        Failure::Check(format!(
            "expected an HTML body for expect.css that a check can read, got one with {why}"
        ))
    })?;
    let html = scraper::Html::parse_document(text);
    for (sel, expect) in checks {
        let written = selectors::interpolate(sel, &ctx.vars).map_err(Failure::Error)?;
        let (selector, attribute) = selectors::css(&written).map_err(Failure::Error)?;
        let what = format!("css {sel}");
        let found = html.select(&selector).filter_map(|e| match &attribute {
            Some(name) => e.value().attr(name).map(str::to_owned),
            None => Some(e.text().collect::<String>()),
        });
        let texts = texts(&what, found)?;
        judge(&what, expect, Selected::Nodes(texts), ctx)?;
    }
    Ok(())
}
