//! The README's main command: the bundled example passes every stage of phase 1.

mod common;

use std::path::Path;
use std::process::Command;

#[test]
fn bundled_example_phase_1_passes() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let evidence = tempfile::tempdir().expect("temp dir");
    let out = Command::new(common::bin())
        .args(["phase", "1", "--evidence"])
        .arg(evidence.path())
        .current_dir(root)
        .output()
        .expect("run gaterun");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for stage in ["stage-00", "stage-01", "stage-02", "stage-03"] {
        let r: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(
                evidence
                    .path()
                    .join("phase-1")
                    .join(stage)
                    .join("results.json"),
            )
            .expect("results"),
        )
        .expect("json");
        assert_eq!(r["status"], "passed", "{stage}");
    }
    common::validate_junit(&evidence.path().join("junit.xml"));
}
