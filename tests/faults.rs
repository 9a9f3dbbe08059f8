//! Faults of gates and of gaterun itself: whatever a gate's processes do, each gate ends by
//! its timeout plus grace, gaterun does not hang and no process is left; whatever happens to
//! gaterun (SIGKILL at any moment, a second run on the same evidence, a full disk), evidence is
//! never torn and never claims a pass it did not see. RELIABILITY.md lists each fault and the
//! test here that covers it.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{Project, Tmpfs, collect_files, processes_with, run_guarded, validate_junit};

/// Each gate of the process-fault stage: its marker (in its processes' command lines), its
/// YAML, whether it passes.
fn fault_gates(tag: &str) -> Vec<(String, String, bool)> {
    let m = |n: &str| format!("{tag}-{n}");
    vec![
        (
            m("storm"),
            // A bounded fork storm that ignores SIGTERM: 2,000 short-lived children forked
            // as fast as the shell can, each daemonizing a sleeper, while the gate times out.
            format!(
                "run: |\n      trap '' TERM\n      i=0\n      while [ $i -lt 2000 ]; do (sh -c 'sleep 30; : {}' &); i=$((i+1)); done\n      sleep 30\n",
                m("storm")
            ),
            false,
        ),
        (
            m("hundreds"),
            format!(
                "run: |\n      for i in $(seq 200); do sh -c 'sleep 30; : {}' & done\n      wait\n",
                m("hundreds")
            ),
            false,
        ),
        (
            m("daemon"),
            format!(
                "run: |\n      (setsid sh -c 'exec </dev/null >/dev/null 2>&1; sleep 30; : {}' &) &\n      sleep 30\n",
                m("daemon")
            ),
            false,
        ),
        (
            m("noterm"),
            format!(
                "run: |\n      trap '' TERM\n      sh -c 'trap \"\" TERM; sleep 30; : {}' &\n      while :; do sleep 1; done\n",
                m("noterm")
            ),
            false,
        ),
        (
            m("closed"),
            format!(
                "run: |\n      exec >&- 2>&-\n      sh -c 'sleep 30; : {}'\n",
                m("closed")
            ),
            false,
        ),
        (
            m("holder"),
            // The command exits 0 at once, its child keeps the output pipe open: the step is
            // done when the command is; the child is stopped at teardown.
            format!(
                "run: |\n      (sh -c 'sleep 30; : {}' &)\n      echo parent done\n",
                m("holder")
            ),
            true,
        ),
    ]
}

#[test]
fn process_faults_end_by_timeout_and_grace_with_no_process_left() {
    let tag = format!("gr-fault-{}", std::process::id());
    let gates = fault_gates(&tag);
    let mut yaml =
        String::from("stage: 0\nname: faults\ndefaults: { timeout: 2s, grace: 500ms }\ngates:\n");
    for (marker, step, _) in &gates {
        let id = marker.rsplit('-').next().unwrap();
        yaml.push_str(&format!("  - id: {id}\n    title: {marker}\n    {step}"));
    }
    let p = Project::new();
    p.stage("00.yaml", &yaml);
    let (run, took) = run_guarded(
        p.cmd(&["stage", "0", "--jobs", "6", "--progress", "never"])
            .env_remove("CI"),
        Duration::from_secs(60),
    );
    run.code(1);
    let results = p.results("stage-00");
    for (marker, _, passes) in &gates {
        let id = marker.rsplit('-').next().unwrap();
        let g = gate(&results, id);
        let ms = g["duration_ms"].as_u64().unwrap();
        if *passes {
            assert_eq!(g["status"], "passed", "{id}: {g}");
        } else {
            assert_eq!(g["status"], "failed", "{id}: {g}");
            assert!(
                g["message"]
                    .as_str()
                    .unwrap()
                    .contains("timed out after 2s"),
                "{id}: {g}"
            );
        }
        // Timeout 2 s + grace 0.5 s + the last SIGKILL round: a gate still running well past
        // that would be a hang, not noise.
        assert!(ms < 8_000, "{id} took {ms} ms");
        assert!(
            processes_with(marker).is_empty(),
            "{id} left processes: {:?}",
            processes_with(marker)
        );
    }
    assert!(processes_with(&tag).is_empty());
    eprintln!("process faults: whole run {took:?}");
}

#[test]
fn a_service_that_listens_on_another_port_fails_its_readiness_and_is_stopped() {
    if !common::python3() {
        return;
    }
    let marker = format!("gr-wrongport-{}", std::process::id());
    let p = Project::new();
    p.stage(
        "00.yaml",
        &format!(
            "stage: 0\nname: s\ngates:\n  - id: wrong-port\n    title: t\n    services:\n      api:\n        run: [python3, -c, \"import http.server as h; h.HTTPServer(('127.0.0.1', 0), h.SimpleHTTPRequestHandler).serve_forever() # {marker}\"]\n        ready: {{ http: \"${{API_URL}}/\", timeout: 2s }}\n    run: \"true\"\n"
        ),
    );
    let (run, _) = run_guarded(&mut p.cmd(&["stage", "0"]), Duration::from_secs(30));
    run.code(1);
    let g = &p.results("stage-00")["gates"][0];
    let msg = g["message"].as_str().unwrap();
    assert!(
        msg.contains("service `api` not ready after 2s") && msg.contains("connection refused"),
        "{msg}"
    );
    assert!(processes_with(&marker).is_empty());
}

/// A gate's entry in a stage's `results.json`.
fn gate<'a>(results: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    results["gates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["id"] == id)
        .unwrap_or_else(|| panic!("gate {id} in results"))
}

/// A tiny deterministic generator, so a failure names the kill delays that found it.
struct Lcg(u64);
impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

/// Every evidence file is complete and each stage directory is one run's.
fn assert_evidence_whole(p: &Project, stages: &[&str], gates: usize, context: &str) {
    let ev = p.path().join("evidence");
    for stage in stages {
        let dir = ev.join("phase-1").join(stage);
        if !dir.exists() {
            continue; // never written yet: the old state
        }
        let results: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join("results.json")).expect("results.json"),
        )
        .unwrap_or_else(|e| panic!("{context}: {stage}/results.json torn: {e}"));
        assert_eq!(
            results["gates"].as_array().unwrap().len(),
            gates,
            "{context}"
        );
        assert_eq!(results["status"], "passed", "{context}");
        let report = std::fs::read_to_string(dir.join("report.md")).unwrap();
        assert!(
            report.contains("#### Open questions"),
            "{context}: report.md cut"
        );
        // One run's directory: every log carries the same run number.
        let mut runs = std::collections::BTreeSet::new();
        for g in results["gates"].as_array().unwrap() {
            let log = std::fs::read_to_string(dir.join(g["log"].as_str().unwrap()))
                .unwrap_or_else(|e| panic!("{context}: {stage} log: {e}"));
            let n = log
                .lines()
                .find_map(|l| l.strip_prefix("run="))
                .unwrap_or_else(|| panic!("{context}: log without its run: {log}"));
            runs.insert(n.to_owned());
        }
        assert_eq!(runs.len(), 1, "{context}: {stage} mixes runs {runs:?}");
        validate_junit(&dir.join("junit.xml"));
    }
    if ev.join("junit.xml").exists() {
        validate_junit(&ev.join("junit.xml"));
        let summary = std::fs::read_to_string(ev.join("summary.md")).unwrap();
        assert!(
            summary
                .trim_end()
                .lines()
                .last()
                .unwrap()
                .starts_with("| phase 1 · stage 1"),
            "{context}: summary.md cut:\n{summary}"
        );
    }
    if let Ok(text) = std::fs::read_to_string(ev.join("history.jsonl")) {
        for line in text.lines() {
            serde_json::from_str::<serde_json::Value>(line)
                .unwrap_or_else(|e| panic!("{context}: history line torn: {e}: {line}"));
        }
    }
}

fn leftovers(dir: &Path) -> Vec<String> {
    let mut all = Vec::new();
    collect_files(dir, &mut all);
    all.iter()
        .map(|p| p.display().to_string())
        .filter(|p| p.contains(".new-"))
        .collect()
}

#[test]
fn sigkill_at_fifty_random_moments_never_tears_evidence() {
    let p = Project::new();
    let marker = format!("gr-killed-{}", std::process::id());
    for s in 0..2 {
        let mut yaml = format!("stage: {s}\nname: Stage {s}\ngates:\n");
        // A gate whose process outlives a SIGKILLed gaterun, until the next run sweeps it.
        yaml.push_str(&format!(
            "  - id: lingers\n    title: t\n    run: 'echo run=$RUN; sh -c \"sleep 30; : {marker}\" >/dev/null 2>&1 & sleep 0.2'\n"
        ));
        for g in 0..12 {
            yaml.push_str(&format!(
                "  - id: g{g}\n    title: t\n    run: 'echo run=$RUN; sleep 0.0{}'\n",
                g % 4
            ));
        }
        p.stage(&format!("0{s}.yaml"), &yaml);
    }
    let stages = ["stage-00", "stage-01"];
    // A complete first run: the "old" evidence.
    p.cmd(&["phase", "1", "--jobs", "4"])
        .env("RUN", "0")
        .output()
        .unwrap();
    assert_evidence_whole(&p, &stages, 13, "first run");
    let seed = 0x5eed_0000 + std::process::id() as u64;
    let mut rng = Lcg(seed);
    let mut delays = Vec::new();
    let mut killed = Vec::new();
    for i in 1..=50 {
        let delay = rng.below(450);
        delays.push(delay);
        let mut child = p
            .cmd(&["phase", "1", "--jobs", "4", "--progress", "never"])
            .env("RUN", i.to_string())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        killed.push(child.id());
        std::thread::sleep(Duration::from_millis(delay));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        assert_evidence_whole(
            &p,
            &stages,
            13,
            &format!("kill {i} after {delay} ms (seed {seed:#x})"),
        );
    }
    // The next run sweeps what killed runs left aside, and finishes normally.
    let out = p.cmd(&["phase", "1"]).env("RUN", "51").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_evidence_whole(&p, &stages, 13, "after the kills");
    assert_eq!(leftovers(&p.path().join("evidence")), Vec::<String>::new());
    // ... and the temp directories of the killed runs.
    // (`gaterun-<pid>r<random>`: a run's id.)
    let stale: Vec<_> = std::fs::read_dir(std::env::temp_dir())
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|name| {
                    killed
                        .iter()
                        .any(|pid| name.starts_with(&format!("gaterun-{pid}r")))
                })
                .collect()
        })
        .unwrap_or_default();
    assert!(
        stale.is_empty(),
        "temp directories of killed runs left: {stale:?}"
    );
    // ... and the processes their gates left running.
    assert!(
        processes_with(&marker).is_empty(),
        "{:?}",
        processes_with(&marker)
    );
    eprintln!("killed at (ms): {delays:?}");
}

#[test]
fn a_second_run_on_the_same_evidence_waits_for_the_first() {
    let p = Project::new();
    p.stage(
        "00.yaml",
        "stage: 0\nname: s\ngates:\n  - id: g\n    title: t\n    run: 'date +%s%N >> \"$PROJECT_ROOT/starts\"; sleep 1.5; date +%s%N >> \"$PROJECT_ROOT/ends\"'\n",
    );
    let first = p.cmd(&["stage", "0"]).spawn().unwrap();
    // Wait until the first run's gate has started, so it holds the lock.
    let t = Instant::now();
    while !p.path().join("starts").exists() {
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "first run never started"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let (second, _) = run_guarded(&mut p.cmd(&["stage", "0"]), Duration::from_secs(30));
    let first = first.wait_with_output().unwrap();
    assert_eq!(first.status.code(), Some(0));
    second.code(0);
    assert!(
        second
            .stderr
            .contains("waiting for another gaterun run (pid ")
            && second.stderr.contains("to finish with evidence"),
        "{}",
        second.stderr
    );
    let read = |f: &str| -> Vec<u128> {
        std::fs::read_to_string(p.path().join(f))
            .unwrap()
            .lines()
            .map(|l| l.parse().unwrap())
            .collect()
    };
    let (starts, ends) = (read("starts"), read("ends"));
    assert_eq!(starts.len(), 2);
    assert!(
        starts[1] >= ends[0],
        "the second run's gate started before the first run's ended"
    );
    validate_junit(&p.evidence("junit.xml"));
    assert_eq!(p.results("stage-00")["status"], "passed");
}

#[test]
fn a_nested_run_on_its_parents_evidence_is_refused_not_deadlocked() {
    let p = Project::new();
    p.stage(
        "00.yaml",
        "stage: 0\nname: s\ngates:\n  - id: nested\n    title: t\n    timeout: 20s\n    run: '${GATERUN} check && ${GATERUN} stage 1 --prereqs ignore'\n",
    );
    p.stage(
        "01.yaml",
        "stage: 1\nname: s1\ngates:\n  - id: g\n    title: t\n    run: 'true'\n",
    );
    let (run, took) = run_guarded(&mut p.cmd(&["stage", "0"]), Duration::from_secs(30));
    run.code(1);
    let log = p.read("phase-1/stage-00/logs/nested.log");
    assert!(
        log.contains("evidence is in use by the gaterun run this command was started from"),
        "{log}"
    );
    assert!(log.contains("expected exit 0, got 2") || run.stderr.contains("got 2"));
    assert!(
        took < Duration::from_secs(15),
        "waited for its own parent: {took:?}"
    );
}

#[test]
fn a_full_disk_under_the_evidence_is_a_clear_error_and_nothing_claims_a_pass() {
    let p = Project::new();
    // Every gate passes; one prints 2 MiB, more than the 1 MiB the evidence can hold.
    p.stage(
        "00.yaml",
        "stage: 0\nname: s\ngates:\n  - id: small\n    title: t\n    run: echo fine\n  - id: big\n    title: t\n    run: 'head -c 2097152 /dev/zero | tr \"\\0\" x'\n",
    );
    let Some(_mount) = Tmpfs::mount(&p.path().join("evidence"), "1m") else {
        return;
    };
    let (run, _) = run_guarded(&mut p.cmd(&["stage", "0"]), Duration::from_secs(30));
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("failed to write evidence to") && run.stderr.contains("No space left"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    // Nothing that claims a pass: no results, no JUnit, no summary; no half-written file.
    let mut files = Vec::new();
    collect_files(&p.path().join("evidence"), &mut files);
    for f in &files {
        let name = f.file_name().unwrap().to_string_lossy();
        assert!(
            !matches!(
                &*name,
                "results.json" | "junit.xml" | "summary.md" | "report.md"
            ) && !name.contains(".new-"),
            "{} was left on a full disk",
            f.display()
        );
    }
    // With room again, the same stage writes its evidence.
    drop(_mount);
    let (again, _) = run_guarded(&mut p.cmd(&["stage", "0"]), Duration::from_secs(30));
    again.code(0);
    assert_eq!(p.results("stage-00")["status"], "passed");
}

#[test]
fn a_missing_binary_is_a_failed_gate_that_names_it() {
    let p = Project::new();
    p.stage(
        "00.yaml",
        "stage: 0\nname: s\ngates:\n  - id: argv\n    title: t\n    run: [gr-no-such-binary, --flag]\n  - id: shell\n    title: t\n    run: gr-no-such-binary --flag\n  - id: service\n    title: t\n    services:\n      api: { run: [gr-no-such-binary] }\n    run: 'true'\n",
    );
    let (run, _) = run_guarded(&mut p.cmd(&["stage", "0"]), Duration::from_secs(30));
    run.code(1);
    assert!(!run.stderr.contains("panicked"));
    let results = p.results("stage-00");
    let message = |id: &str| gate(&results, id)["message"].as_str().unwrap().to_owned();
    assert_eq!(
        message("argv"),
        "failed to start `gr-no-such-binary`: No such file or directory (os error 2)"
    );
    assert!(message("shell").ends_with("got 127 (the shell found no such command)"));
    assert!(
        message("service").contains("service `api` failed to start `gr-no-such-binary`"),
        "{}",
        message("service")
    );
}
