//! `evidence/index.html` (issue 21): the page of the whole evidence. A run with passed,
//! failed, flaky and blocked gates gets its stage row and sparklines; whatever a gate prints —
//! a script, a `javascript:` link, a workflow command, a secret — is neither live nor visible
//! in it; the page is listed in MANIFEST.json, `report` rebuilds it, and `verify` names it when
//! changed. And the
//! acceptance test: the page opened in a real headless Chromium (gaterun's own `browser` step)
//! with no console error, its stage row and a sparkline found by DOM queries, and its
//! screenshot written to `target/ci-artifacts/report_html.png` for CI to keep; a copy of the
//! page given a script and an outside image is the near miss (its CSP refuses both, and the
//! console says so).
//!
//! The Chromium test skips with a printed reason where Chromium is missing, except under CI.

mod common;

use std::path::{Path, PathBuf};

use common::{Project, tool};

const SECRET: &str = "s3cr3t-Value-42";

/// Stage 0: a gate that passes, one that fails printing hostile text and the secret, one that
/// is flaky (fails its first run, passes its retry; its run count kept in `count`), and where
/// `browser` is set a gate photographing a local page. Stage 1: one gate, blocked by stage 0.
fn project(count: &Path, browser: bool) -> Project {
    let p = Project::new();
    let shot = if browser {
        p.file("page.html", "<title>Local</title><h1>a page</h1>");
        format!(
            "  - id: shot\n    title: photographs a page\n    browser: file://{}/page.html\n    screenshot: always\n",
            p.path().display()
        )
    } else {
        String::new()
    };
    p.stage(
        "s0.yaml",
        &format!(
            r#"stage: 0
name: Basics
gates:
  - id: ok
    title: passes
    run: echo fine
  - id: bad
    title: prints hostile things
    secrets: [TOKEN]
    run: |
      echo '<script>alert(1)</script>'
      echo '<a href="javascript:alert(2)">click me</a> javascript:alert(3)'
      echo '::error::owned'
      echo 'legacy ##[add-mask]ghp_abc ##[error]boom'
      echo "token=$TOKEN"
      exit 3
  - id: flaky
    title: fails its first run
    retries: 1
    run: 'n=$(( $(cat {c} 2>/dev/null || echo 0) + 1 )); echo $n > {c}; test $((n % 2)) -eq 0'
{shot}"#,
            c = count.display()
        ),
    );
    p.stage(
        "s1.yaml",
        "stage: 1\nname: Next\ngates:\n  - id: later\n    title: after stage 0\n    run: echo later\n",
    );
    p
}

/// Stage 0 twice (two points of history), then the phase, going on past it (stage 1 blocked).
fn run_all(p: &Project) {
    for _ in 0..2 {
        let out = p
            .cmd(&["stage", "0"])
            .env("TOKEN", SECRET)
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(1), "{out:?}");
    }
    let out = p
        .cmd(&["phase", "1", "--keep-going"])
        .env("TOKEN", SECRET)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
}

/// Every `<tag ... attr="value"` value of the page.
fn attrs(page: &str, attr: &str) -> Vec<String> {
    let needle = format!(" {attr}=\"");
    page.match_indices(&needle)
        .map(|(i, _)| {
            let rest = &page[i + needle.len()..];
            rest[..rest.find('"').unwrap_or(rest.len())].to_owned()
        })
        .collect()
}

#[test]
fn a_run_of_every_kind_of_gate_has_its_stage_row_sparklines_and_trends() {
    let tmp = tempfile::tempdir().expect("tmp");
    let p = project(&tmp.path().join("count"), false);
    run_all(&p);
    let page = p.read("index.html");
    assert!(page.starts_with("<!DOCTYPE html>"), "{page}");
    // One row for phase 1: stages 0 to 10, coloured by status.
    assert_eq!(
        page.matches("<ol class=\"stage-row\">").count(),
        1,
        "{page}"
    );
    assert_eq!(page.matches("<li class=\"stage ").count(), 11, "{page}");
    assert!(
        page.contains("<li class=\"stage failed\" title=\"stage 0 failed\""),
        "{page}"
    );
    assert!(
        page.contains("<li class=\"stage blocked\" title=\"stage 1 blocked\""),
        "{page}"
    );
    for n in 2..=10 {
        assert!(
            page.contains(&format!(
                "<li class=\"stage not-run\" title=\"stage {n} not run\""
            )),
            "stage {n}: {page}"
        );
    }
    // Each gate that ran has its sparkline: three runs of stage 0, one of stage 1.
    assert_eq!(page.matches("<svg class=\"spark\"").count(), 4, "{page}");
    assert!(
        page.contains("3 of 3 runs passed over the last 3 stage runs"),
        "{page}"
    );
    assert!(
        page.contains("0 of 3 runs passed over the last 3 stage runs"),
        "{page}"
    );
    assert!(
        page.contains("3 of 6 runs passed"),
        "the flaky gate: {page}"
    );
    assert!(page.contains("flaky: 1 of 2 runs failed"), "{page}");
    assert!(page.contains("<svg class=\"trend\""), "{page}");
    assert!(
        page.contains("<span class=\"badge failed\">failed</span>"),
        "{page}"
    );
    // The failed gate's message and its log's tail.
    assert!(page.contains("expected exit 0, got 3"), "{page}");
    assert!(page.contains("<details class=\"failure\" open>"), "{page}");
    // Listed like the other invocation files; `verify` holds it to its hash.
    let manifest = p.read("MANIFEST.json");
    assert!(manifest.contains("\"index.html\": \"sha256:"), "{manifest}");
    p.run(&["verify"]).code(0);
    // `gaterun report` rebuilds it, listed again.
    std::fs::remove_file(p.evidence("index.html")).expect("rm");
    let out = p.run(&["report"]);
    out.code(0);
    assert!(
        out.stdout.contains("wrote evidence/index.html"),
        "{}",
        out.stdout
    );
    assert!(p.read("index.html").contains("<ol class=\"stage-row\">"));
    p.run(&["verify"]).code(0);
    std::fs::write(p.evidence("index.html"), page.replace("Basics", "Basic")).expect("write");
    let out = p.run(&["verify"]);
    assert_ne!(out.code, 0, "a changed page verifies: {}", out.stdout);
    assert!(
        format!("{}{}", out.stdout, out.stderr).contains("index.html"),
        "{}{}",
        out.stdout,
        out.stderr
    );
}

#[test]
fn what_a_gate_prints_is_neither_live_nor_visible_as_markup() {
    let tmp = tempfile::tempdir().expect("tmp");
    let p = project(&tmp.path().join("count"), false);
    run_all(&p);
    let page = p.read("index.html");
    let lower = page.to_lowercase();
    assert!(!page.contains(SECRET), "the secret is in the page");
    for live in [
        "<script",
        "javascript:",
        "::error::",
        "##[",
        "<a href=\"j",
        "alert(2)\">",
    ] {
        assert!(!lower.contains(live), "{live} in the page: {page}");
    }
    // Not dropped either: the excerpt shows what the gate printed, as text, the secret masked.
    for shown in [
        "&lt;script&gt;alert(1)&lt;/script&gt;",
        "&lt;a href&#61;&quot;javascript&#58;alert(2)&quot;&gt;click me&lt;/a&gt;",
        "&#58;&#58;error&#58;&#58;owned",
        "token&#61;***",
    ] {
        assert!(page.contains(shown), "{shown} not in the page: {page}");
    }
    // The only links are the page's own anchors; the only sources, the evidence's files.
    let hrefs = attrs(&page, "href");
    assert!(!hrefs.is_empty());
    assert!(
        hrefs.iter().all(|h| h.starts_with("#p1-stage-")),
        "{hrefs:?}"
    );
    assert!(attrs(&page, "src").is_empty(), "no screenshot in this run");
    let csp = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:";
    assert!(
        page.contains(&format!(
            "http-equiv=\"Content-Security-Policy\" content=\"{csp};"
        )),
        "{page}"
    );
    for outside in ["http://", "https://", "//cdn"] {
        let found: Vec<&str> = page
            .match_indices(outside)
            .map(|(i, _)| &page[i.saturating_sub(20)..(i + 40).min(page.len())])
            .filter(|s| !s.contains("www.w3.org/2000/svg"))
            .collect();
        assert!(found.is_empty(), "{outside}: {found:?}");
    }
}

/// Where CI keeps what it uploads: `target/ci-artifacts/`.
fn artifacts_dir() -> PathBuf {
    let target = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("the target directory")
        .to_path_buf();
    target.join("ci-artifacts")
}

#[test]
fn the_page_opens_in_chromium_with_no_console_error_and_its_screenshot_is_kept() {
    if !tool(
        "Chromium",
        &[
            "sh",
            "-c",
            "command -v chromium || command -v chromium-browser || command -v google-chrome",
        ],
        "apt-get install chromium",
    ) {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let p = project(&tmp.path().join("count"), true);
    run_all(&p);
    let index = p.evidence("index.html");
    let page = std::fs::read_to_string(&index).expect("index.html");
    let shots = attrs(&page, "src");
    assert_eq!(shots, ["phase-1/stage-00/logs/shot/01.png"], "{page}");
    // The near miss: the same page given a script and an outside image, which its policy
    // refuses, each a console error.
    let tampered = index.with_file_name("tampered.html");
    std::fs::write(
        &tampered,
        page.replace(
            "<h1>",
            "<img src=\"https://example.invalid/x.png\"><script>console.log(1)</script><h1>",
        ),
    )
    .expect("write");

    // A second project looks at the first one's page with gaterun's own `browser` step.
    let viewer = Project::new();
    viewer.stage(
        "s0.yaml",
        &format!(
            r#"stage: 0
name: The report in a browser
gates:
  - id: report
    title: the page, its stage row, a sparkline, a screenshot, and no console error
    browser: file://{index}
    timeout: 20s
    expect:
      title: {{ equals: gaterun evidence }}
      count: {{ "ol.stage-row > li.stage": 11, "li.stage.failed": 1, "li.stage.blocked": 1, "script": 0, "a[href^=javascript]": 0 }}
      visible: ["ol.stage-row", "svg.spark circle", "svg.trend", "img.shot"]
      text: ["<script>alert(1)</script>", "::error::owned", "token=***", "!{SECRET}"]
      console_errors: 0
    screenshot: always
  - id: tampered
    title: the near miss, a script and an outside image the policy refuses
    browser: file://{tampered}
    timeout: 20s
    expect: {{ console_errors: 0 }}
"#,
            index = index.display(),
            tampered = tampered.display(),
        ),
    );
    let out = viewer.run(&["stage", "0"]);
    let r = viewer.results("stage-00");
    let gates = r["gates"].as_array().expect("gates");
    let report = &gates[0];
    assert_eq!(
        report["status"],
        "passed",
        "{report}\n--- log\n{}\n--- stderr\n{}",
        viewer.read("phase-1/stage-00/logs/report.log"),
        out.stderr
    );
    let near = &gates[1];
    assert_eq!(near["status"], "failed", "{near}");
    assert!(
        near["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("expected console errors to be 0, got ")),
        "{near}"
    );
    assert_eq!(out.code, 1, "the near miss fails the run: {}", out.stderr);

    let png = viewer.evidence("phase-1/stage-00/logs/report/01.png");
    let bytes = std::fs::read(&png).expect("the page's screenshot");
    assert!(
        bytes.starts_with(b"\x89PNG\r\n\x1a\n") && bytes.len() > 1000,
        "not a PNG: {} bytes",
        bytes.len()
    );
    let dir = artifacts_dir();
    std::fs::create_dir_all(&dir).expect("mkdir ci-artifacts");
    let kept = dir.join("report_html.png");
    std::fs::write(&kept, &bytes).expect("write the artifact");
    eprintln!("the report's screenshot: {}", kept.display());
}

/// Evidence is untrusted: a results.json edited to name screenshots and a log outside the
/// stage's directory, through a link, or as a URL, and a title holding markup. `report`
/// rebuilds the page from it: only the real screenshot is shown, no file outside is read, and
/// the markup is text.
#[test]
fn crafted_evidence_names_no_file_outside_and_no_markup() {
    let tmp = tempfile::tempdir().expect("tmp");
    let p = project(&tmp.path().join("count"), false);
    run_all(&p);
    let stage = p.evidence("phase-1/stage-00");
    std::fs::write(stage.join("logs/ok.png"), b"\x89PNG\r\n\x1a\n").expect("png");
    std::os::unix::fs::symlink("/etc/hostname", stage.join("logs/link.png")).expect("link");
    let path = stage.join("results.json");
    let mut r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
    r["gates"][0]["screenshots"] = serde_json::json!([
        {"path": "../../../../etc/hostname.png"},
        {"path": "/etc/hostname.png"},
        {"path": "logs/link.png"},
        {"path": "javascript:alert(1)//logs/x.png"},
        {"path": "logs/../../stage-01/x.png"},
        {"path": "logs/ok.png"},
    ]);
    r["gates"][1]["log"] = "../../../../../../../etc/passwd".into();
    r["gates"][1]["title"] = "<img src=x onerror=alert(1)>".into();
    std::fs::write(&path, serde_json::to_string(&r).expect("json")).expect("write");
    p.run(&["report"]).code(0);
    let page = p.read("index.html");
    assert_eq!(
        attrs(&page, "src"),
        ["phase-1/stage-00/logs/ok.png"],
        "{page}"
    );
    assert!(!page.contains("root:x:0"), "/etc/passwd read into the page");
    assert!(!page.contains("<img src=x"), "{page}");
    assert!(
        page.contains("&lt;img src&#61;x onerror&#61;alert(1)&gt;"),
        "{page}"
    );
    assert!(page.contains("(nothing in the log)"), "{page}");
}
