//! Issue 21, the command line: the run options belong to the commands that run gates. Each
//! other command's help leaves them out and refuses them (exit 2) instead of ignoring them;
//! written before `stage` or `phase` they are still taken. Exit codes are in `--help`; an
//! unknown phase is an error, not an empty list.

mod common;

use common::Project;

fn project() -> Project {
    let p = Project::new();
    p.stage(
        "phase-1/00.yaml",
        "stage: 0\nname: s\ngates:\n  - id: g\n    title: t\n    steps:\n      - file: data.txt\n        expect: { contains: hi }\n",
    );
    p.file("data.txt", "hi\n");
    p
}

#[test]
fn only_stage_and_phase_take_the_run_options() {
    let p = project();
    for help in [
        &["check", "--help"][..],
        &["list", "--help"],
        &["verify", "--help"],
    ] {
        let out = p.run(help);
        assert_eq!(out.code, 0, "{}", out.stderr);
        for option in [
            "--jobs",
            "--repeat",
            "--containment",
            "--gate ",
            "--progress",
        ] {
            assert!(
                !out.stdout.contains(option),
                "{help:?} lists {option}: {}",
                out.stdout
            );
        }
        assert!(out.stdout.contains("--gates"), "{}", out.stdout);
    }
    let stage = p.run(&["stage", "--help"]);
    for option in [
        "--jobs",
        "--repeat",
        "--containment",
        "--gate <ID>",
        "--progress",
    ] {
        assert!(
            stage.stdout.contains(option),
            "stage --help lacks {option}: {}",
            stage.stdout
        );
    }
    // Every argument is described.
    assert!(stage.stdout.contains("sub-stage"), "{}", stage.stdout);
    assert!(
        stage.stdout.contains("The progress bar"),
        "{}",
        stage.stdout
    );

    // Given to a command that runs no gate: refused, never ignored.
    let after = p.run(&["check", "--gate", "nope", "--repeat", "3"]);
    assert_eq!(after.code, 2, "{}", after.stdout);
    let before = p.run(&["--jobs", "2", "check"]);
    assert_eq!(before.code, 2, "{}", before.stdout);
    assert!(
        before
            .stderr
            .contains("`gaterun check` does not take --jobs"),
        "{}",
        before.stderr
    );
    let quiet = p.run(&["-q", "verify"]);
    assert_eq!(quiet.code, 2, "{}", quiet.stderr);
    // The near miss: the same command without them is fine.
    assert_eq!(p.run(&["check"]).code, 0);

    // Written before or after `stage`, a run option is taken; after wins.
    let early = p.run(&["--containment", "token", "stage", "0"]);
    assert_eq!(early.code, 0, "{}", early.stderr);
    assert_eq!(p.results("stage-00")["containment"], "token");
    let both = p.run(&["--repeat", "3", "stage", "0", "--repeat", "2"]);
    assert_eq!(both.code, 0, "{}", both.stderr);
    assert_eq!(p.results("stage-00")["gates"][0]["attempts"], 2);
}

#[test]
fn help_gives_the_exit_codes_and_an_unknown_phase_is_an_error() {
    let p = project();
    let help = p.run(&["--help"]);
    for code in ["Exit codes:", "  3    blocked", "  130  interrupted"] {
        assert!(help.stdout.contains(code), "{}", help.stdout);
    }
    let none = p.run(&["list", "--phase", "3"]);
    assert_eq!(none.code, 2, "{}", none.stdout);
    assert!(
        none.stderr
            .contains("phase 3 has no stages (phases defined: 1)"),
        "{}",
        none.stderr
    );
    let one = p.run(&["list", "--phase", "1"]);
    assert_eq!(one.code, 0, "{}", one.stderr);
    assert!(one.stdout.contains("phase 1"), "{}", one.stdout);
}
