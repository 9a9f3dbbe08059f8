//! The pilot's Phase 3 (issue 20): after phases 1 and 2, taskapi's tracker integration passes
//! every stage of phase 3 against mock trackers, each mock's traffic in its gate's log and the
//! webhook secret nowhere in the evidence; and each integration fault fails the gate that
//! should catch it, with its one-line message, while the stage's other gates pass; a failing
//! stage blocks the ones after it.

mod common;

use common::pilot::{bite, browser_ready, gate, gaterun, results, shown};

#[test]
fn pilot_phase_3_passes_and_each_integration_fault_fails_its_gate() {
    // Phase 3 builds on phase 2, whose gates drive a browser.
    if !browser_ready() {
        return;
    }
    let evidence = tempfile::tempdir().expect("temp dir");
    let ev = evidence.path();
    for phase in ["1", "2", "3"] {
        let out = gaterun(&["phase", phase], ev, &[]);
        assert_eq!(out.status.code(), Some(0), "phase {phase}: {}", shown(&out));
    }
    for n in 0..=10 {
        let stage = format!("stage-{n:02}");
        assert_eq!(results(ev, 3, &stage)["status"], "passed", "{stage}");
    }
    assert!(ev.join("phase-3/SIGNOFF.md").is_file());
    // The mock's traffic is in the gate's log: what taskapi sent, what the mock answered, the
    // bearer token redacted.
    let log = std::fs::read_to_string(ev.join("phase-3/stage-08/logs/honours-retry-after.log"))
        .expect("log");
    for want in [
        "── mock tracker #1 ",
        ": POST /v1/tasks/1/events → route 1",
        "tracker> idempotency-key: task-1-done",
        "tracker> authorization: Bearer [redacted]",
        "tracker< 429",
        "tracker< Retry-After: 3",
    ] {
        assert!(log.contains(want), "log lacks `{want}`:\n{log}");
    }
    // The webhook secret signs deliveries in several gates, and is masked in all of them.
    let mut files = Vec::new();
    common::collect_files(&ev.join("phase-3"), &mut files);
    for f in &files {
        let text = String::from_utf8_lossy(&std::fs::read(f).expect("read")).into_owned();
        assert!(
            !text.contains("pilot-webhook-secret"),
            "{} shows the secret",
            f.display()
        );
    }

    // Stage 1: a delivered notification sent again, and one sent without credentials.
    let stage1 = ("stage-01", "notified-once");
    let args1 = ["stage", "1", "--phase", "3"];
    let (_, r) = bite(ev, 3, &args1, "notify-twice", stage1, "to be 1, got 2");
    assert_eq!(gate(&r, "only-done-notifies")["status"], "passed");
    bite(
        ev,
        3,
        &args1,
        "notify-without-auth",
        stage1,
        "expected header authorization to equal \"Bearer pilot-tracker-token\", got none",
    );

    // Stage 2: an unsigned delivery accepted, a replay applied again.
    let args2 = ["stage", "2", "--phase", "3"];
    let (_, r) = bite(
        ev,
        3,
        &args2,
        "webhook-unsigned-accepted",
        ("stage-02", "unsigned-refused"),
        "expected status 401, got 202",
    );
    for id in [
        "signed-delivery-applied",
        "bad-signature-refused",
        "tampered-body-refused",
        "replay-ignored",
    ] {
        assert_eq!(gate(&r, id)["status"], "passed", "{id}");
    }
    let (_, r) = bite(
        ev,
        3,
        &args2,
        "webhook-replay-accepted",
        ("stage-02", "replay-ignored"),
        "expected status 200, got 202",
    );
    assert_eq!(gate(&r, "unsigned-refused")["status"], "passed");

    // Stage 8: a retry a moment after a 429 that asked for three seconds.
    let (_, r) = bite(
        ev,
        3,
        &["stage", "8", "--phase", "3"],
        "retry-ignores-retry-after",
        ("stage-08", "honours-retry-after"),
        "expected the number of requests to mock `tracker` to be 1, got 2",
    );
    for id in ["bad-credentials-not-retried", "credentials-kept"] {
        assert_eq!(gate(&r, id)["status"], "passed", "{id}");
    }

    // The whole phase with a fault: stage 1 fails, and every later stage is blocked.
    let (faulty, _) = bite(
        ev,
        3,
        &["phase", "3"],
        "notify-twice",
        stage1,
        "to be 1, got 2",
    );
    assert_eq!(results(faulty.path(), 3, "stage-00")["status"], "passed");
    for n in 2..=10 {
        let stage = format!("stage-{n:02}");
        assert_eq!(
            results(faulty.path(), 3, &stage)["status"],
            "blocked",
            "{stage}"
        );
    }
}
