//! Phases build on each other: a stage of phase N runs only when every earlier phase stands
//! signed off with its current definitions (`phase-N/signoff.json`), each with the value that
//! must pass and the near miss that must not.

mod common;

use common::Project;

const SIGNOFF_STAGE: &str = "stage: 10\nname: Sign-off\ngates:\n  - id: signoff\n    title: signed off\n    run: ['${GATERUN}', signoff, --phase, '1']\n";

/// Phase 1: stage 0 (fails while `fail` exists in the project) and the sign-off stage; phase 2:
/// stage 0. Phase 1 is current.
fn two_phases() -> Project {
    let p = Project::new();
    p.file("gaterun.yaml", "current_phase: 1\n");
    p.stage(
        "phase-1/00.yaml",
        "stage: 0\nname: Base\ngates:\n  - {id: a, title: base holds, run: 'test ! -e \"$PROJECT_ROOT/fail\"'}\n",
    );
    p.stage("phase-1/10.yaml", SIGNOFF_STAGE);
    p.stage(
        "phase-2/00.yaml",
        "phase: 2\nstage: 0\nname: UI\ngates:\n  - {id: b, title: page shows, run: 'true'}\n",
    );
    p
}

fn blocked_on_phase_1(p: &Project, args: &[&str], why: &str) {
    let run = p.run(args);
    run.code(3);
    let line = run
        .stderr
        .lines()
        .find(|l| l.starts_with("error: blocked:"))
        .unwrap_or_else(|| panic!("no blocked line:\n{}", run.stderr));
    assert!(
        line.contains("phase 1 is not signed off") && line.contains("run `gaterun phase 1`"),
        "{line}"
    );
    assert!(line.contains(why), "{line}");
}

#[test]
fn phase_2_on_fresh_evidence_is_blocked_naming_phase_1() {
    let p = two_phases();
    let why = "no phase-1/signoff.json in the evidence";
    blocked_on_phase_1(&p, &["stage", "0", "--phase", "2"], why);
    blocked_on_phase_1(&p, &["phase", "2"], why);
    assert!(
        !p.evidence("phase-2").exists(),
        "a blocked phase writes nothing"
    );
    // `ignore` is the way around it, as for stages; but a phase run that way is never signed
    // off on top of one that is not.
    p.run(&["stage", "0", "--phase", "2", "--prereqs", "ignore"])
        .code(0);
    let run = p.run(&["signoff", "--phase", "2"]);
    run.code(1);
    assert!(
        run.stderr.contains(
            "phase 1, which phase 2 builds on, is not signed off: no phase-1/signoff.json in the evidence; run `gaterun phase 1`"
        ),
        "{}",
        run.stderr
    );
    assert!(!p.evidence("phase-2/signoff.json").exists());
}

#[test]
fn phase_1_signed_off_lets_phase_2_run_and_an_edit_after_blocks_it_again() {
    let p = two_phases();
    let list = p.run(&["list"]);
    assert!(
        list.stdout
            .contains("phase 2 (blocked: phase 1 is not signed off)\n"),
        "{}",
        list.stdout
    );
    p.run(&["phase", "1"]).code(0);
    let list = p.run(&["list"]);
    assert!(
        list.stdout.contains("phase 1 (signed off at ") && list.stdout.contains("phase 2\n"),
        "{}",
        list.stdout
    );
    let ledger: serde_json::Value =
        serde_json::from_str(&p.read("phase-1/signoff.json")).expect("signoff.json parses");
    assert_eq!(ledger["phase"], 1);
    assert_eq!(ledger["stages"].as_array().map(Vec::len), Some(2));
    assert!(
        ledger["definitions"]
            .as_str()
            .is_some_and(|d| d.starts_with("sha256:")),
        "{ledger}"
    );
    p.run(&["stage", "0", "--phase", "2"]).code(0);
    p.run(&["verify"]).code(0);

    // Formatting and comments are no change of definition.
    let file = p.path().join("gates/phase-1/00.yaml");
    let text = std::fs::read_to_string(&file).expect("stage file");
    p.stage("phase-1/00.yaml", &format!("# reformatted\n{text}\n\n"));
    p.run(&["stage", "0", "--phase", "2"]).code(0);

    // The near miss: one word of a gate's title.
    p.stage(
        "phase-1/00.yaml",
        &text.replace("base holds", "base still holds"),
    );
    blocked_on_phase_1(
        &p,
        &["stage", "0", "--phase", "2"],
        "stage 0 changed in gates/phase-1/00.yaml",
    );
    let verify = p.run(&["verify"]);
    verify.code(1);
    assert!(
        verify
            .stdout
            .contains("phase-1/signoff.json: stale: phase 1's definitions changed"),
        "{}",
        verify.stdout
    );
    // A stage added to phase 1 changes its definitions too.
    p.stage("phase-1/00.yaml", &text);
    p.run(&["stage", "0", "--phase", "2"]).code(0);
    p.stage(
        "phase-1/01.yaml",
        "stage: 1\nname: More\ngates:\n  - {id: c, title: more, run: 'true'}\n",
    );
    blocked_on_phase_1(
        &p,
        &["stage", "0", "--phase", "2"],
        "stage 1 added in gates/phase-1/01.yaml",
    );
}

#[test]
fn a_partial_run_never_signs_a_phase_off() {
    let p = two_phases();
    p.run(&["stage", "0"]).code(0);
    // Every gate of stage 10, and it passes: still a partial run, which signs nothing off.
    p.run(&["stage", "10", "--gate", "signoff"]).code(0);
    assert!(!p.evidence("phase-1/signoff.json").exists());
    blocked_on_phase_1(
        &p,
        &["stage", "0", "--phase", "2"],
        "no phase-1/signoff.json",
    );
    // Signed off, then a partial run of stage 0 that fails: the full pass still stands.
    p.run(&["stage", "10"]).code(0);
    p.file("fail", "");
    p.run(&["stage", "0", "--gate", "a"]).code(1);
    p.run(&["stage", "0", "--phase", "2"]).code(0);
    // A full run that fails withdraws the sign-off.
    p.run(&["stage", "0"]).code(1);
    assert!(!p.evidence("phase-1/signoff.json").exists());
    assert!(!p.evidence("phase-1/SIGNOFF.md").exists());
    blocked_on_phase_1(
        &p,
        &["stage", "0", "--phase", "2"],
        "no phase-1/signoff.json",
    );
}

#[test]
fn prereqs_run_runs_phase_1_then_phase_2() {
    let p = two_phases();
    let run = p.run(&["stage", "0", "--phase", "2", "--prereqs", "run"]);
    run.code(0);
    let order: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("phase-"))
        .map(|l| l.split(' ').next().unwrap_or_default())
        .collect();
    assert_eq!(
        order,
        ["phase-1/stage-00", "phase-1/stage-10", "phase-2/stage-00"],
        "{}",
        run.stderr
    );
    assert!(p.evidence("phase-1/signoff.json").exists());
    // Signed off now: a second run runs phase 2 alone.
    let run = p.run(&["phase", "2", "--prereqs", "run"]);
    run.code(0);
    // (stderr also has check's warnings about gates/phase-1/ files: the stage lines matter)
    let ran = |label: &str| run.stderr.lines().any(|l| l.starts_with(label));
    assert!(!ran("phase-1/"), "{}", run.stderr);
    assert!(ran("phase-2/"), "{}", run.stderr);
}

#[test]
fn prereqs_run_stops_at_a_failing_phase_1_with_its_exit_code() {
    let p = two_phases();
    p.file("fail", "");
    let run = p.run(&["stage", "0", "--phase", "2", "--prereqs", "run"]);
    run.code(1);
    assert!(
        run.stderr
            .contains("phase 2 not run: stage 0 of phase 1 failed"),
        "{}",
        run.stderr
    );
    assert!(!p.evidence("phase-2").exists());
}

#[test]
fn prereqs_run_blocks_when_phase_1_passes_without_being_signed_off() {
    let p = Project::new();
    p.stage(
        "phase-1/00.yaml",
        "stage: 0\nname: Base\ngates:\n  - {id: a, title: t, run: 'true'}\n",
    );
    p.stage(
        "phase-2/00.yaml",
        "phase: 2\nstage: 0\nname: UI\ngates:\n  - {id: b, title: t, run: 'true'}\n",
    );
    let run = p.run(&["stage", "0", "--phase", "2", "--prereqs", "run"]);
    run.code(3);
    assert!(
        run.stderr.contains(
            "blocked: phase 2 not run: phase 1 is not signed off (no phase-1/signoff.json in the evidence): run `gaterun phase 1` then `gaterun signoff --phase 1`"
        ),
        "{}",
        run.stderr
    );
    assert!(!p.evidence("phase-2").exists());
    p.run(&["signoff", "--phase", "1"]).code(0);
    p.run(&["stage", "0", "--phase", "2"]).code(0);
}

#[test]
fn prereqs_run_goes_down_every_phase_not_signed_off() {
    let p = two_phases();
    p.stage(
        "phase-2/10.yaml",
        &SIGNOFF_STAGE
            .replace("stage: 10", "phase: 2\nstage: 10")
            .replace("'1'", "'2'"),
    );
    p.stage(
        "phase-3/00.yaml",
        "phase: 3\nstage: 0\nname: Integrations\ngates:\n  - {id: c, title: t, run: 'true'}\n",
    );
    let run = p.run(&["stage", "0", "--phase", "3"]);
    run.code(3);
    assert!(
        run.stderr.contains("phase 1 is not signed off"),
        "{}",
        run.stderr
    );
    let run = p.run(&["stage", "0", "--phase", "3", "--prereqs", "run"]);
    run.code(0);
    let stages = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("phase-"))
        .count();
    assert_eq!(stages, 5, "{}", run.stderr);
    assert!(p.evidence("phase-2/signoff.json").exists());
    p.run(&["verify"]).code(0);
    // Phase 1 changed: phase 3 is blocked on it, though phase 2 stands signed off.
    p.stage(
        "phase-1/00.yaml",
        "stage: 0\nname: Base, renamed\ngates:\n  - {id: a, title: base holds, run: 'true'}\n",
    );
    let run = p.run(&["stage", "0", "--phase", "3"]);
    run.code(3);
    assert!(
        run.stderr
            .contains("phase 1 is not signed off (its definitions changed"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_forged_or_broken_ledger_is_an_error_never_a_pass() {
    let p = two_phases();
    p.run(&["phase", "1"]).code(0);
    let path = p.evidence("phase-1/signoff.json");
    let good = std::fs::read_to_string(&path).expect("ledger");

    // Edited by hand, still well formed: not the file gaterun wrote.
    let edited = good.replacen("\"commit\": null", "\"commit\": \"deadbeef\"", 1);
    assert_ne!(edited, good);
    std::fs::write(&path, &edited).expect("write");
    let run = p.run(&["stage", "0", "--phase", "2"]);
    run.code(3);
    assert!(
        run.stderr
            .contains("its sign-off ledger does not agree (phase-1/signoff.json: its sha256 differs from MANIFEST.json's"),
        "{}",
        run.stderr
    );

    // Not a ledger at all; one of another phase; a digest its stage list does not give.
    for (text, why) in [
        (
            "{\"x\": 1}",
            "not a gaterun sign-off ledger (unknown field `x`",
        ),
        ("[]", "not a gaterun sign-off ledger"),
        (
            &good.replacen("\"phase\": 1", "\"phase\": 2", 1) as &str,
            "it is the ledger of phase 2",
        ),
        (
            &good.replacen(
                "\"definitions\": \"sha256:",
                "\"definitions\": \"sha256:0",
                1,
            ),
            "its definitions digest is not the one its stage list gives",
        ),
    ] {
        std::fs::write(&path, text).expect("write");
        let run = p.run(&["stage", "0", "--phase", "2"]);
        run.code(3);
        assert!(run.stderr.contains(why), "{text}: {}", run.stderr);
    }

    // A link to a good copy is never followed; a FIFO is never waited on.
    let copy = p.path().join("copy.json");
    std::fs::write(&copy, &good).expect("write");
    std::fs::remove_file(&path).expect("rm");
    std::os::unix::fs::symlink(&copy, &path).expect("symlink");
    let run = p.run(&["stage", "0", "--phase", "2"]);
    run.code(3);
    assert!(run.stderr.contains("symbolic link"), "{}", run.stderr);
    std::fs::remove_file(&path).expect("rm");
    let made = std::process::Command::new("mkfifo")
        .arg(&path)
        .status()
        .is_ok_and(|s| s.success());
    if made {
        let run = p.run(&["stage", "0", "--phase", "2"]);
        run.code(3);
        assert!(run.stderr.contains("unreadable"), "{}", run.stderr);
        std::fs::remove_file(&path).expect("rm");
    }

    // The real one back, and the phase's sign-off stands again.
    p.run(&["stage", "10"]).code(0);
    p.run(&["stage", "0", "--phase", "2"]).code(0);
}

#[test]
fn init_never_writes_a_second_copy_of_a_phase_and_names_the_phase_it_wrote() {
    let p = Project::new();
    let run = p.run(&["init"]);
    run.code(0);
    assert!(
        run.stdout
            .contains("next: replace each placeholder gate with real checks, then `gaterun check` and `gaterun stage 0 --phase 1`"),
        "{}",
        run.stdout
    );
    // Phase 2 defined already, under a layout of the project's own.
    p.stage(
        "ui/home.yaml",
        "phase: 2\nstage: 0\nname: Home\ngates:\n  - {id: h, title: t, run: 'true'}\n",
    );
    let run = p.run(&["init", "--template", "ui"]);
    run.code(2);
    assert!(
        run.stderr.contains(
            "phase 2 already has stage files under gates: not writing a second copy; to write the ui template as another phase, `gaterun init --template ui --phase 3`"
        ),
        "{}",
        run.stderr
    );
    assert!(!p.path().join("gates/phase-2").exists());
    // The near miss of the old check: same phase, other file names, still refused.
    p.run(&["init", "--template", "backend"]).code(2);
    let run = p.run(&["init", "--template", "ui", "--phase", "3"]);
    run.code(0);
    assert!(
        run.stdout
            .contains("wrote gates/phase-3/00-pre-flight-verification.yaml")
            && run.stdout.contains("`gaterun stage 0 --phase 3`"),
        "{}",
        run.stdout
    );
    let signoff = std::fs::read_to_string(p.path().join("gates/phase-3/10-phase-sign-off.yaml"))
        .expect("stage 10");
    assert!(
        signoff.contains("phase: 3\n") && signoff.contains("--phase, \"3\""),
        "{signoff}"
    );
    p.run(&["check"]).code(0);
    // A phase directory whose stage file does not even parse still claims its phase.
    p.file("gates/phase-4/broken.yaml", "phase: [\n");
    let run = p.run(&["init", "--template", "integrations", "--phase", "4"]);
    run.code(2);
    assert!(run.stderr.contains("--phase 5`"), "{}", run.stderr);
}

#[test]
fn stage_size_from_history_flags_a_stage_over_four_hours() {
    let p = two_phases();
    p.stage(
        "phase-1/01.yaml",
        "stage: 1\nname: Next\ngates:\n  - {id: n, title: t, run: 'true'}\n",
    );
    // A history begun before: stage 0 first ran (and failed) 4h 10m ago, stage 1 3h 50m ago.
    let ago = |mins: u64| {
        humantime::format_rfc3339_seconds(
            std::time::SystemTime::now() - std::time::Duration::from_secs(mins * 60),
        )
        .to_string()
    };
    let line = |stage: &str, at: &str| {
        format!(
            "{{\"started_at\":\"{at}\",\"phase\":1,\"stage\":\"{stage}\",\"status\":\"failed\",\"commit\":null,\"duration_ms\":1000,\"gates\":[{{\"id\":\"g\",\"status\":\"failed\",\"runs\":1,\"passes\":0}}]}}\n"
        )
    };
    p.file(
        "evidence/history.jsonl",
        &format!("{}{}", line("0", &ago(250)), line("1", &ago(230))),
    );
    p.run(&["phase", "1"]).code(0);
    let log = p.read("phase-1/IMPLEMENTATION_LOG.md");
    assert!(
        log.contains(
            "- Stage size: 4h 10m from its first run to its first pass, 2 runs — over the method's 4 hours: too big; split it into sub-stages (0a, 0b) or across two stages"
        ),
        "{log}"
    );
    // The near miss: 3h 50m is within the method's hours.
    assert!(
        log.contains("- Stage size: 3h 50m from its first run to its first pass, 2 runs\n"),
        "{log}"
    );
    assert!(
        log.contains("s from its first run to its first pass, 1 run\n"),
        "{log}"
    );
    let signoff = p.read("phase-1/SIGNOFF.md");
    assert!(
        signoff.contains("- Stage 0 (Base): 4h 10m from its first run to its first pass, 2 runs — over the method's 4 hours")
            && signoff.contains("- Stage 1 (Next): 3h 50m from its first run to its first pass, 2 runs\n")
            && signoff.contains("1 of 2 stages over the method's 4 hours."),
        "{signoff}"
    );
    p.run(&["verify"]).code(0);
}
