//! The hostile-input corpus (`tests/hostile/`): malformed, oversized and adversarial stage
//! files. Each must be refused with exit 2 and a located message (`FILE:LINE:COL: error: …`,
//! the location and message the file's `# expect:` header names), without a panic or a hang,
//! and without writing anything: no evidence directory, no file in the project changed.
//!
//! A file is one case; a directory is one case made of several files (a `gaterun.yaml` in it
//! goes to the project root, the rest into `gates/`). Some cases are generated here rather
//! than committed: a multi-megabyte stage file, a megabyte-long line.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{Project, collect_files, run_guarded};

/// Not a timing assertion: a case taking this long is a hang.
const HANG: Duration = Duration::from_secs(20);

struct Case {
    name: String,
    /// (relative path in the project, bytes)
    files: Vec<(String, Vec<u8>)>,
}

fn corpus() -> Vec<Case> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/hostile");
    let mut entries: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/hostile")
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    let place = |p: &Path| {
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if name == "gaterun.yaml" {
            name
        } else {
            format!("gates/{name}")
        }
    };
    let mut cases = Vec::new();
    for e in entries {
        let name = e.file_name().unwrap().to_string_lossy().into_owned();
        let files = if e.is_dir() {
            let mut inner = Vec::new();
            collect_files(&e, &mut inner);
            inner.sort();
            inner
                .iter()
                .map(|p| (place(p), std::fs::read(p).unwrap()))
                .collect()
        } else {
            vec![(place(&e), std::fs::read(&e).unwrap())]
        };
        cases.push(Case { name, files });
    }
    cases.extend(generated());
    cases
}

/// Cases too large to commit.
fn generated() -> Vec<Case> {
    let gate = |i: usize| {
        format!(
            "  - id: g{i}\n    title: gate {i} {}\n    run: \"true\"\n",
            "and a long acceptance sentence ".repeat(8)
        )
    };
    // About 6 MB of valid gates (long titles), then one typo at the very end.
    let mut big = String::from("stage: 0\nname: big\ngates:\n");
    let mut i = 0;
    while big.len() < 6_000_000 {
        big.push_str(&gate(i));
        i += 1;
    }
    let line = big.lines().count() + 3; // after the header line and `- id: last`
    big.push_str(&format!(
        "  - id: last\n    titel: the typo is at line {line}\n    run: \"true\"\n"
    ));
    let big = format!("# expect: {line}:5 unknown key 'titel'\n{big}");
    // One line of a megabyte: a name no one should write, but must not hurt.
    let long = format!(
        "# expect: 3:1 unknown key 'nam'\nstage: 0\nnam: {}\ngates:\n{}",
        "x".repeat(1 << 20),
        gate(0)
    );
    vec![
        Case {
            name: "generated-multi-megabyte.yaml".into(),
            files: vec![(
                "gates/generated-multi-megabyte.yaml".into(),
                big.into_bytes(),
            )],
        },
        Case {
            name: "generated-megabyte-line.yaml".into(),
            files: vec![(
                "gates/generated-megabyte-line.yaml".into(),
                long.into_bytes(),
            )],
        },
    ]
}

/// `(file in the project, "LINE:COL", message fragment)` from the `# expect:` header.
fn expectation(case: &Case) -> Option<(String, String, String)> {
    case.files.iter().find_map(|(path, bytes)| {
        let first = bytes.split(|&b| b == b'\n').next()?;
        let header = std::str::from_utf8(first)
            .ok()?
            .strip_prefix("# expect: ")?;
        let (at, fragment) = header.split_once(' ')?;
        Some((path.clone(), at.to_owned(), fragment.to_owned()))
    })
}

fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    collect_files(dir, &mut files);
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap_or_default();
            (p, bytes)
        })
        .collect()
}

#[test]
fn every_hostile_stage_file_is_refused_with_a_located_message_and_nothing_written() {
    let cases = corpus();
    assert!(
        cases.len() >= 40,
        "the corpus should hold at least 40 cases, has {}",
        cases.len()
    );
    let any_location = regex::Regex::new(r"(?m)^\S+:[1-9][0-9]*:[1-9][0-9]*: error: ").unwrap();
    let mut slowest = (Duration::ZERO, String::new());
    let mut failures = Vec::new();
    for case in &cases {
        let project = Project::new();
        for (path, bytes) in &case.files {
            let full = project.path().join(path);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(full, bytes).unwrap();
        }
        let before = snapshot(project.path());
        for args in [&["check"][..], &["phase", "1"][..], &["stage", "0"][..]] {
            let (run, took) = run_guarded(&mut project.cmd(args), HANG);
            if took > slowest.0 {
                slowest = (took, format!("{} ({})", case.name, args.join(" ")));
            }
            let mut problems = Vec::new();
            if run.code != 2 {
                problems.push(format!("exit {} instead of 2", run.code));
            }
            if run.stderr.contains("panicked") || run.stderr.contains("RUST_BACKTRACE") {
                problems.push("a panic".to_owned());
            }
            match expectation(case) {
                Some((file, at, fragment)) => {
                    let located = format!("{file}:{at}: error: ");
                    match run.stderr.lines().find(|l| l.starts_with(&located)) {
                        None => problems.push(format!("no line starting `{located}`")),
                        Some(l) if !l.contains(&fragment) => {
                            problems.push(format!("`{l}` does not say `{fragment}`"))
                        }
                        Some(_) => {}
                    }
                }
                None => {
                    if !any_location.is_match(&run.stderr) {
                        problems.push("no located error".to_owned());
                    }
                }
            }
            if project.path().join("evidence").exists() {
                problems.push("an evidence directory was written".to_owned());
            }
            if snapshot(project.path()) != before {
                problems.push("the project's files changed".to_owned());
            }
            if !problems.is_empty() {
                failures.push(format!(
                    "{} (gaterun {}): {}\n--- stderr\n{}",
                    case.name,
                    args.join(" "),
                    problems.join("; "),
                    run.stderr.chars().take(2000).collect::<String>()
                ));
            }
        }
    }
    eprintln!(
        "{} hostile cases, slowest {:?}: {}",
        cases.len(),
        slowest.0,
        slowest.1
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
