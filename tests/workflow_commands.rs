//! `--github` output (a run's on stderr) through a port of the GitHub runner's own command parsing
//! (actions/runner `ActionCommandManager.TryProcessCommand`, `ActionCommand.TryParseV2` and
//! `TryParse`): lines split at CR and LF, `::cmd::` after leading white space, the old
//! `##[cmd]` form anywhere in a line, `stop-commands` and its resume token. Gates print every
//! injection we know; the only commands the runner may see are gaterun's own.

mod common;

use std::collections::HashSet;

use common::Project;

/// The commands the runner registers (its extensions, plus `stop-commands`).
const REGISTERED: &[&str] = &[
    "stop-commands",
    "set-env",
    "set-output",
    "save-state",
    "add-mask",
    "add-path",
    "add-matcher",
    "remove-matcher",
    "debug",
    "warning",
    "error",
    "notice",
    "group",
    "endgroup",
    "echo",
];

#[derive(Debug, Clone, PartialEq)]
struct Seen {
    command: String,
    data: String,
}

struct RunnerParser {
    registered: HashSet<String>,
    stop_token: Option<String>,
    seen: Vec<Seen>,
}

impl RunnerParser {
    fn new() -> Self {
        RunnerParser {
            registered: REGISTERED.iter().map(|c| c.to_string()).collect(),
            stop_token: None,
            seen: Vec::new(),
        }
    }

    fn known(&self, name: &str) -> bool {
        self.registered.contains(&name.to_ascii_lowercase())
    }

    /// `::name props::data`, after leading white space.
    fn parse_v2(&self, message: &str) -> Option<(String, String)> {
        let message = message.trim_start();
        let rest = message.strip_prefix("::")?;
        let end = rest.find("::")?;
        let info = &rest[..end];
        let name = info.split(' ').next().unwrap_or("");
        self.known(name)
            .then(|| (name.to_owned(), rest[end + 2..].to_owned()))
    }

    /// `##[name props]data`, anywhere in the line.
    fn parse_v1(&self, message: &str) -> Option<(String, String)> {
        let start = message.find("##[")?;
        let rb = message[start..].find(']')? + start;
        let info = &message[start + 3..rb];
        let name = info.split(' ').next().unwrap_or("");
        self.known(name)
            .then(|| (name.to_owned(), message[rb + 1..].to_owned()))
    }

    fn feed(&mut self, stdout: &str) {
        for line in stdout.split(['\r', '\n']) {
            self.line(line);
        }
    }

    fn line(&mut self, input: &str) {
        if input.is_empty() {
            return;
        }
        let Some((command, data)) = self.parse_v2(input).or_else(|| self.parse_v1(input)) else {
            return;
        };
        if let Some(token) = self.stop_token.clone() {
            if command.eq_ignore_ascii_case(&token) {
                self.registered.remove(&token.to_ascii_lowercase());
                self.stop_token = None;
                self.seen.push(Seen {
                    command: "resume".to_owned(),
                    data: token,
                });
            }
            return;
        }
        if command.eq_ignore_ascii_case("stop-commands") {
            self.registered.insert(data.to_ascii_lowercase());
            self.stop_token = Some(data.clone());
        }
        self.seen.push(Seen {
            command: command.to_ascii_lowercase(),
            data,
        });
    }
}

#[test]
fn the_parser_port_sees_what_the_runner_sees() {
    let mut p = RunnerParser::new();
    p.feed("hello\n  ::warning::w\nx ##[add-mask]gates\ny\r::set-output name=ok::1\n::nope::z\n");
    let names: Vec<&str> = p.seen.iter().map(|s| s.command.as_str()).collect();
    assert_eq!(names, ["warning", "add-mask", "set-output"]);
    let mut p = RunnerParser::new();
    p.feed("::stop-commands::t0k\n::error::hidden\n##[debug]hidden\n::t0k::\n::debug::seen\n");
    let names: Vec<&str> = p.seen.iter().map(|s| s.command.as_str()).collect();
    assert_eq!(names, ["stop-commands", "resume", "debug"]);
}

/// What each hostile gate prints; every one of them fails, so its output reaches the group,
/// the `✗` line (a preview in the failure message), `--verbose`'s tail and the annotation.
const HOSTILE: &[(&str, &str)] = &[
    ("old-stop", r"printf '##[stop-commands]x\n'"),
    ("old-mask", r"printf 'a ##[add-mask]gates\n'"),
    ("new-error", r"printf '::error::pwned\n'"),
    ("cr-output", r"printf 'x\r::set-output name=ok::1\n'"),
    ("cr-only", r"printf 'x\r##[set-output name=ok]1'"),
    (
        "own-stop",
        r"printf '::stop-commands::abc\n::set-output name=a::b\n::abc::\n::add-path::/evil\n'",
    ),
    ("indented", r"printf '   ::warning::w\n\t##[debug]d\n'"),
    (
        "escaped",
        r"printf '%%0A::set-env name=X::1 %%0D##[add-mask]y\n'",
    ),
    ("endgroup", r"printf '::endgroup::\n::error file=x::fake\n'"),
    ("long", r"printf '%0200d ##[add-path]/x\n' 0"),
    ("filler-1", r"echo one"),
    ("filler-2", r"echo two"),
];

#[test]
fn no_gate_output_becomes_a_workflow_command() {
    let p = Project::new();
    let mut stage = String::from("stage: 0\nname: Hostile\ngates:\n");
    for (id, cmd) in HOSTILE {
        stage.push_str(&format!(
            "  - id: {id}\n    title: prints {id}\n    secrets: [GATERUN_TEST_SECRET]\n    run: \"{}\"\n    expect: {{ stdout: never-there }}\n",
            cmd.replace('\\', "\\\\").replace('"', "\\\"")
        ));
    }
    p.stage("00.yaml", &stage);
    let summary = p.path().join("step-summary.md");
    let outputs = p.path().join("outputs.txt");
    let out = p
        .cmd(&["stage", "0", "--github", "--verbose", "--jobs", "4"])
        .env("GATERUN_TEST_SECRET", "s3cret-value-1")
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("GITHUB_OUTPUT", &outputs)
        .output()
        .expect("run gaterun");
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let mut runner = RunnerParser::new();
    runner.feed(&stdout);
    runner.feed(&stderr);
    assert!(
        runner.stop_token.is_none(),
        "a stop-commands block was left open:\n{stdout}"
    );

    let mut tokens = Vec::new();
    let mut errors = Vec::new();
    for s in &runner.seen {
        match s.command.as_str() {
            "add-mask" => assert!(
                gaterun::mask::forms("s3cret-value-1").contains(&s.data),
                "{stdout}"
            ),
            "group" | "endgroup" => {}
            "stop-commands" => {
                assert_eq!(s.data.len(), 32, "a 128-bit token");
                tokens.push(s.data.clone());
            }
            "resume" => assert_eq!(tokens.last(), Some(&s.data)),
            "error" => errors.push(s.data.clone()),
            other => panic!("the runner saw `{other}` ({:?}):\n{stdout}", s.data),
        }
    }
    // One group per failed gate, each with its own token.
    assert_eq!(tokens.len(), HOSTILE.len());
    assert_eq!(tokens.iter().collect::<HashSet<_>>().len(), tokens.len());
    // 12 failures: exactly 10 annotations, the tenth naming the three it stands for.
    assert_eq!(errors.len(), 10, "{errors:#?}");
    assert!(
        errors
            .last()
            .is_some_and(|e| e.starts_with("3 more gates failed")),
        "{errors:#?}"
    );
}

/// A project in a subdirectory of its repository: the annotation, JUnit's `file` and
/// results.json name the stage file from the repository's top, the same in each; a config
/// error's annotation too.
#[test]
fn a_project_in_a_subdirectory_names_files_from_the_repository_top() {
    let repo = tempfile::tempdir().expect("temp dir");
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .current_dir(repo.path())
            .output()
            .expect("git")
    };
    if !git(&["init", "-q"]).status.success() {
        eprintln!("skipped: git init failed");
        return;
    }
    let project = repo.path().join("services/api");
    std::fs::create_dir_all(project.join("gates")).expect("mkdir");
    std::fs::write(project.join("gaterun.yaml"), "gates: gates\n").expect("write");
    std::fs::write(
        project.join("gates/00.yaml"),
        "stage: 0\nname: S\ngates:\n  - id: a\n    title: t\n    run: 'exit 1'\n",
    )
    .expect("write");
    let run = |args: &[&str]| {
        let out = std::process::Command::new(common::bin())
            .args(args)
            .current_dir(&project)
            .env_remove("GITHUB_ACTIONS")
            .env_remove("GITHUB_WORKSPACE")
            .output()
            .expect("gaterun");
        // A run's annotations are on stderr, check's on stdout.
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    };
    let stdout = run(&["stage", "0", "--github"]);
    let file = "services/api/gates/00.yaml";
    assert!(
        stdout.contains(&format!("::error file={file},line=4,")),
        "{stdout}"
    );
    let junit = std::fs::read_to_string(project.join("evidence/junit.xml")).expect("junit");
    assert!(junit.contains(&format!("file=\"{file}\"")), "{junit}");
    let results =
        std::fs::read_to_string(project.join("evidence/phase-1/stage-00/results.json")).expect("r");
    assert!(
        results.contains(&format!("\"file\": \"{file}\"")),
        "{results}"
    );
    // A config error is annotated at the same name.
    std::fs::write(
        project.join("gates/00.yaml"),
        "stage: 0\nname: S\ngates:\n  - id: a\n    titel: t\n    run: 'true'\n",
    )
    .expect("write");
    let stdout = run(&["check", "--github"]);
    assert!(
        stdout.contains(&format!("::error file={file},line=5,")),
        "{stdout}"
    );
}

/// Under `--github`, a gate's title (the project's text) is shown with its escapes visible in
/// the group and the annotation, never raw to the log viewer; a failed gate's one long output
/// line is cut in its group, the rest left to the log.
#[test]
fn a_hostile_title_and_a_huge_line_stay_inert_in_the_group() {
    let p = Project::new();
    p.stage(
        "00.yaml",
        "stage: 0\nname: Titles\ngates:\n  - id: t\n    title: \"T\\e]0;PWNED\\a\\e[31mred\\u202Eevil\"\n    run: \"head -c 50000 /dev/zero | tr '\\\\0' x; echo; exit 1\"\n",
    );
    let out = p
        .cmd(&["stage", "0", "--github"])
        .env("GITHUB_STEP_SUMMARY", p.path().join("s.md"))
        .env("GITHUB_OUTPUT", p.path().join("o.txt"))
        .output()
        .expect("run gaterun");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains('\x1b'), "{stderr:?}");
    assert!(!stderr.contains('\u{202E}'), "{stderr:?}");
    let group = stderr
        .lines()
        .find(|l| l.starts_with("::group::"))
        .expect("a group");
    assert!(group.contains(r"T\u{1b}]0;PWNED\u{7}"), "{group}");
    assert!(
        stderr
            .lines()
            .find(|l| l.starts_with("::error "))
            .is_some_and(|l| l.contains(r"\u{202e}evil")),
        "{stderr}"
    );
    // The 50,000 x's: cut at 1,000, saying how many more.
    assert!(
        stderr.contains(&format!(
            "{}… (49000 more characters, see the log)",
            "x".repeat(1000)
        )),
        "{}",
        &stderr[..stderr.len().min(3000)]
    );
    assert!(
        stderr.lines().all(|l| l.chars().count() < 1100),
        "a line is longer"
    );
}
