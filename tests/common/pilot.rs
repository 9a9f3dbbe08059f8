//! The pilot's phases run for real (tests/pilot_ui.rs, tests/pilot_integrations.rs): gaterun on
//! this repository's own gates, a stage's results read back, and a fault shown biting a gate
//! on a copy of passed evidence.

use std::path::Path;
use std::process::{Command, Output};

/// gaterun in this repository with `args`, on `evidence`, with no fault unless `env` sets one.
pub fn gaterun(args: &[&str], evidence: &Path, env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(super::bin());
    cmd.args(args)
        .arg("--evidence")
        .arg(evidence)
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")))
        .env_remove("TASKAPI_FAULT");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run gaterun")
}

pub fn results(evidence: &Path, phase: u32, stage: &str) -> serde_json::Value {
    let path = evidence
        .join(format!("phase-{phase}"))
        .join(stage)
        .join("results.json");
    serde_json::from_str(&std::fs::read_to_string(&path).expect("results")).expect("json")
}

pub fn gate<'a>(stage: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    stage["gates"]
        .as_array()
        .expect("gates")
        .iter()
        .find(|g| g["id"] == id)
        .expect(id)
}

pub fn shown(out: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The browser step and a browser are here (phase 2 needs them); else a printed reason (a
/// browser is required under CI, as for every browser test).
pub fn browser_ready() -> bool {
    let schema = Command::new(super::bin())
        .arg("schema")
        .output()
        .expect("gaterun schema");
    if !String::from_utf8_lossy(&schema.stdout).contains("\"browser\"") {
        eprintln!("skipping: this gaterun has no `browser` step yet");
        return false;
    }
    super::tool(
        "chromium",
        &["chromium", "--version"],
        "apt-get install chromium",
    )
}

/// A copy of an evidence directory, to run one stage again on it with a fault.
pub fn copy(from: &Path) -> tempfile::TempDir {
    let to = tempfile::tempdir().expect("temp dir");
    let status = Command::new("cp")
        .arg("-a")
        .arg(format!("{}/.", from.display()))
        .arg(to.path())
        .status()
        .expect("cp");
    assert!(status.success());
    to
}

/// Runs `args` with `fault` on a copy of a passed evidence directory: the run fails, and gate
/// `id` of `stage` (of `phase`) fails with a one-line message naming `needle`. Returns the copy
/// and the stage's results.
pub fn bite(
    passed: &Path,
    phase: u32,
    args: &[&str],
    fault: &str,
    (stage, id): (&str, &str),
    needle: &str,
) -> (tempfile::TempDir, serde_json::Value) {
    let faulty = copy(passed);
    let out = gaterun(args, faulty.path(), &[("TASKAPI_FAULT", fault)]);
    assert_eq!(out.status.code(), Some(1), "{fault}: {}", shown(&out));
    let results = results(faulty.path(), phase, stage);
    let bitten = gate(&results, id);
    assert_eq!(bitten["status"], "failed", "{fault}: {bitten}");
    let message = bitten["message"].as_str().unwrap_or("");
    assert!(message.contains(needle), "{fault}: {bitten}");
    assert!(!message.contains('\n'), "{fault}: one line: {message}");
    (faulty, results)
}
