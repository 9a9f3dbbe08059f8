//! `screenshot:` the page as the step left it, kept as `NN.png` (NN: the gate's step number)
//! for the evidence (`logs/<gate>/NN.png`): after a step that did not pass (`on_failure`, the
//! default), after every step (`always`), or never.

use std::time::Duration;

use base64::Engine;
use serde_json::json;

use super::script::plain_state;
use super::session::Page;
use crate::config::Screenshot;
use crate::runner::gate::ctx::GateCtx;
use crate::steps::outcome::Failure;

/// After a `browser` step's last attempt: keep the page's picture if the step asks for it.
pub async fn after(ctx: &mut GateCtx, screenshot: Screenshot, outcome: &Result<(), Failure>) {
    let wanted = match screenshot {
        Screenshot::Always => !matches!(outcome, Err(Failure::Interrupted)),
        Screenshot::OnFailure => matches!(outcome, Err(f) if !matches!(f, Failure::Interrupted)),
        Screenshot::Never => false,
    };
    let Some(page) = ctx.browser.current().filter(|_| wanted) else {
        return;
    };
    if let Some(why) = shows_a_secret(page, ctx.browser.secrets.iter().chain(&ctx.secrets)).await {
        ctx.log_line(&format!("[page] no screenshot: {why}"));
        return;
    }
    let shot = page.browser.conn.call(
        "Page.captureScreenshot",
        json!({ "format": "png" }),
        Some(&page.session),
    );
    let data = match tokio::time::timeout(Duration::from_secs(5), shot).await {
        Ok(Ok(v)) => base64::engine::general_purpose::STANDARD
            .decode(v["data"].as_str().unwrap_or_default())
            .map_err(|e| e.to_string()),
        Ok(Err(e)) => Err(e),
        Err(_) => Err("no picture within 5s".to_owned()),
    };
    let png = match data {
        Ok(png) => png,
        Err(e) => {
            ctx.log_line(&format!("[page] no screenshot: {e}"));
            return;
        }
    };
    let base = format!("{:02}", ctx.browser.step);
    let taken = |n: &str| ctx.browser.shots.iter().any(|(s, _)| s == n);
    let mut name = format!("{base}.png");
    let mut k = 2;
    while taken(&name) {
        name = format!("{base}-{k}.png");
        k += 1;
    }
    ctx.log_line(&format!("[page] screenshot {name}"));
    ctx.browser.shots.push((name, png));
}

/// Why not to photograph the page: its title, URL or text shows a secret (in any letter
/// case), or what it shows could not be read.
async fn shows_a_secret<'a>(
    page: &Page,
    secrets: impl Iterator<Item = &'a String>,
) -> Option<String> {
    let secrets: Vec<String> = secrets
        .filter(|s| !s.is_empty())
        .flat_map(|s| crate::mask::forms(s))
        .map(|f| f.to_lowercase())
        .collect();
    if secrets.is_empty() {
        return None;
    }
    let state = match tokio::time::timeout(Duration::from_secs(5), plain_state(page)).await {
        Ok(Ok(state)) => state,
        _ => return Some("what the page shows could not be read to rule out a secret".into()),
    };
    let shown = ["title", "url", "text"]
        .iter()
        .map(|k| state[*k].as_str().unwrap_or_default().to_lowercase())
        .collect::<Vec<_>>()
        .join("\n");
    let cut = state["textCut"] == true;
    if secrets.iter().any(|s| shown.contains(s.as_str())) {
        Some("the page shows a secret".into())
    } else if cut {
        Some("the page's text is too long to rule out a secret".into())
    } else {
        None
    }
}
