//! The GitHub Action, run as a runner would: `action.yml` parsed, its steps executed with bash in
//! a simulated GitHub environment (inputs through `env:`, `GITHUB_OUTPUT`, `GITHUB_STEP_SUMMARY`,
//! `GITHUB_ACTION_PATH`), on a passing and a failing fixture. Every input is observable in the
//! result, so dropping an input's mapping fails a test.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use common::Project;

fn action() -> Value {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("action.yml"))
        .expect("action.yml");
    gaterun::config::yaml::parse(&text).expect("action.yml parses")
}

struct Outcome {
    /// The exit status of the first step that failed (0 if none did).
    code: i32,
    /// The `uses:` steps that ran, each with its `with:` inputs evaluated.
    used: Vec<(String, HashMap<String, String>)>,
    outputs: HashMap<String, String>,
    summary: String,
    stdout: String,
}

/// Evaluate the `${{ … }}` expressions the action uses; anything else fails the test, so the
/// simulation never silently drops what a runner would evaluate.
fn expand(
    template: &str,
    inputs: &HashMap<String, String>,
    steps: &HashMap<String, HashMap<String, String>>,
) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("${{") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find("}}").expect("closed expression") + start;
        let expr = rest[start + 3..end].trim();
        let value = if let Some(name) = expr.strip_prefix("inputs.") {
            inputs
                .get(name)
                .cloned()
                .unwrap_or_else(|| panic!("unknown input {name}"))
        } else if let Some(path) = expr.strip_prefix("steps.") {
            let (id, output) = path.split_once(".outputs.").expect("steps.ID.outputs.NAME");
            steps
                .get(id)
                .and_then(|o| o.get(output))
                .cloned()
                .unwrap_or_default()
        } else {
            match expr {
                "github.action_path" => env!("CARGO_MANIFEST_DIR").to_owned(),
                "github.action_repository" => "gaterun-dev/gaterun".to_owned(),
                "runner.os" => "Linux".to_owned(),
                "runner.arch" => "X64".to_owned(),
                other => panic!("the simulation does not know the expression `{other}`"),
            }
        };
        out.push_str(&value);
        rest = &rest[end + 2..];
    }
    out.push_str(rest);
    out
}

/// The `if:` conditions the action uses: terms joined by `&&`, each `success()`,
/// `!cancelled()`, or an input or step output compared with `==` to a quoted string; anything
/// else fails the test. Nothing is cancelled in the simulation.
fn condition_holds(
    condition: &str,
    failed: i32,
    inputs: &HashMap<String, String>,
    steps: &HashMap<String, HashMap<String, String>>,
) -> bool {
    let expr = condition
        .trim()
        .strip_prefix("${{")
        .and_then(|e| e.strip_suffix("}}"))
        .unwrap_or(condition);
    expr.split("&&").all(|term| match term.trim() {
        "success()" => failed == 0,
        "!cancelled()" => true,
        term => {
            let (left, right) = term.split_once("==").expect("a comparison");
            let right = right.trim().trim_matches('\'');
            expand(&format!("${{{{ {} }}}}", left.trim()), inputs, steps) == right
        }
    })
}

fn run_action(workspace: &Path, given: &[(&str, &str)]) -> Outcome {
    let action = action();
    let mut inputs: HashMap<String, String> = HashMap::new();
    for (name, spec) in action["inputs"].as_object().expect("inputs") {
        inputs.insert(
            name.clone(),
            spec["default"].as_str().unwrap_or("").to_owned(),
        );
    }
    for (k, v) in given {
        assert!(inputs.contains_key(*k), "no input {k}");
        inputs.insert((*k).to_owned(), (*v).to_owned());
    }
    assert_eq!(action["runs"]["using"], "composite");
    let temp = tempfile::tempdir().expect("runner temp");
    let summary = temp.path().join("summary.md");
    let bin_dir = common::bin().parent().expect("bin dir").to_path_buf();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut steps: HashMap<String, HashMap<String, String>> = HashMap::new();
    let mut code = 0;
    let mut used = Vec::new();
    let mut stdout = String::new();
    for (n, step) in action["runs"]["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .enumerate()
    {
        // A runner's default `if:` is `success()`: after a failure only steps that ask run.
        let condition = step["if"].as_str().unwrap_or("success()");
        if !condition_holds(condition, code, &inputs, &steps) {
            continue;
        }
        if let Some(uses) = step["uses"].as_str() {
            let with: HashMap<String, String> = step["with"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, v)| {
                    let v = v.as_str().expect("with values are strings");
                    (k.clone(), expand(v, &inputs, &steps))
                })
                .collect();
            // A step that needs GitHub's services (OIDC, Sigstore) is recorded, not run, with
            // what the files it is given hold then (the runner's temp directory goes).
            assert!(
                uses.starts_with("actions/attest@"),
                "the simulation does not know {uses}"
            );
            let mut with = with;
            for key in ["predicate-path", "subject-checksums"] {
                if let Some(path) = with.get(key).cloned() {
                    with.insert(
                        format!("{key} contents"),
                        std::fs::read_to_string(path).unwrap_or_default(),
                    );
                }
            }
            used.push((uses.to_owned(), with));
            continue;
        }
        let script = step["run"].as_str().expect("run or uses steps only");
        assert!(
            !script.contains("${{"),
            "template injection: an expression inside `run:` of step {n}"
        );
        assert_eq!(step["shell"], "bash");
        let output = temp.path().join(format!("output-{n}"));
        std::fs::write(&output, "").expect("output file");
        let mut cmd = Command::new("bash");
        cmd.args([
            "--noprofile",
            "--norc",
            "-e",
            "-o",
            "pipefail",
            "-c",
            script,
        ])
        .current_dir(workspace)
        .env_clear()
        .env("PATH", &path)
        .env("HOME", std::env::var("HOME").unwrap_or_default())
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_WORKSPACE", workspace)
        .env("GITHUB_ACTION_PATH", env!("CARGO_MANIFEST_DIR"))
        .env("GITHUB_OUTPUT", &output)
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("RUNNER_TEMP", temp.path());
        for (k, v) in step["env"].as_object().into_iter().flatten() {
            cmd.env(
                k,
                expand(v.as_str().expect("env values are strings"), &inputs, &steps),
            );
        }
        let out = cmd.output().expect("bash");
        stdout.push_str(&String::from_utf8_lossy(&out.stdout));
        stdout.push_str(&String::from_utf8_lossy(&out.stderr));
        let mut outputs = HashMap::new();
        for line in std::fs::read_to_string(&output).unwrap_or_default().lines() {
            if let Some((k, v)) = line.split_once('=') {
                outputs.insert(k.to_owned(), v.to_owned());
            }
        }
        if let Some(id) = step["id"].as_str() {
            steps.insert(id.to_owned(), outputs);
        }
        if code == 0 {
            code = out.status.code().unwrap_or(-1);
        }
    }
    let mut outputs = HashMap::new();
    for (name, spec) in action["outputs"].as_object().expect("outputs") {
        outputs.insert(
            name.clone(),
            expand(spec["value"].as_str().expect("value"), &inputs, &steps),
        );
    }
    Outcome {
        code,
        used,
        outputs,
        summary: std::fs::read_to_string(summary).unwrap_or_default(),
        stdout,
    }
}

fn fixture() -> Project {
    let p = Project::new();
    p.file(
        "checks/00.yaml",
        "stage: 0\nname: Foundation\ngates:\n  - {id: base, title: t, tags: [fast], run: 'touch \"$PROJECT_ROOT/stage0-ran\"'}\n",
    );
    p.file(
        "checks/01.yaml",
        "stage: 1\nname: Skeleton\ngates:\n  - {id: quick, title: t, tags: [fast], run: 'true'}\n  - {id: slow-fails, title: t, run: 'exit 1'}\n",
    );
    p.file(
        "checks/02.yaml",
        "stage: 2\nname: Later\ngates:\n  - {id: never, title: t, tags: [fast], run: 'exit 1'}\n",
    );
    p
}

#[test]
fn a_passing_stage_through_the_action() {
    let p = fixture();
    let out = run_action(
        p.path(),
        &[
            ("stage", "1"),
            ("gates", "checks"),
            ("evidence", "out"),
            ("args", "--tag fast --jobs 2"),
            ("version", "installed"),
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert_eq!(out.outputs["result"], "passed");
    assert_eq!(out.outputs["junit"], "out/junit.xml");
    assert_eq!(out.outputs["summary"], "out/summary.md");
    assert!(p.path().join("out/junit.xml").is_file());
    assert!(
        out.summary.contains("## gaterun summary"),
        "{}",
        out.summary
    );
    // prereqs: run (the default) ran stage 0 first.
    assert!(p.path().join("stage0-ran").exists());
    assert!(p.path().join("out/phase-1/stage-00/results.json").exists());
    // stage 1 only: stage 2 did not run.
    assert!(!p.path().join("out/phase-1/stage-02").exists());
}

#[test]
fn a_failing_phase_through_the_action() {
    let p = fixture();
    let out = run_action(
        p.path(),
        &[
            ("phase", "1"),
            ("gates", "checks"),
            ("version", "installed"),
        ],
    );
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert_eq!(out.outputs["result"], "failed");
    assert_eq!(out.outputs["junit"], "evidence/junit.xml");
    // attest: false, the default: nothing is signed.
    assert!(out.used.is_empty());
    assert!(
        out.stdout.contains("::error file=checks/01.yaml,line=5,"),
        "{}",
        out.stdout
    );
    assert!(out.summary.contains("slow-fails"), "{}", out.summary);
}

/// `attest: true` hands actions/attest the Statement gaterun wrote: its predicate, its type,
/// and its subjects as checksums of the evidence files — also when a gate failed. Without it,
/// nothing is signed.
#[test]
fn attest_input_signs_the_statement() {
    type Inputs<'a> = &'a [(&'a str, &'a str)];
    let cases: [(Inputs, i32, &str); 3] = [
        (&[("stage", "0")], 0, "PASSED"),
        (&[("phase", "1")], 1, "FAILED"),
        (&[("stage", "1"), ("args", "--tag none")], 4, ""),
    ];
    for (given, code, result) in cases {
        let p = fixture();
        let mut inputs = vec![
            ("gates", "checks"),
            ("evidence", "out"),
            ("attest", "true"),
            ("version", "installed"),
        ];
        inputs.extend_from_slice(given);
        let out = run_action(p.path(), &inputs);
        assert_eq!(out.code, code, "{given:?}: {}", out.stdout);
        if code == 4 {
            // Nothing ran: no Statement to sign, and the attest step says so.
            assert!(out.used.is_empty());
            assert!(
                out.stdout
                    .contains("this run wrote no attestation.intoto.json"),
                "{}",
                out.stdout
            );
            continue;
        }
        assert_eq!(out.outputs["attestation"], "out/attestation.intoto.json");
        assert_eq!(out.used.len(), 1, "{}", out.stdout);
        let (uses, with) = &out.used[0];
        assert!(uses.starts_with("actions/attest@"), "{uses}");
        assert_eq!(
            with["predicate-type"],
            "https://in-toto.io/attestation/test-result/v0.1"
        );
        let predicate: Value =
            serde_json::from_str(&with["predicate-path contents"]).expect("predicate json");
        assert_eq!(predicate["result"], result, "{given:?}");
        let checksums = &with["subject-checksums contents"];
        assert!(checksums.contains("  MANIFEST.json\n"), "{checksums}");
        for line in checksums.lines() {
            let (digest, name) = line.split_once("  ").expect("digest  name");
            let out = Command::new("sha256sum")
                .arg(p.path().join("out").join(name))
                .output()
                .expect("sha256sum");
            assert!(
                String::from_utf8_lossy(&out.stdout).starts_with(digest),
                "{name}"
            );
        }
    }
    // attest: false (the default) signs nothing: `a_failing_phase_through_the_action`.
}

#[test]
fn prereqs_input_reaches_gaterun() {
    let p = fixture();
    let out = run_action(
        p.path(),
        &[
            ("stage", "1"),
            ("gates", "checks"),
            ("prereqs", "check"),
            ("version", "installed"),
        ],
    );
    assert_eq!(out.code, 3, "{}", out.stdout);
    assert_eq!(out.outputs["result"], "blocked");
}

#[test]
fn the_docker_build_matches_the_readme() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README");
    let dockerfile = std::fs::read_to_string(root.join("Dockerfile")).expect("Dockerfile");
    assert!(
        readme.contains("docker build -t gaterun ."),
        "the README shows the build command"
    );
    assert!(
        dockerfile.contains("docker build -t gaterun ."),
        "the Dockerfile's header shows the same command"
    );
    assert!(dockerfile.contains("cargo build --release --locked"));
    assert!(
        dockerfile
            .contains("COPY --from=builder /src/target/release/gaterun /usr/local/bin/gaterun")
    );
    assert!(dockerfile.contains(r#"ENTRYPOINT ["/usr/local/bin/gaterun"]"#));
    for needed in ["postgresql", "sqlite3", "ca-certificates"] {
        assert!(dockerfile.contains(needed), "the image installs {needed}");
    }
}
