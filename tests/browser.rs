//! The `browser` step (issue 19) against a real headless Chromium and the pages of
//! tests/fixtures/pages.py: every expectation with a value that passes and a near miss that
//! fails with one line; actions, captures, screenshots (written, linked, attached); a missing
//! Chromium; `gaterun check`; and no Chromium process left after a passing run, a failing gate,
//! a Ctrl-C, or a SIGKILL of gaterun followed by the next run.
//!
//! Skipped with a printed reason where Chromium or python3 is missing, except under CI.

mod common;

use std::time::Duration;

use common::{Project, outcomes, python3, tool};

/// Whether the tests can run: Chromium and python3 here (a failure under CI).
fn ready() -> bool {
    python3()
        && tool(
            "Chromium",
            &[
                "sh",
                "-c",
                "command -v chromium || command -v chromium-browser || command -v google-chrome",
            ],
            "apt-get install chromium",
        )
}

/// A project whose stage serves the fixture pages as `web` (`${WEB_URL}`) to all its gates.
/// Its temp root (`TMPDIR`) is inside the project, so its browser's processes are found by
/// their environment (see [`browsers_of`]).
fn project(gates: &str) -> Project {
    let p = Project::new();
    let pages = format!("{}/tests/fixtures/pages.py", env!("CARGO_MANIFEST_DIR"));
    p.stage(
        "stage-00.yaml",
        &format!(
            r#"stage: 0
name: Pages
services:
  web:
    run: python3 {pages}
    ready: {{ http: "${{WEB_URL}}/healthz", timeout: 20s }}
gates:
{gates}"#
        ),
    );
    std::fs::create_dir_all(p.path().join("tmp")).expect("tmp");
    p
}

fn cmd(p: &Project, args: &[&str]) -> std::process::Command {
    let mut c = p.cmd(args);
    c.env("TMPDIR", p.path().join("tmp"));
    c
}

/// Chromium processes of the project's runs: their command line (`--user-data-dir`) or their
/// environment (the browser's HOME) names its temp root. Zygotes and renderers overwrite their
/// environment with their titles, but keep the profile in their command line.
fn browsers_of(p: &Project) -> Vec<String> {
    let needle = p.path().join("tmp").display().to_string();
    let mut found = Vec::new();
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if !name.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let env = std::fs::read(e.path().join("environ")).unwrap_or_default();
        let cmdline = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        let zombie =
            std::fs::read_to_string(e.path().join("stat")).is_ok_and(|s| s.contains(") Z "));
        let named = cmdline.contains(&needle) || String::from_utf8_lossy(&env).contains(&needle);
        if !zombie && cmdline.contains("chrom") && named {
            found.push(format!("{name}: {cmdline}"));
        }
    }
    found
}

/// No Chromium of the project is left (given a moment to be reaped).
#[track_caller]
fn assert_no_browser(p: &Project) {
    let mut left = browsers_of(p);
    for _ in 0..50 {
        if left.is_empty() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
        left = browsers_of(p);
    }
    panic!("Chromium processes survived: {left:#?}");
}

const EXPECTATIONS: &str = r##"
  - id: miss-shout
    title: a secret the page shows in capitals is masked, and the page is not photographed
    secrets: [PAGE_SECRET]
    browser: ${WEB_URL}/shout#${PAGE_SECRET}
    expect: { text: ["nothing like it"] }
  - id: pass-jsredirect
    title: a page that replaces itself by script is judged once the new one loaded
    steps:
      - browser: ${WEB_URL}/jsredirect
        timeout: 10s
        expect: { title: { equals: List } }
      - browser: ${WEB_URL}/to-jsredirect
        timeout: 10s
        actions: [{ click: "text=Go" }]
        expect: { title: { equals: List }, count: { "#items li": 3 } }
  - id: miss-override
    title: a page redefining innerText and querySelectorAll changes nothing gaterun reads
    browser: ${WEB_URL}/override
    expect: { text: ["!Error"] }
  - id: pass-override
    title: the same page, its real text and count
    browser: ${WEB_URL}/override
    expect: { text: ["Error: payment failed"], count: { p: 1 } }
  - id: miss-hanging
    title: a page that never finishes loading fails saying so
    steps:
      - browser: ${WEB_URL}/hanging
        timeout: 2s
  - id: pass-flood
    title: 1500 long console errors are all counted (and not all kept)
    steps:
      - browser: ${WEB_URL}/flood
        timeout: 20s
        expect: { console_errors: 1500 }
  - id: miss-moving
    title: a click waits for its target to stand still, and one that never does fails
    steps:
      - browser: ${WEB_URL}/moving
        timeout: 1s
        actions: [{ click: "#sway" }]
  - id: pass-create
    title: the issue's example, its capture used by the next step
    steps:
      - browser: ${WEB_URL}/tasks
        actions:
          - click: "text=New task"
          - fill: { "#title": "write docs" }
          - press: Enter
          - wait_for: "#task-list li"
        expect:
          title: "/Tasks/"
          url: "/tasks/\\d+$/"
          text: ["write docs", "!Error"]
          visible: ["#task-list li"]
          count: { "#task-list li": 1 }
          console_errors: 0
        screenshot: always
        capture: { TASK_ID: "#task-list li:first-child @data-id", TASK: "#task-list li" }
      - run: echo "task $TASK_ID is $TASK"
        expect: { stdout: "task 42 is write docs" }
      - name: a relative URL, on the same page's origin
        browser: /list
        expect: { url: "/127.0.0.1:\\d+\\/list$/", title: { equals: List } }
  - id: pass-secret
    title: a secret typed into the page is masked in what the gate leaves
    secrets: [PAGE_SECRET]
    browser: ${WEB_URL}/tasks
    actions:
      - click: "text=New task"
      - fill: { "#title": "${PAGE_SECRET}" }
      - press: Enter
    expect: { title: "${PAGE_SECRET}", text: "!${PAGE_SECRET}x" }
  - id: pass-dialog
    title: a dialog is answered, not left to stop the page
    browser: ${WEB_URL}/dialog
    expect: { text: "after the dialog" }
  - id: pass-huge
    title: a page of 1.5 MB read in its first 1 MiB
    browser: ${WEB_URL}/huge
    expect: { text: word }
  - id: miss-huge
    title: a `!` check on a page read only in part
    browser: ${WEB_URL}/huge
    expect: { text: "!needle" }
  - id: pass-nav
    title: a click that navigates is followed to the new page
    browser: ${WEB_URL}/nav
    actions: [ click: "text=Go" ]
    expect: { text: "it broke", url: "/slow-error$/" }
  - id: miss-nav
    title: a `!` check is judged on the page the click led to, not the one it left
    browser: ${WEB_URL}/nav
    actions: [ click: "text=Go" ]
    expect: { text: "!Error" }
  - id: pass-late
    title: text that comes after 3 s, waited for with a 6 s timeout
    browser: ${WEB_URL}/late
    timeout: 6s
    expect: { text: ready }
  - id: miss-late
    title: the same text with a 1 s timeout
    steps:
      - browser: ${WEB_URL}/late
        timeout: 1s
        expect: { text: ready }
  - id: pass-visible
    title: a visible element, and hidden ones expected hidden
    browser: ${WEB_URL}/hidden
    expect: { visible: ["#shown", "!#secret", "!#ghost"] }
  - id: miss-hidden
    title: a display:none element expected visible
    browser: ${WEB_URL}/hidden
    expect: { visible: "#secret" }
  - id: miss-ghost
    title: a visibility:hidden element expected visible
    browser: ${WEB_URL}/hidden
    expect: { visible: "#ghost" }
  - id: miss-shown
    title: a visible element expected hidden
    browser: ${WEB_URL}/hidden
    expect: { visible: "!#shown" }
  - id: pass-console
    title: a page without console errors (its favicon.ico answers 404)
    browser: ${WEB_URL}/list
    expect: { console_errors: 0 }
  - id: pass-console-one
    title: the one console error expected
    browser: ${WEB_URL}/console
    expect: { console_errors: 1 }
  - id: miss-console
    title: a console error
    browser: ${WEB_URL}/console
    expect: { console_errors: 0 }
  - id: miss-request
    title: a failed request
    browser: ${WEB_URL}/broken
    expect: { console_errors: 0 }
  - id: pass-count
    title: three items
    browser: ${WEB_URL}/list
    expect: { count: { "#items li": 3, "#none": 0, "text=two": 1 } }
  - id: miss-count-under
    title: a count one short
    browser: ${WEB_URL}/list
    expect: { count: { "#items li": 2 } }
  - id: miss-count-over
    title: a count one over
    browser: ${WEB_URL}/list
    expect: { count: { "#items li": 4 } }
  - id: pass-title
    title: the title, as a pattern and exactly
    browser: ${WEB_URL}/list
    expect: { title: ["/^List$/", "Lis", "!Tasks"] }
  - id: miss-title
    title: a title that differs
    browser: ${WEB_URL}/list
    expect: { title: { equals: Lists } }
  - id: miss-title-prefix
    title: a title that is only a prefix
    browser: ${WEB_URL}/list
    expect: { title: { equals: Lis } }
  - id: miss-url
    title: a URL that differs
    browser: ${WEB_URL}/list
    expect: { url: "/\\/lists$/" }
  - id: pass-text
    title: visible text, not hidden text
    browser: ${WEB_URL}/hidden
    expect: { text: ["here", "!secret", "!ghost"] }
  - id: miss-text
    title: text present, expected absent
    browser: ${WEB_URL}/list
    expect: { text: "!three" }
  - id: miss-click
    title: a click on nothing
    browser: ${WEB_URL}/list
    actions: [ click: "text=Nowhere" ]
  - id: miss-fill
    title: a fill of a hidden field
    browser: ${WEB_URL}/tasks
    actions: [ fill: { "#title": x } ]
  - id: miss-capture
    title: a capture of a missing attribute
    browser: ${WEB_URL}/list
    capture: { X: "#items li @data-id" }
  - id: pass-eventually
    title: eventually, as for other steps (the page says "ready" the third time)
    steps:
      - browser: ${WEB_URL}/flaky?key=pass
        timeout: 3s
        eventually: 20s
        expect: { text: ready }
  - id: miss-eventually
    title: the same page without eventually
    steps:
      - browser: ${WEB_URL}/flaky?key=miss
        timeout: 1s
        expect: { text: ready }
"##;

#[test]
fn expectations_pass_and_their_near_misses_fail_with_one_line() {
    if !ready() {
        return;
    }
    let p = project(EXPECTATIONS);
    let run = common::run_guarded(
        cmd(&p, &["stage", "0", "--jobs", "4"]).env("PAGE_SECRET", "s3cr3t-page-value"),
        Duration::from_secs(240),
    )
    .0;
    run.code(1);
    let want: &[(&str, &str)] = &[
        (
            "miss-late",
            r#"expected page text to contain "ready", got "loading…""#,
        ),
        (
            "miss-hidden",
            "expected `#secret` to be visible, got 1 element, hidden",
        ),
        (
            "miss-ghost",
            "expected `#ghost` to be visible, got 1 element, hidden",
        ),
        (
            "miss-shown",
            "expected `#shown` not to be visible, got 1 visible",
        ),
        (
            "miss-console",
            r#"expected console errors to be 0, got 1 (first: "[console.error] boom from the page")"#,
        ),
        (
            "miss-request",
            "expected console errors to be 0, got 1 (first: \"[request failed] GET http://127.0.0.1:",
        ),
        (
            "miss-count-under",
            "expected count of `#items li` to be 2, got 3",
        ),
        (
            "miss-count-over",
            "expected count of `#items li` to be 4, got 3",
        ),
        (
            "miss-title",
            r#"expected title to equal "Lists", got "List""#,
        ),
        (
            "miss-title-prefix",
            r#"expected title to equal "Lis", got "List""#,
        ),
        (
            "miss-url",
            "expected URL to match /\\/lists$/, got \"http://127.0.0.1:",
        ),
        (
            "miss-text",
            r#"expected page text not to contain "three", got "one↵two↵three""#,
        ),
        (
            "miss-nav",
            r#"expected page text not to contain "Error", got "Error: it broke""#,
        ),
        (
            "miss-huge",
            "expected page text not to contain \"needle\", but the page text was cut at its first 1 MiB: a `!` or `equals` check needs the whole text",
        ),
        (
            "miss-eventually",
            r#"expected page text to contain "ready", got "not yet""#,
        ),
        ("miss-click", "click `text=Nowhere`: no element matches"),
        ("miss-moving", "click `#sway`: the element kept moving"),
        (
            "miss-shout",
            r#"expected page text to contain "nothing like it", got "***""#,
        ),
        (
            "miss-override",
            r#"expected page text not to contain "Error", got "Error: payment failed""#,
        ),
        ("miss-hanging", "opening http://127.0.0.1:"),
        (
            "miss-fill",
            "fill `#title`: the element it matches is not visible",
        ),
        (
            "miss-capture",
            "capture `X`: `#items li` has no attribute `data-id`",
        ),
    ];
    let got = outcomes(&p);
    for (id, status, message) in &got {
        assert!(
            !message.contains('\n'),
            "{id}: a message of several lines: {message}"
        );
        if id.starts_with("pass-") {
            assert_eq!(
                status,
                "passed",
                "{id}: {message}\n{}",
                p.read(&format!("phase-1/stage-00/logs/{id}.log"))
            );
            continue;
        }
        assert_eq!(status, "failed", "{id}: {message}");
        let (_, expected) = want
            .iter()
            .find(|(w, _)| w == id)
            .unwrap_or_else(|| panic!("no expected message for {id}"));
        assert!(
            message.starts_with(expected),
            "{id}: {message}\n  wanted: {expected}"
        );
    }
    assert_eq!(got.len(), want.len() + 16, "{got:?}");
    let log = p.read("phase-1/stage-00/logs/pass-secret.log");
    assert!(log.contains("[action] fill #title with \"***\""), "{log}");
    let mut files = Vec::new();
    common::collect_files(&p.path().join("evidence"), &mut files);
    for f in files {
        let bytes = std::fs::read(&f).expect("read");
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            !text.contains("s3cr3t-page-value") && !text.contains("S3CR3T-PAGE-VALUE"),
            "{} holds the secret",
            f.display()
        );
    }
    // The late text failed by its check, not by the step's timeout.
    let log = p.read("phase-1/stage-00/logs/pass-create.log");
    for line in [
        "[action] click text=New task",
        "[action] fill #title with \"write docs\"",
        "[action] press Enter",
        "[action] wait_for #task-list li",
        "[page] navigated to http://127.0.0.1:",
        "[page] screenshot 01.png",
    ] {
        assert!(log.contains(line), "the gate log lacks {line:?}:\n{log}");
    }
    let log = p.read("phase-1/stage-00/logs/miss-shout.log");
    assert!(
        log.contains("[page] no screenshot: the page shows a secret"),
        "{log}"
    );
    let log = p.read("phase-1/stage-00/logs/pass-dialog.log");
    assert!(log.contains("[dialog] alert: hello from the page"), "{log}");
    let log = p.read("phase-1/stage-00/logs/miss-console.log");
    assert!(log.contains("[console.error] boom from the page"), "{log}");
    let log = p.read("phase-1/stage-00/logs/miss-request.log");
    assert!(
        log.contains("[request failed] GET http://127.0.0.1:"),
        "{log}"
    );
    assert!(log.contains("/missing.png: status 404"), "{log}");

    // Screenshots: `always` on a pass, `on_failure` (the default) on a failure, none on a
    // pass by default; linked from report.md, attached in JUnit, which still validates.
    let png = |rel: &str| std::fs::read(p.evidence(&format!("phase-1/stage-00/{rel}")));
    assert!(png("logs/pass-create/01.png").is_ok_and(|b| b.starts_with(b"\x89PNG")));
    assert!(png("logs/miss-title/01.png").is_ok_and(|b| b.starts_with(b"\x89PNG")));
    assert!(png("logs/pass-title/01.png").is_err());
    assert!(png("logs/pass-create/03.png").is_err());
    let report = p.read("phase-1/stage-00/report.md");
    assert!(report.contains("(logs/pass-create/01.png)"), "{report}");
    assert!(report.contains("(logs/miss-title/01.png)"), "{report}");
    let junit = p.read("phase-1/stage-00/junit.xml");
    assert!(
        junit.contains("[[ATTACHMENT|evidence/phase-1/stage-00/logs/pass-create/01.png]]"),
        "{junit}"
    );
    assert!(junit.contains("[[ATTACHMENT|evidence/phase-1/stage-00/logs/miss-title/01.png]]"));
    common::validate_junit(&p.evidence("phase-1/stage-00/junit.xml"));
    common::validate_junit(&p.evidence("junit.xml"));
    let verify = p.run(&["verify"]);
    assert_eq!(verify.code, 0, "{}{}", verify.stdout, verify.stderr);

    // Nothing of the browser outlives the run, passing or failing gates alike.
    assert_no_browser(&p);
}

#[test]
fn a_missing_chromium_is_a_gate_error_saying_how_to_install_it() {
    if !python3() {
        return;
    }
    let p = project(
        r#"  - id: page
    title: a page
    browser: ${WEB_URL}/list
"#,
    );
    let run = cmd(&p, &["stage", "0"])
        .env("GATERUN_CHROME", "/nonexistent")
        .output()
        .expect("run");
    assert_eq!(run.status.code(), Some(1), "{run:?}");
    let got = outcomes(&p);
    assert_eq!(got[0].1, "error", "{got:?}");
    assert!(
        got[0].2.starts_with("GATERUN_CHROME=/nonexistent is not an executable file: install Chromium (`apt-get install chromium`"),
        "{got:?}"
    );
}

#[test]
fn check_locates_a_bad_browser_step() {
    let p = Project::new();
    p.stage(
        "stage-00.yaml",
        &std::fs::read_to_string(fixture("bad-action.yaml")).expect("fixture"),
    );
    p.stage(
        "stage-01.yaml",
        &std::fs::read_to_string(fixture("bad-browser.yaml")).expect("fixture"),
    );
    let run = p.run(&["check"]);
    run.code(2);
    let err = &run.stderr;
    for want in [
        "gates/stage-00.yaml:8:9: error: unknown key 'hover'",
        "expected one of: click, fill, press, wait_for",
        "gates/stage-01.yaml:7:17: error: `screenshot` is one of on_failure, always, never, got `sometimes`",
        "gates/stage-01.yaml:12:16: error: click: invalid CSS selector `li >> a`",
        "gates/stage-01.yaml:13:19: error: wait_for: `text=` names no text",
        "gates/stage-01.yaml:18:9: error: an action does one thing, this one has both `click` and `press`: write two actions",
        "gates/stage-01.yaml:19:16: error: `press` takes one character or a key name (Enter, Tab,",
        "gates/stage-01.yaml:20:22: error: `count` of a `browser` step maps selectors to counts",
        "gates/stage-01.yaml:20:34: error: expect.visible: `a @href` reads an attribute",
        "gates/stage-01.yaml:20:61: error: expect.console_errors: `console_errors` takes a whole number",
        "gates/stage-01.yaml:21:19: error: capture `X`: invalid CSS selector `li @`",
    ] {
        assert!(err.contains(want), "missing {want:?} in:\n{err}");
    }
    assert!(!err.contains("panicked"), "{err}");
}

fn fixture(name: &str) -> String {
    format!("{}/tests/data/browser/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// A gate that starts the browser, says so, then waits on a page for long.
const LONG: &str = r##"
  - id: long
    title: a browser step that waits
    steps:
      - browser: ${WEB_URL}/list
      - run: touch started
      - browser: ${WEB_URL}/late
        timeout: 60s
        actions: [ wait_for: "#never" ]
"##;

/// Start a run of [`LONG`], wait until its browser step is under way, and send `signal`.
fn signal_mid_step(
    p: &Project,
    containment: &str,
    signal: rustix::process::Signal,
) -> std::process::ExitStatus {
    let mut child = cmd(p, &["stage", "0", "--containment", containment])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    common::wait_for_file(&p.path().join("started"));
    std::thread::sleep(Duration::from_millis(800));
    assert!(!browsers_of(p).is_empty(), "no browser while the step runs");
    rustix::process::kill_process(rustix::process::Pid::from_child(&child), signal).expect("kill");
    child.wait().expect("wait")
}

#[test]
fn ctrl_c_mid_step_leaves_no_chromium() {
    if !ready() {
        return;
    }
    let p = project(LONG);
    let status = signal_mid_step(&p, "auto", rustix::process::Signal::INT);
    assert_eq!(status.code(), Some(130), "{status:?}");
    assert_no_browser(&p);
    let got = outcomes(&p);
    assert_eq!(got[0].1, "interrupted", "{got:?}");
}

#[test]
fn a_sigkilled_run_leaves_its_chromium_to_the_next_run_sweep() {
    if !ready() {
        return;
    }
    // With cgroups (`auto` here as root) and with the token search alone.
    for containment in ["auto", "token"] {
        let p = project(LONG);
        signal_mid_step(&p, containment, rustix::process::Signal::KILL);
        // The next run: its sweep ends whatever the killed run's browser left.
        let p2 = Project::new();
        p2.stage(
            "stage-00.yaml",
            "stage: 0\nname: Next\ngates:\n  - { id: a, title: t, run: 'true' }\n",
        );
        let next = p2
            .cmd(&["stage", "0", "--containment", containment])
            .env("TMPDIR", p.path().join("tmp"))
            .output()
            .expect("run");
        assert_eq!(next.status.code(), Some(0), "{next:?}");
        assert_no_browser(&p);
    }
}
