//! The README's main command: the pilot (taskapi) passes every stage of phase 1, and a fault
//! injected into taskapi fails the right gate and blocks the stages after it.

mod common;

use std::path::Path;
use std::process::Command;

/// `gaterun phase 1` at the repository root, evidence in a temp dir, with extra environment.
fn pilot(env: &[(&str, &str)]) -> (tempfile::TempDir, std::process::Output) {
    let evidence = tempfile::tempdir().expect("temp dir");
    let mut cmd = Command::new(common::bin());
    cmd.args(["phase", "1", "--evidence"])
        .arg(evidence.path())
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")));
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run gaterun");
    (evidence, out)
}

#[test]
fn bundled_example_phase_1_passes() {
    let (evidence, out) = pilot(&[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for n in 0..=10 {
        let stage = format!("stage-{n:02}");
        let r: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(
                evidence
                    .path()
                    .join("phase-1")
                    .join(&stage)
                    .join("results.json"),
            )
            .expect("results"),
        )
        .expect("json");
        assert_eq!(r["status"], "passed", "{stage}");
    }
    common::validate_junit(&evidence.path().join("junit.xml"));
    let signoff =
        std::fs::read_to_string(evidence.path().join("phase-1/SIGNOFF.md")).expect("SIGNOFF.md");
    assert!(signoff.contains("Documented gaps"), "{signoff}");
    assert!(
        evidence
            .path()
            .join("phase-1/IMPLEMENTATION_LOG.md")
            .is_file()
    );
}

#[test]
fn a_fault_in_taskapi_fails_the_right_gate_and_blocks_later_stages() {
    let (evidence, out) = pilot(&[("TASKAPI_FAULT", "allow-invalid-transitions")]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let read = |stage: &str| -> serde_json::Value {
        let path = evidence
            .path()
            .join("phase-1")
            .join(stage)
            .join("results.json");
        serde_json::from_str(&std::fs::read_to_string(path).expect("results")).expect("json")
    };
    let stage3 = read("stage-03");
    assert_eq!(stage3["status"], "failed");
    // The gate is a matrix over the invalid targets: every combination bites, alone.
    let gates = stage3["gates"].as_array().expect("gates");
    for to in ["in_progress", "review", "done"] {
        let id = format!("invalid-transition[TO={to}]");
        let gate = gates.iter().find(|g| g["id"] == id.as_str()).expect(&id);
        assert_eq!(gate["status"], "failed", "{id}");
        assert_eq!(
            gate["message"],
            "step 2 (http: POST ${API_URL}/tasks/${TASK}/transition): expected status 409, got 200"
        );
    }
    for id in ["lifecycle", "validation"] {
        let gate = gates.iter().find(|g| g["id"] == id).expect(id);
        assert_eq!(gate["status"], "passed", "{id}");
    }
    for n in 0..3 {
        assert_eq!(
            read(&format!("stage-{n:02}"))["status"],
            "passed",
            "stage {n}"
        );
    }
    for n in 4..=10 {
        assert_eq!(
            read(&format!("stage-{n:02}"))["status"],
            "blocked",
            "stage {n}"
        );
    }
    assert!(!evidence.path().join("phase-1/SIGNOFF.md").exists());
}
