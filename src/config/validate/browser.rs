//! A `browser` step (issue 19): the page it opens, its actions (each one of `click`, `fill`,
//! `press`, `wait_for`, with a selector of a form Chromium and gaterun both read), what the
//! page must show, `screenshot`, and its captures by selector.

use serde_saphyr::Location;

use super::ctx::{FileCtx, check_template};
use super::kind::Input;
use super::patterns::patterns;
use super::selectors;
use crate::config::model::{
    BrowserAction, BrowserExpect, BrowserStep, NAMED_KEYS, Screenshot, StepKind,
};
use crate::config::raw::{RawAction, RawCount, Sp};
use crate::expect::value::parse::count_check;

pub fn build(ctx: &mut FileCtx, input: Input) -> Option<StepKind> {
    let Input {
        mut raw, expect, ..
    } = input;
    let url = raw.browser.take()?;
    check_template(ctx, url.referenced, &url.value)?;
    if url.value.trim().is_empty() {
        ctx.error(
            url.referenced,
            "`browser` takes the URL to open (absolute, or relative to the page)",
        );
    }
    let actions = raw
        .actions
        .take()
        .map(|list| {
            list.value
                .into_iter()
                .filter_map(|a| action(ctx, a))
                .collect()
        })
        .unwrap_or_default();
    let screenshot = match raw.screenshot.take() {
        Some(s) => Screenshot::parse(&s.value).unwrap_or_else(|| {
            ctx.error(
                s.referenced,
                format!(
                    "`screenshot` is one of {}, got `{}`",
                    Screenshot::NAMES.join(", "),
                    s.value
                ),
            );
            Screenshot::default()
        }),
        None => Screenshot::default(),
    };
    let mut visible = Vec::new();
    if let Some(list) = expect.visible {
        for sel in list.value.0 {
            let bare = sel.strip_prefix('!').unwrap_or(&sel);
            if let Some(()) = selector(ctx, list.referenced, bare, "expect.visible") {
                visible.push(sel);
            }
        }
    }
    let mut count = Vec::new();
    match expect.count {
        Some(Sp {
            value: RawCount::Selectors(map),
            ..
        }) => {
            for (sel, n) in map.0 {
                if selector(ctx, n.referenced, &sel, "expect.count").is_none() {
                    continue;
                }
                match count_check(&n.value) {
                    Ok(check) => count.push((sel, check)),
                    Err(e) => ctx.error(n.referenced, format!("expect.count.{sel}: {e}")),
                }
            }
        }
        Some(Sp { referenced, .. }) => ctx.error(
            referenced,
            "`count` of a `browser` step maps selectors to counts: `count: { \"li\": 3 }`",
        ),
        None => {}
    }
    let console_errors = expect.console_errors.and_then(|n| {
        count_check(&n.value)
            .map_err(|e| {
                let e = e.replace("`count`", "`console_errors`");
                ctx.error(n.referenced, format!("expect.console_errors: {e}"))
            })
            .ok()
    });
    let expect = BrowserExpect {
        title: patterns(ctx, expect.title),
        url: patterns(ctx, expect.url),
        text: patterns(ctx, expect.text),
        visible,
        count,
        console_errors,
    };
    Some(StepKind::Browser(Box::new(BrowserStep {
        url: url.value,
        actions,
        expect,
        screenshot,
    })))
}

/// One action: exactly one of its keys, with a selector (or key) of a form the step reads.
fn action(ctx: &mut FileCtx, raw: Sp<RawAction>) -> Option<BrowserAction> {
    let at = raw.referenced;
    let RawAction {
        click,
        fill,
        press,
        wait_for,
    } = raw.value;
    let given = [
        click.as_ref().map(|_| "click"),
        fill.as_ref().map(|_| "fill"),
        press.as_ref().map(|_| "press"),
        wait_for.as_ref().map(|_| "wait_for"),
    ];
    let given: Vec<&str> = given.into_iter().flatten().collect();
    match given.as_slice() {
        [] => {
            ctx.error(
                at,
                "an action is one of `click`, `fill`, `press`, `wait_for`",
            );
            return None;
        }
        [_] => {}
        [a, b, ..] => {
            ctx.error(
                at,
                format!(
                    "an action does one thing, this one has both `{a}` and `{b}`: write two actions"
                ),
            );
            return None;
        }
    }
    if let Some(sel) = click {
        selector(ctx, sel.referenced, &sel.value, "click")?;
        return Some(BrowserAction::Click(sel.value));
    }
    if let Some(sel) = wait_for {
        selector(ctx, sel.referenced, &sel.value, "wait_for")?;
        return Some(BrowserAction::WaitFor(sel.value));
    }
    if let Some(key) = press {
        check_template(ctx, key.referenced, &key.value)?;
        if !(NAMED_KEYS.contains(&key.value.as_str()) || key.value.chars().count() == 1) {
            ctx.error(
                key.referenced,
                format!(
                    "`press` takes one character or a key name ({}), got `{}`",
                    NAMED_KEYS.join(", "),
                    key.value
                ),
            );
            return None;
        }
        return Some(BrowserAction::Press(key.value));
    }
    let fill = fill?;
    if fill.value.0.is_empty() {
        ctx.error(
            fill.referenced,
            "`fill` maps selectors to the text they get: `fill: { \"#title\": \"write docs\" }`",
        );
        return None;
    }
    let mut pairs = Vec::new();
    for (sel, text) in fill.value.0 {
        selector(ctx, text.referenced, &sel, "fill")?;
        check_template(ctx, text.referenced, &text.value.0)?;
        pairs.push((sel, text.value.0));
    }
    Some(BrowserAction::Fill(pairs))
}

/// A selector of a page's element, its problem reported where it stands.
fn selector(ctx: &mut FileCtx, at: Location, sel: &str, what: &str) -> Option<()> {
    check_template(ctx, at, sel)?;
    match selectors::page(sel) {
        Ok(()) => Some(()),
        Err(e) => {
            ctx.error(at, format!("{what}: {e}"));
            None
        }
    }
}

/// A `browser` capture: `SELECTOR` (the element's visible text) or `SELECTOR @NAME` (its
/// attribute), of the first element it matches.
pub fn capture(sel: &str) -> Result<(), String> {
    if sel.starts_with("text=") {
        return selectors::page(sel);
    }
    selectors::css(sel).map(|_| ())
}
