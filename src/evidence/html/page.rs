//! The page: one HTML file with its CSS inline, no script, and a Content-Security-Policy that
//! lets nothing in it fetch anything but images of its own directory tree (the screenshots)
//! and `data:` — no style sheet, font, frame, form or request elsewhere. Each phase is a row of
//! its stages 0–10 coloured by status, then each stage that ran: its gates with their time,
//! pass-rate sparkline and failure, its duration trend, the masked log tail of each gate that
//! did not pass, and its screenshots.

use std::fmt::Write;

use super::escape::{href, line, text};
use super::gather::{Phase, StageView, failed};
use super::svg::{sparkline, trend};
use crate::evidence::markdown::ms;
use crate::results::{GateResult, StageResult, Status};

/// The policy: nothing may load but inline style and images from the page's own tree or
/// `data:`; no base URL, no form target.
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; form-action 'none'";

/// Characters of a failure message in a gate's row.
const MESSAGE_CAP: usize = 300;

const STYLE: &str = "
body{font:14px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1200px;padding:1rem 1.5rem;color:#1f2328;background:#fff}
h1{font-size:1.5rem;margin:.2rem 0}h2{margin:1.6rem 0 .4rem}h3{margin:1.2rem 0 .3rem;font-size:1.1rem}
.meta{color:#59636e}
ol.stage-row{display:flex;flex-wrap:wrap;gap:4px;list-style:none;padding:0;margin:.4rem 0}
li.stage{min-width:4.5rem;padding:.35rem .5rem;border-radius:4px;color:#fff;text-align:center}
li.stage a{color:inherit;text-decoration:none;display:block}
li.stage .k{font-weight:700;font-size:1.05rem;display:block}li.stage .s{font-size:.75rem}
.passed{background:#1a7f37}.failed{background:#cf222e}.error{background:#bc4c00}
.interrupted{background:#9a6700}.blocked{background:#6e40c9}.not-run{background:#d1d9e0;color:#59636e!important}
.badge{display:inline-block;padding:0 .4rem;border-radius:3px;color:#fff;font-size:.8rem;vertical-align:middle}
table{border-collapse:collapse;width:100%;margin:.4rem 0}
th,td{border-bottom:1px solid #d1d9e0;padding:.25rem .4rem;text-align:left;vertical-align:top}
td.t{white-space:nowrap;font-variant-numeric:tabular-nums}
code,pre{font:12.5px/1.4 ui-monospace,monospace}
pre{background:#f6f8fa;border:1px solid #d1d9e0;padding:.5rem;overflow:auto;max-height:28rem;white-space:pre-wrap;word-break:break-all}
svg.spark,svg.trend{vertical-align:middle;background:#f6f8fa;border-radius:2px}
svg .line{fill:none;stroke:#59636e;stroke-width:1}
svg .ok{fill:#1a7f37}svg .bad{fill:#cf222e}svg .last{fill:#0969da}
figure{display:inline-block;margin:.3rem .6rem .3rem 0}figure img{max-width:560px;border:1px solid #d1d9e0}
figcaption{font-size:.8rem;color:#59636e}
";

/// The whole page. `now`: when it was written.
pub fn render(phases: &[Phase], now: &str) -> String {
    let mut o = String::with_capacity(64 * 1024);
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">\n<meta name=\"referrer\" content=\"no-referrer\">\n<meta name=\"viewport\" content=\"width=device-width\">\n<title>gaterun evidence</title><style>{STYLE}</style></head><body>\n"
    );
    let _ = writeln!(
        o,
        "<h1>gaterun evidence</h1><p class=\"meta\">Every phase of this evidence directory, written {} by gaterun {}. Logs, results and screenshots are beside this page.</p>",
        text(now),
        crate::about::VERSION
    );
    if phases.is_empty() {
        o.push_str("<p>No stage has run yet.</p>\n");
    }
    for p in phases {
        phase(&mut o, p);
    }
    o.push_str("</body></html>\n");
    o
}

fn class(s: Option<Status>) -> &'static str {
    match s {
        None => "not-run",
        Some(Status::Skipped) => "not-run",
        Some(s) => s.as_str(),
    }
}

fn word(s: Option<Status>) -> &'static str {
    match s {
        None => "not run",
        Some(s) => s.as_str(),
    }
}

fn anchor(phase: u32, s: &StageView) -> String {
    format!("p{phase}-{}", s.key.dir_name())
}

fn phase(o: &mut String, p: &Phase) {
    let _ = writeln!(
        o,
        "<section class=\"phase\" id=\"phase-{0}\"><h2>Phase {0}</h2>\n<ol class=\"stage-row\">",
        p.phase
    );
    for s in &p.stages {
        let st = s.status();
        let partial = s.result.is_none() && s.partial.is_some();
        let _ = writeln!(
            o,
            "<li class=\"stage {}\" title=\"stage {} {}{}\"><a href=\"#{}\"><span class=\"k\">{}</span><span class=\"s\">{}{}</span></a></li>",
            class(st),
            s.key,
            word(st),
            if partial { " (partial run)" } else { "" },
            anchor(p.phase, s),
            s.key,
            word(st),
            if partial { " ·partial" } else { "" },
        );
    }
    o.push_str("</ol>\n");
    for s in &p.stages {
        stage(o, p.phase, s);
    }
    o.push_str("</section>\n");
}

/// A stage's section; none for a stage never run (the row says so).
fn stage(o: &mut String, phase: u32, s: &StageView) {
    let st = s.status();
    if st.is_none() {
        return;
    }
    let name = s
        .result
        .as_ref()
        .or(s.partial.as_ref())
        .map(|r| format!(" — {}", line(&r.name, 200)))
        .unwrap_or_default();
    let _ = writeln!(
        o,
        "<section class=\"stage-detail\" id=\"{}\"><h3>Stage {}{name} <span class=\"badge {}\">{}</span></h3>",
        anchor(phase, s),
        s.key,
        class(st),
        word(st)
    );
    if s.result.is_none() && s.partial.is_none() {
        o.push_str(
            "<p class=\"meta\">Recorded in the history, with no result of its own.</p></section>\n",
        );
        return;
    }
    if !s.durations.is_empty() {
        let _ = writeln!(
            o,
            "<p class=\"meta\">Duration of its last {} full runs: {}</p>",
            s.durations.len(),
            trend(&s.durations)
        );
    }
    if let Some(r) = &s.result {
        run(o, s, r, false);
    }
    if let Some(r) = &s.partial {
        run(o, s, r, true);
    }
    o.push_str("</section>\n");
}

fn run(o: &mut String, s: &StageView, r: &StageResult, partial: bool) {
    let _ = writeln!(
        o,
        "<p class=\"meta\">{}{} at {} · commit {} · {} · {}/{} gates passed{}</p>",
        if partial {
            "Partial run"
        } else {
            "Last full run"
        },
        // `line` folds the note's leading space away: put it back.
        match line(&r.selection_note(), 200) {
            n if n.is_empty() => n,
            n => format!(" {n}"),
        },
        line(&r.started_at, 60),
        r.commit
            .as_deref()
            .map(|c| format!("<code>{}</code>", line(c, 80)))
            .unwrap_or_else(|| "none".to_owned()),
        ms(r.duration_ms),
        r.passed_count(),
        r.gates.len(),
        r.blocked_by
            .as_deref()
            .map(|b| format!(" · blocked by {}", line(b, MESSAGE_CAP)))
            .unwrap_or_default()
    );
    o.push_str("<table class=\"gates\"><thead><tr><th>Result</th><th>Gate</th><th>Time</th><th>Pass rate</th><th>Failure</th></tr></thead><tbody>\n");
    for g in r.setup.iter().chain(&r.gates) {
        gate_row(o, s, g);
    }
    o.push_str("</tbody></table>\n");
    let dir = if partial {
        format!("{}/{}", s.dir, crate::evidence::paths::PARTIAL_DIR)
    } else {
        s.dir.clone()
    };
    for g in failed(r) {
        let tail = s
            .tails
            .get(&(partial, g.id.clone()))
            .filter(|t| !t.trim().is_empty())
            .map(|t| text(t))
            .unwrap_or_else(|| "(nothing in the log)".to_owned());
        let log = format!("{dir}/{}", g.log);
        let _ = writeln!(
            o,
            "<details class=\"failure\" open><summary><code>{}</code> {}</summary><pre>{tail}</pre><p class=\"meta\">Last {} lines of <code>{}</code>.</p></details>",
            line(&g.id, 200),
            // `interrupted`, not `interrupted: interrupted`.
            match g
                .message
                .as_deref()
                .filter(|m| m.trim() != g.status.as_str())
            {
                Some(m) => format!("{}: {}", g.status.as_str(), line(m, MESSAGE_CAP)),
                None => g.status.as_str().to_owned(),
            },
            super::gather::TAIL_LINES,
            line(&log, 300),
        );
    }
    let mut figures = String::new();
    for g in r.setup.iter().chain(&r.gates) {
        for shot in &g.screenshots {
            let found = s.shots.get(&(partial, shot.path.clone()));
            if let Some(src) = found.and_then(|rel| href(rel)) {
                let _ = writeln!(
                    figures,
                    "<figure><img class=\"shot\" src=\"{src}\" alt=\"screenshot of gate {0}\" loading=\"lazy\"><figcaption><code>{0}</code> {1}</figcaption></figure>",
                    line(&g.id, 200),
                    line(&shot.path, 300)
                );
            }
        }
    }
    if !figures.is_empty() {
        let _ = write!(
            o,
            "<div class=\"shots\"><p class=\"meta\">Screenshots{}:</p>\n{figures}</div>\n",
            if partial { " of the partial run" } else { "" }
        );
    }
}

fn gate_row(o: &mut String, s: &StageView, g: &GateResult) {
    let rate = match s.rates.get(&g.id) {
        Some(points) if !points.is_empty() => {
            let (p, n) = points.iter().fold((0u64, 0u64), |(a, b), &(p, n)| {
                (a + u64::from(p), b + u64::from(n))
            });
            let pct = (p * 100).checked_div(n).unwrap_or(0);
            format!("{} {pct}% ({p}/{n})", sparkline(points))
        }
        _ => "—".to_owned(),
    };
    let flaky = if g.flaky {
        format!(
            " <span class=\"badge interrupted\">flaky: {} of {} runs failed</span>",
            g.failed_runs.len(),
            g.attempts
        )
    } else {
        String::new()
    };
    let _ = writeln!(
        o,
        "<tr><td><span class=\"badge {}\">{}</span>{flaky}</td><td><code>{}</code> {}</td><td class=\"t\">{}</td><td class=\"t\">{rate}</td><td>{}</td></tr>",
        class(Some(g.status)),
        g.status.as_str(),
        line(&g.id, 200),
        line(&g.title, 300),
        ms(g.duration_ms),
        g.message
            .as_deref()
            .map(|m| format!("<code>{}</code>", line(m, MESSAGE_CAP)))
            .unwrap_or_default()
    );
}
