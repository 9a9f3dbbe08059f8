//! The pilot's Phase 2 (README): after phase 1, taskapi's UI passes every stage of phase 2 in a
//! real browser, with screenshots in the evidence; and each UI fault fails the browser gate
//! that should catch it (a near miss of the whole UI: one behaviour broken), and a failing
//! stage blocks the stages after it; a hole in the API's auth fails an http gate.

mod common;

use common::pilot::{browser_ready, gate, gaterun, shown};

#[test]
fn pilot_phase_2_passes_and_each_ui_fault_fails_its_gate() {
    if !browser_ready() {
        return;
    }
    let evidence = tempfile::tempdir().expect("temp dir");
    let out = gaterun(&["phase", "1"], evidence.path(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", shown(&out));
    let out = gaterun(&["phase", "2"], evidence.path(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", shown(&out));
    for n in 0..=10 {
        let stage = format!("stage-{n:02}");
        assert_eq!(
            common::pilot::results(evidence.path(), 2, &stage)["status"],
            "passed",
            "{stage}"
        );
    }
    assert!(evidence.path().join("phase-2/SIGNOFF.md").is_file());
    // `screenshot: always` kept the page, under the gate's logs.
    let mut files = Vec::new();
    common::collect_files(&evidence.path().join("phase-2/stage-03/logs"), &mut files);
    assert!(
        files
            .iter()
            .any(|f| f.extension().is_some_and(|e| e == "png")
                && f.to_string_lossy().contains("create-appears-in-list")),
        "{files:?}"
    );

    // The created task never shows in the list: only the browser gate of stage 3 sees it.
    let (faulty, stage3) = common::pilot::bite(
        evidence.path(),
        2,
        &["phase", "2"],
        "ui-stale-list",
        ("stage-03", "create-appears-in-list"),
        "#task-list li",
    );
    for id in ["list-rendered", "empty-list", "create-without-script"] {
        assert_eq!(gate(&stage3, id)["status"], "passed", "{id}");
    }
    for n in 4..=10 {
        let stage = format!("stage-{n:02}");
        assert_eq!(
            common::pilot::results(faulty.path(), 2, &stage)["status"],
            "blocked",
            "{stage}"
        );
    }

    // The status page looks right but logs a console error: only `console_errors: 0` sees it.
    let (_, stage2) = common::pilot::bite(
        evidence.path(),
        2,
        &["stage", "2", "--phase", "2"],
        "ui-console-error",
        ("stage-02", "status-in-browser"),
        "console",
    );
    assert_eq!(gate(&stage2, "counts-rendered")["status"], "passed");

    // The API lets reads through without a session: an http gate of auth hardening sees it.
    let (_, stage6) = common::pilot::bite(
        evidence.path(),
        2,
        &["stage", "6", "--phase", "2"],
        "api-without-session",
        ("stage-06", "api-needs-session"),
        "expected status 401, got 200",
    );
    // Writes and pages are still guarded: those gates pass.
    for id in ["nothing-written-without-session", "pages-need-session"] {
        assert_eq!(gate(&stage6, id)["status"], "passed", "{id}");
    }
}
