//! Issue 21, the rough edges a new user met: every argument of every command described, run
//! options refused where they mean nothing, cargo's and nextest's `--fail-fast` habits, a
//! misspelt `--gate` answered with the gate meant and `--tag` with the tags that exist, `list`
//! leading with the full run, `check` of nothing failing, the skeleton's apostrophes.

mod common;

use common::Project;

fn project() -> Project {
    let p = Project::new();
    p.stage(
        "phase-1/00.yaml",
        "stage: 0\nname: Basics\ngates:\n  - id: passing\n    title: t\n    tags: [fast]\n    run: 'true'\n  - id: failing\n    title: t\n    tags: [slow]\n    run: 'exit 1'\n",
    );
    p
}

/// The option and argument lines of a `--help` with nothing under them: clap writes an
/// option's line, then its text indented below.
fn undescribed(help: &str) -> Vec<String> {
    let lines: Vec<&str> = help.lines().collect();
    let mut bare = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let indent = line.len() - line.trim_start().len();
        let text = line.trim_start();
        let is_arg = (2..=6).contains(&indent)
            && (text.starts_with('-') || text.starts_with('<') || text.starts_with('['));
        if is_arg && lines.get(i + 1).is_none_or(|next| next.trim().is_empty()) {
            bare.push(text.to_owned());
        }
    }
    bare
}

#[test]
fn every_argument_of_every_command_is_described() {
    let p = project();
    let top = p.run(&["help"]);
    top.code(0);
    assert_eq!(undescribed(&top.stdout), Vec::<String>::new());
    let commands: Vec<String> = top
        .stdout
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .map(|l| {
            let mut words = l.split_whitespace();
            let name = words.next().expect("name").to_owned();
            assert!(words.next().is_some(), "command {name} has no description");
            name
        })
        .collect();
    assert!(commands.len() >= 10, "{commands:?}");
    for command in commands.iter().filter(|c| *c != "help") {
        let out = p.run(&[command, "--help"]);
        out.code(0);
        let bare = undescribed(&out.stdout);
        assert!(
            bare.is_empty(),
            "`{command} --help` does not describe {bare:?}"
        );
    }
    // The near miss: an option line with nothing under it is found.
    assert_eq!(
        undescribed(
            "Options:\n      --phase <PHASE>\n          \n\n  -h, --help\n          Print help\n"
        ),
        vec!["--phase <PHASE>".to_owned()]
    );
}

#[test]
fn stage_and_phase_list_their_options_in_one_order() {
    let p = project();
    let options = |command: &str| -> Vec<String> {
        let out = p.run(&[command, "--help"]);
        out.stdout
            .lines()
            .filter(|l| l.starts_with("  -") || l.starts_with("      --"))
            .map(|l| l.trim().to_owned())
            .filter(|l| !l.starts_with("--phase"))
            .collect()
    };
    let (stage, phase) = (options("stage"), options("phase"));
    assert_eq!(stage, phase);
    // The project's roots come after the run's options, not among them.
    let at = |o: &str| stage.iter().position(|l| l.contains(o)).expect(o);
    assert!(at("--failure-lines") < at("--gates"), "{stage:?}");
    assert!(at("--message-format") < at("--gates"), "{stage:?}");
}

#[test]
fn keep_going_is_refused_where_there_is_nothing_to_go_on_past() {
    let p = project();
    let out = p.run(&["stage", "0", "--keep-going"]);
    out.code(2);
    assert!(
        out.stderr
            .contains("--keep-going applies with --prereqs run"),
        "{}",
        out.stderr
    );
    p.run(&["--keep-going", "stage", "0"]).code(2);
    p.run(&["stage", "0", "--no-fail-fast"]).code(2);
    // With earlier stages to run it means something; `--fail-fast` (the default) undoes it.
    let run = p.run(&["stage", "0", "--keep-going", "--prereqs", "run"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let run = p.run(&["--keep-going", "stage", "0", "--fail-fast"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let run = p.run(&["stage", "0", "--fail-fast"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
}

#[test]
fn no_fail_fast_is_keep_going_for_a_phase() {
    let p = project();
    p.stage(
        "phase-1/01.yaml",
        "stage: 1\nname: Next\ngates:\n  - id: later\n    title: t\n    run: 'true'\n",
    );
    let stopped = p.run(&["phase", "1"]);
    stopped.code(1);
    assert!(
        !p.evidence("phase-1/stage-01/logs/later.log").exists(),
        "{}",
        stopped.stderr
    );
    p.run(&["phase", "1", "--no-fail-fast"]).code(1);
    assert!(p.evidence("phase-1/stage-01/logs/later.log").is_file());
    // The last written of the two wins.
    p.run(&["phase", "1", "--no-fail-fast", "--fail-fast"])
        .code(1);
    p.run(&["phase", "1", "--fail-fast", "--keep-going"])
        .code(1);
}

#[test]
fn schema_and_init_refuse_a_root_they_would_ignore() {
    let p = project();
    for root in ["--gates", "--evidence"] {
        let out = p.run(&["schema", root, "/x"]);
        out.code(2);
        assert!(out.stderr.contains("reads no project"), "{}", out.stderr);
    }
    let out = p.run(&["init", "--evidence", "/x"]);
    out.code(2);
    assert!(out.stderr.contains("no evidence"), "{}", out.stderr);
    assert!(!p.path().join("gates/phase-2").exists());
    let out = p.run(&["schema", "--color", "never"]);
    out.code(0);
    assert!(out.stdout.starts_with('{'));
}

#[test]
fn a_gate_or_tag_that_matches_nothing_says_what_exists() {
    let p = project();
    let out = p.run(&["stage", "0", "--gate", "faling"]);
    out.code(4);
    assert!(
        out.stderr
            .contains("no gate `faling`, did you mean `failing`?"),
        "{}",
        out.stderr
    );
    let out = p.run(&["stage", "0", "--gate", "zzzzzz"]);
    out.code(4);
    assert!(out.stderr.contains("no gate `zzzzzz`"), "{}", out.stderr);
    assert!(!out.stderr.contains("did you mean"), "{}", out.stderr);
    let out = p.run(&["stage", "0", "--tag", "nope"]);
    out.code(4);
    assert!(
        out.stderr
            .contains("no gate has tag `nope` (the tags: fast, slow)"),
        "{}",
        out.stderr
    );
    let out = p.run(&["phase", "1", "--tag", "fats"]);
    out.code(4);
    assert!(
        out.stderr.contains("the tags: fast, slow"),
        "{}",
        out.stderr
    );
    // Each matches, not together: the gates are named.
    let out = p.run(&["stage", "0", "--gate", "passing", "--tag", "slow"]);
    out.code(4);
    assert!(
        out.stderr.contains("(its gates: passing, failing)"),
        "{}",
        out.stderr
    );
}

#[test]
fn list_leads_with_the_full_run_and_marks_flaky_gates() {
    let p = project();
    p.stage(
        "phase-1/01.yaml",
        "stage: 1\nname: Flaky\ngates:\n  - id: interrupted-x\n    title: t\n    run: 'if [ -e once ]; then exit 1; fi; touch once'\n",
    );
    p.run(&["stage", "0"]).code(1);
    p.run(&["stage", "0", "--gate", "passing"]).code(0);
    p.run(&["stage", "1", "--prereqs", "ignore", "--repeat", "2"]);
    let list = p.run(&["list"]);
    list.code(0);
    let line = list
        .stdout
        .lines()
        .find(|l| l.contains("stage 0"))
        .expect("stage 0");
    assert!(line.contains("Basics"), "{line}");
    let full = line.find(" failed 1/2 at ").expect(line);
    let partial = line.find("; partial run: passed 1/1 at ").expect(line);
    assert!(full < partial, "{line}");
    assert!(line.ends_with(" (--gate passing)"), "{line}");
    let flaky = list
        .stdout
        .lines()
        .find(|l| l.contains("interrupted-x:"))
        .expect("gate listed");
    assert!(flaky.contains(" (flaky) "), "{flaky}");
    // A fixed column: each status, however long, leaves space before the gate id.
    for l in list
        .stdout
        .lines()
        .filter(|l| l.ends_with(": t") || l.contains(": t ["))
    {
        assert_eq!(&l[20..21], " ", "{l}");
        assert_ne!(&l[21..22], " ", "{l}");
    }
}

#[test]
fn check_of_no_stage_files_fails_and_says_why() {
    let p = Project::new();
    std::fs::create_dir_all(p.path().join("gates")).expect("mkdir");
    let out = p.run(&["check"]);
    out.code(2);
    assert!(out.stderr.contains("nothing to check"), "{}", out.stderr);
    assert!(!out.stdout.contains("ok"), "{}", out.stdout);
    // No gate file was read: the count does not say "in gate files".
    assert!(out.stderr.trim_end().ends_with("1 error"), "{}", out.stderr);
    std::fs::remove_dir(p.path().join("gates")).expect("rmdir");
    let out = p.run(&["check"]);
    out.code(2);
    assert!(
        out.stderr.contains("no gates directory here"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("in gate files"), "{}", out.stderr);
    // The near miss: one stage file is enough.
    project().run(&["check"]).code(0);
}

#[test]
fn init_keeps_the_apostrophe_in_what_the_placeholder_says() {
    let p = Project::new();
    std::fs::remove_dir_all(p.path().join("gates")).ok();
    p.run(&["init"]).code(0);
    let run = p.run(&["stage", "0"]);
    run.code(1);
    let log = p.read("phase-1/stage-00/logs/placeholder.log");
    assert!(
        log.contains("not written yet: Write this stage's objective"),
        "{log}"
    );
}

#[test]
fn a_misspelt_name_in_a_shell_string_is_a_warning() {
    let p = Project::new();
    // Spelt right, set by the string itself, given a default, quoted away, or near nothing:
    // no warning.
    p.stage(
        "s.yaml",
        "stage: 0\nname: s\ngates:\n  - id: g\n    title: t\n    env:\n      OUT_DIR: x\n    run: 'mkdir -p \"${GATE_TMP}/out\" \"$OUT_DIR\"; COUNTER=1; echo ${COUNTER}; for ITEM in a; do echo $ITEM; done; echo ${GATE_TEMP:-x} ''$GATE_TEMP'' $ZZQQXXWW'\n",
    );
    let out = p.run(&["check"]);
    out.code(0);
    assert!(!out.stderr.contains("warning"), "{}", out.stderr);
    assert_eq!(out.stdout.trim(), "ok: 1 stage file, 1 gate, 1 phase");
    p.run(&["stage", "0"]).code(0);

    // The near miss: the built-in is GATE_TMP. A warning, located, and the run still goes.
    p.stage(
        "s.yaml",
        "stage: 0\nname: s\nservices:\n  api:\n    run: 'echo ${PORTT}; sleep 1'\n    ready: { log: x }\n    start: manual\nsetup:\n  - run: 'echo $GATE_IDD'\ngates:\n  - id: g\n    title: t\n    env:\n      OUT_DIR: x\n    run: 'mkdir -p \"${GATE_TEMP}/out\" \"$OUT_DRI\"'\n",
    );
    let out = p.run(&["check"]);
    out.code(0);
    for want in [
        "gates/s.yaml:15:21: warning: ${GATE_TEMP} is set nowhere gaterun knows, did you mean ${GATE_TMP} (a built-in)? (the shell leaves an unset name empty)",
        "gates/s.yaml:15:40: warning: $OUT_DRI is set nowhere gaterun knows, did you mean $OUT_DIR (the env)?",
        "gates/s.yaml:5:16: warning: ${PORTT} is set nowhere gaterun knows, did you mean ${PORT} (service api)?",
        "gates/s.yaml:9:16: warning: $GATE_IDD is set nowhere gaterun knows, did you mean $GATE_ID (a built-in)?",
    ] {
        assert!(out.stderr.contains(want), "{want}\n{}", out.stderr);
    }
    assert!(out.stdout.contains(", 4 warnings"), "{}", out.stdout);
}
