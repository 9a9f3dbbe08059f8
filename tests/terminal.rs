//! The terminal as a user reads it (issue 21): the whole human report on stderr, the same lines
//! with or without the bar, colour only where NO_COLOR, CLICOLOR_FORCE and `--color` allow it
//! and only in gaterun's own words, a failed gate's masked output tail and log path, the
//! closing list, and Ctrl-C on a real terminal (tmux) leaving no bar behind.

mod common;

use common::Project;
use common::tmux::{Tmux, available};

/// Durations, the temp dir, the containment line and run ids out; escapes made readable (`␛`).
fn redact(p: &Project, text: &str) -> String {
    let mut out = text.replace(&p.path().display().to_string(), "[project]");
    for (re, with) in [
        // After a space or a colour's `m` (`␛[2m12ms`), where `\b` finds no boundary.
        (r"(\s|m)\d+(\.\d+)?(ms|s)\b", "${1}[duration]"),
        (r"(?m)^processes (contained|found) by [^\n]*\n", ""),
    ] {
        out = regex::Regex::new(re)
            .expect("regex")
            .replace_all(&out, with)
            .into_owned();
    }
    out.replace('\x1b', "␛")
}

/// Run with colour off (`--color never`) and on (`--color always`); both reports, stdout empty.
fn both(p: &Project, args: &[&str], code: i32) -> (String, String) {
    let mut reports = Vec::new();
    for colour in ["never", "always"] {
        let mut all = args.to_vec();
        all.extend(["--color", colour, "--jobs", "1"]);
        let run = p.run(&all);
        run.code(code);
        assert_eq!(run.stdout, "", "stdout carries no human report");
        reports.push(redact(p, &run.stderr));
    }
    let colour = reports.pop().unwrap_or_default();
    let plain = reports.pop().unwrap_or_default();
    assert!(!plain.contains('␛'), "{plain}");
    assert!(colour.contains("␛["), "{colour}");
    (plain, colour)
}

const MIXED: &str = "stage: 0\nname: Mixed\ngates:\n  - id: passes\n    title: passes\n    run: echo all good\n  - id: fails\n    title: fails\n    run: \"echo one; echo two; echo 'ERROR: boom'; exit 3\"\n";

#[test]
fn pass() {
    let p = Project::new();
    p.stage(
        "s.yaml",
        "stage: 0\nname: Green\ngates:\n  - id: passes\n    title: passes\n    run: echo all good\n",
    );
    let (plain, colour) = both(&p, &["stage", "0"], 0);
    // A passing gate shows no tail and no closing list.
    assert!(!plain.contains("all good") && !plain.contains("did not pass"));
    insta::assert_snapshot!("pass_plain", plain);
    insta::assert_snapshot!("pass_colour", colour);
}

#[test]
fn fail() {
    let p = Project::new();
    p.stage("s.yaml", MIXED);
    let (plain, colour) = both(&p, &["stage", "0"], 1);
    assert!(plain.contains("      │ ERROR: boom\n"), "{plain}");
    assert!(
        plain.contains("      └ log: evidence/phase-1/stage-00/logs/fails.log"),
        "{plain}"
    );
    assert!(
        plain.contains("1 gate did not pass:\n  ✗ phase-1/stage-00 fails  gates/s.yaml:7  "),
        "{plain}"
    );
    insta::assert_snapshot!("fail_plain", plain);
    insta::assert_snapshot!("fail_colour", colour);
}

#[test]
fn error() {
    let p = Project::new();
    p.stage(
        "s.yaml",
        "stage: 0\nname: Unset\ngates:\n  - id: needs-secret\n    title: needs a secret nobody set\n    secrets: [GATERUN_TEST_NEVER_SET]\n    run: 'true'\n",
    );
    let (plain, colour) = both(&p, &["stage", "0"], 1);
    assert!(plain.contains("  ! needs-secret "), "{plain}");
    assert!(
        plain.contains("  ! phase-1/stage-00 needs-secret  gates/s.yaml:4"),
        "{plain}"
    );
    insta::assert_snapshot!("error_plain", plain);
    insta::assert_snapshot!("error_colour", colour);
}

#[test]
fn flaky() {
    let p = Project::new();
    p.stage(
        "s.yaml",
        "stage: 0\nname: Flaky\ngates:\n  - id: coin\n    title: every other run fails\n    run: 'n=$(cat \"$PROJECT_ROOT/n\" 2>/dev/null || echo 0); echo $((n+1)) > \"$PROJECT_ROOT/n\"; test $((n % 2)) = 0'\n",
    );
    let (plain, colour) = both(&p, &["stage", "0", "--repeat", "2"], 0);
    assert!(plain.contains("flaky: 1 of 2 runs failed"), "{plain}");
    assert!(!plain.contains("did not pass"), "{plain}");
    insta::assert_snapshot!("flaky_plain", plain);
    insta::assert_snapshot!("flaky_colour", colour);
}

#[test]
fn blocked() {
    let p = Project::new();
    p.stage(
        "phase-1/00.yaml",
        "stage: 0\nname: First\ngates:\n  - id: red\n    title: fails\n    run: 'exit 1'\n",
    );
    p.stage(
        "phase-1/01.yaml",
        "stage: 1\nname: Second\ngates:\n  - id: never\n    title: never runs\n    run: 'true'\n",
    );
    let (plain, colour) = both(&p, &["phase", "1"], 1);
    assert!(plain.contains("stage 1 — Second: blocked"), "{plain}");
    insta::assert_snapshot!("blocked_plain", plain);
    insta::assert_snapshot!("blocked_colour", colour);
}

/// SIGINT once the slow gate started: the notice, then the interrupted gate, in a pipe.
#[test]
fn interrupted() {
    let mut reports = Vec::new();
    for colour in ["never", "always"] {
        let p = Project::new();
        p.stage(
            "s.yaml",
            "stage: 0\nname: Long\ngates:\n  - id: quick\n    title: quick\n    run: 'true'\n  - id: slow\n    title: sleeps\n    run: 'echo waiting; touch \"$PROJECT_ROOT/started\"; sleep 600'\n",
        );
        let out = p.interrupt_after(&["stage", "0", "--jobs", "1", "--color", colour], "started");
        assert_eq!(out.status.code(), Some(130));
        assert!(out.stdout.is_empty());
        // The report's failure summary says `interrupted` once, not `interrupted: interrupted`.
        let html = std::fs::read_to_string(p.path().join("evidence/index.html")).expect("html");
        assert!(
            html.contains("<code>slow</code> interrupted</summary>"),
            "{html}"
        );
        assert!(!html.contains("interrupted: interrupted"), "{html}");
        reports.push(redact(&p, &String::from_utf8_lossy(&out.stderr)));
    }
    let plain = &reports[0];
    let notice = plain
        .find("interrupted: stopping every gate (again to kill at once)\n")
        .expect(plain);
    let gate = plain.find("  ■ slow ").expect(plain);
    assert!(notice < gate, "{plain}");
    // Every gate started: none is said not to have run.
    assert!(!plain.contains("not run"), "{plain}");
    insta::assert_snapshot!("interrupted_plain", reports[0]);
    insta::assert_snapshot!("interrupted_colour", reports[1]);
}

/// What colour the environment asks for, in a pipe: CLICOLOR_FORCE colours it, NO_COLOR beats
/// CLICOLOR_FORCE, `--color never` beats CLICOLOR_FORCE, `--color always` beats NO_COLOR, and
/// nothing set means no colour.
#[test]
fn colour_follows_the_environment_and_the_flag() {
    let p = Project::new();
    p.stage("s.yaml", MIXED);
    let stderr = |env: &[(&str, &str)], args: &[&str]| {
        let mut cmd = p.cmd(&[&["stage", "0"], args].concat());
        cmd.env_remove("NO_COLOR")
            .env_remove("CLICOLOR_FORCE")
            .env_remove("CLICOLOR");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("run");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    assert!(!stderr(&[], &[]).contains('\x1b'));
    assert!(stderr(&[("CLICOLOR_FORCE", "1")], &[]).contains("\x1b["));
    // `CLICOLOR_FORCE=0` forces nothing (a pipe stays plain); `--color always` still colours.
    assert!(!stderr(&[("CLICOLOR_FORCE", "0")], &[]).contains('\x1b'));
    assert!(stderr(&[("CLICOLOR_FORCE", "0")], &["--color", "always"]).contains("\x1b["));
    assert!(!stderr(&[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")], &[]).contains('\x1b'));
    assert!(!stderr(&[("CLICOLOR_FORCE", "1")], &["--color", "never"]).contains('\x1b'));
    assert!(stderr(&[("NO_COLOR", "1")], &["--color", "always"]).contains("\x1b["));
}

/// `--progress always` with no terminal loses no line; the human report is on stderr alone.
#[test]
fn progress_always_in_a_pipe_keeps_every_line() {
    let p = Project::new();
    p.stage("s.yaml", MIXED);
    let bar = p.run(&["stage", "0", "--progress", "always", "--jobs", "1"]);
    bar.code(1);
    let none = p.run(&["stage", "0", "--progress", "never", "--jobs", "1"]);
    none.code(1);
    assert_eq!(bar.stdout, "");
    assert_eq!(none.stdout, "");
    for line in [
        "phase-1/stage-00 Mixed (2 gates)",
        "  ✓ passes ",
        "  ✗ fails ",
        "      │ ERROR: boom",
        "stage 0 — Mixed: failed, 1/2 gates passed",
        "1 gate did not pass:",
        "evidence: evidence/index.html",
    ] {
        assert!(bar.stderr.contains(line), "{line:?} in\n{}", bar.stderr);
        assert!(none.stderr.contains(line), "{line:?} in\n{}", none.stderr);
    }
    assert_eq!(redact(&p, &bar.stderr), redact(&p, &none.stderr));
}

/// `--failure-output`: the tail at the gate's line, in the closing list, both, or neither (the
/// log path always); `--failure-lines` how many; `--verbose` is `immediate-final`.
#[test]
fn failure_output_and_lines() {
    let p = Project::new();
    p.stage("s.yaml", MIXED);
    let run = |args: &[&str]| {
        let r = p.run(&[&["stage", "0", "--jobs", "1"], args].concat());
        r.code(1);
        r.stderr
    };
    let tails = |text: &str| text.matches("│ ERROR: boom").count();
    let list = |text: &str| {
        text.split("did not pass:")
            .nth(1)
            .unwrap_or_default()
            .to_owned()
    };
    let immediate = run(&[]);
    assert_eq!(tails(&immediate), 1, "{immediate}");
    assert_eq!(tails(&list(&immediate)), 0, "{immediate}");
    let fin = run(&["--failure-output", "final"]);
    assert_eq!(tails(&fin), 1, "{fin}");
    assert_eq!(tails(&list(&fin)), 1, "{fin}");
    let both = run(&["--failure-output", "immediate-final"]);
    assert_eq!(tails(&both), 2, "{both}");
    assert_eq!(redact(&p, &run(&["--verbose"])), redact(&p, &both));
    assert_eq!(tails(&run(&["--verbose", "--failure-output", "never"])), 0);
    let never = run(&["--failure-output", "never"]);
    assert_eq!(tails(&never), 0, "{never}");
    assert!(
        never.contains("└ log: evidence/phase-1/stage-00/logs/fails.log"),
        "{never}"
    );
    // The gate's last lines: gaterun's own `── step …` lines shown among them, not counted.
    let two = run(&["--failure-lines", "2"]);
    assert!(
        two.contains("│ two\n      │ ERROR: boom\n      │ ── step 1/1 failed"),
        "{two}"
    );
    assert!(!two.contains("│ one\n"), "{two}");
    let three = run(&["--failure-lines", "3"]);
    assert!(
        three.contains("│ one\n      │ two\n      │ ERROR: boom\n"),
        "{three}"
    );
    // A passing gate shows none of its output.
    assert!(!both.contains("all good"), "{both}");
    // check takes no run option.
    assert_eq!(p.run(&["check", "--failure-output", "final"]).code, 2);
}

/// A gate's output reaches the terminal masked (whole, split over two writes, split by an
/// escape) and stripped: it can neither paint nor move the cursor, nor run a workflow command.
#[test]
fn a_hostile_failing_gate_cannot_leak_paint_or_command() {
    let secret = "abcdefgHIJKLMN";
    let p = Project::new();
    p.stage(
        "s.yaml",
        "stage: 0\nname: Hostile\ngates:\n  - id: leaks\n    title: prints its secret and escapes\n    secrets: [GATERUN_TEST_SECRET]\n    run: |\n      echo \"whole $GATERUN_TEST_SECRET\"\n      S=$GATERUN_TEST_SECRET\n      printf 'split %s' \"$(printf %s \"$S\" | cut -c1-7)\"; sleep 0.2; printf '%s\\n' \"$(printf %s \"$S\" | cut -c8-)\"\n      printf 'esc %s\\033[0m%s\\n' \"$(printf %s \"$S\" | cut -c1-7)\" \"$(printf %s \"$S\" | cut -c8-)\"\n      printf '\\033[2J\\033[H\\033]0;title\\007cleared\\n'\n      echo '::error::pwned'\n      exit 1\n",
    );
    let sgr = regex::Regex::new(r"\x1b\[[0-9;]*m").expect("regex");
    let colour_re = regex::Regex::new(r"^\x1b\[[0-9;]*m").expect("regex");
    let escapes = regex::Regex::new(r"\x1b[^\n]{0,8}").expect("regex");
    for colour in ["never", "always"] {
        for github in [false, true] {
            let mut args = vec!["stage", "0", "--color", colour];
            if github {
                args.push("--github");
            }
            let out = p
                .cmd(&args)
                .env("GATERUN_TEST_SECRET", secret)
                .output()
                .expect("run");
            assert_eq!(out.status.code(), Some(1));
            let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
            for piece in [secret, "abcdefg", "HIJKLMN"] {
                assert!(
                    !stderr
                        .lines()
                        .any(|l| l.contains(piece) && !l.starts_with("::add-mask::")),
                    "{piece} ({colour}, github {github}):\n{stderr}"
                );
            }
            let text = sgr.replace_all(&stderr, "");
            for line in ["│ whole ***", "│ split ***", "│ esc ***", "│ cleared"] {
                assert!(text.contains(line), "{line:?} in\n{stderr}");
            }
            // Only gaterun's own colours: SGR sequences, and none when colour is off.
            for m in escapes.find_iter(&stderr) {
                assert!(
                    colour == "always",
                    "an escape with --color never: {:?}",
                    m.as_str()
                );
                assert!(
                    colour_re.is_match(m.as_str()),
                    "not a colour: {:?}",
                    m.as_str()
                );
            }
            if github {
                // Outside the stop-commands block, no line is the gate's command.
                let mut stop: Option<String> = None;
                for line in stderr.lines() {
                    match &stop {
                        Some(t) if line == format!("::{t}::") => stop = None,
                        Some(_) => {}
                        None => {
                            if let Some(t) = line.strip_prefix("::stop-commands::") {
                                stop = Some(t.to_owned());
                            }
                            assert!(!line.trim_start().starts_with("::error::pwned"), "{stderr}");
                        }
                    }
                }
            }
        }
    }
}

/// A stage file's own text (its name, a step's name) reaches the terminal with its escapes
/// shown, not acted on, as does the gates' output.
#[test]
fn a_stage_name_cannot_move_the_cursor() {
    let p = Project::new();
    p.stage(
        "s.yaml",
        "stage: 0\nname: \"Evil \\e[2J\\e]0;t\\a\"\ngates:\n  - id: a\n    title: t\n    run: 'exit 1'\n",
    );
    for progress in ["never", "always"] {
        let run = p.run(&["stage", "0", "--progress", progress]);
        run.code(1);
        assert!(!run.stderr.contains('\x1b'), "{:?}", run.stderr);
        assert!(
            run.stderr
                .contains("phase-1/stage-00 Evil \\u{1b}[2J\\u{1b}]0;t\\u{7} (1 gate)"),
            "{}",
            run.stderr
        );
        assert!(
            run.stderr.contains("stage 0 — Evil \\u{1b}[2J"),
            "{}",
            run.stderr
        );
    }
}

/// Expected and actual that differ in white space print differently.
#[test]
fn messages_keep_their_white_space() {
    let p = Project::new();
    p.stage(
        "s.yaml",
        "stage: 0\nname: Spaces\ngates:\n  - id: spaces\n    title: one space where two are expected\n    run: echo 'a b'\n    expect: { stdout: 'a  b' }\n",
    );
    let run = p.run(&["stage", "0"]);
    run.code(1);
    assert!(
        run.stderr.contains("  ✗ spaces ") && run.stderr.contains("\"a  b\""),
        "{}",
        run.stderr
    );
}

/// `gaterun ARGS` in a 120×40 terminal, `EXIT=<code>` printed after it.
fn start(tmux: &Tmux, p: &Project, env: &str, args: &str) {
    start_sized(tmux, p, env, args, 120);
}

/// `gaterun ARGS` in a terminal `columns` wide and 40 high.
fn start_sized(tmux: &Tmux, p: &Project, env: &str, args: &str, columns: u16) {
    tmux.start_sized(
        &format!(
            "cd '{}' && env -u NO_COLOR -u CI -u CLICOLOR_FORCE {env} '{}' {args}; echo \"EXIT=$?\"; sleep 600",
            p.path().display(),
            common::bin().display()
        ),
        columns,
    );
}

/// Ctrl-C on a real terminal with the bar: the notice and the interrupted gates are on screen,
/// and no bar or spinner is left (a gate ignoring SIGTERM made a second, frozen bar). Needs
/// tmux (CI installs it; elsewhere the test skips).
#[test]
fn ctrl_c_on_a_terminal_leaves_no_bar() {
    if !available() {
        return;
    }
    let p = Project::new();
    p.stage(
        "s.yaml",
        "stage: 0\nname: Long\ngates:\n  - id: stubborn\n    title: ignores SIGTERM\n    run: \"trap '' TERM; touch \\\"$PROJECT_ROOT/started\\\"; sleep 600\"\n  - id: quick\n    title: quick\n    run: 'true'\n  - id: sleeper\n    title: sleeps\n    run: 'sleep 600'\n",
    );
    let tmux = Tmux::new(p.path());
    start(&tmux, &p, "", "stage 0 --progress auto");
    common::wait_for_file(&p.path().join("started"));
    std::thread::sleep(std::time::Duration::from_millis(700));
    tmux.run(&["send-keys", "-t", "t", "C-c"]);
    let screen = tmux.screen("EXIT=", false);
    assert!(screen.contains("EXIT=130"), "{screen}");
    assert!(
        screen.contains("interrupted: stopping every gate (again to kill at once)"),
        "{screen}"
    );
    assert!(screen.contains("  ■ stubborn "), "{screen}");
    assert!(screen.contains("  ■ sleeper "), "{screen}");
    // No bar (`phase-1/stage-00 1/3 gates [1s] ███…`) and no spinner line (`⠁ sleeper run: …`)
    // left.
    let spinner = regex::Regex::new(r"[\u{2800}-\u{28FF}]").expect("regex");
    for line in screen.lines() {
        assert!(!line.contains(" gates ["), "a bar is left:\n{screen}");
        assert!(!spinner.is_match(line), "a spinner is left:\n{screen}");
    }
}

/// On a terminal: colour by default, none with NO_COLOR (it beats the terminal).
#[test]
fn no_color_beats_a_terminal() {
    if !available() {
        return;
    }
    let p = Project::new();
    p.stage("s.yaml", MIXED);
    let screen = |env: &str| {
        let tmux = Tmux::new(p.path());
        start(&tmux, &p, env, "stage 0");
        let screen = tmux.screen("EXIT=", true);
        assert!(screen.contains("EXIT=1"), "{screen}");
        assert!(screen.contains("did not pass:"), "{screen}");
        screen
    };
    assert!(screen("TERM=xterm-256color").contains("\x1b["));
    let plain = screen("TERM=xterm-256color NO_COLOR=1");
    assert!(!plain.contains('\x1b'), "{plain:?}");
}

/// `check`'s diagnostics take the same colour choice: `--color always` paints the kind,
/// `--color never` beats CLICOLOR_FORCE, and a pipe with nothing set gets none.
#[test]
fn check_diagnostics_follow_the_colour_choice() {
    let p = Project::new();
    p.stage(
        "s.yaml",
        "stage: 0\nname: S\ngates:\n  - id: a\n    titel: t\n    run: 'true'\n",
    );
    let stderr = |env: &[(&str, &str)], args: &[&str]| {
        let mut cmd = p.cmd(&[&["check"], args].concat());
        cmd.env_remove("NO_COLOR").env_remove("CLICOLOR_FORCE");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("run");
        assert_eq!(out.status.code(), Some(2));
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    assert!(
        stderr(&[], &["--color", "always"]).contains(": \x1b[1m\x1b[31merror\x1b[0m: "),
        "{}",
        stderr(&[], &["--color", "always"])
    );
    assert!(!stderr(&[("CLICOLOR_FORCE", "1")], &["--color", "never"]).contains('\x1b'));
    assert!(!stderr(&[], &[]).contains('\x1b'));
    assert!(stderr(&[("CLICOLOR_FORCE", "1")], &[]).contains('\x1b'));
}

/// The bar and each running gate's line fit the terminal, 50 columns wide, then resized to
/// 40 (the bar is drawn again at the new width): neither wraps (the end of the step's name,
/// `drawn in`, is cut, not wrapped onto a row of its own). Not checked: a terminal that
/// reflows its rows on a resize (tmux does) keeps a copy of the bar drawn at the old width.
#[test]
fn the_bar_fits_the_terminal_and_follows_a_resize() {
    if !available() {
        return;
    }
    let p = Project::new();
    p.stage(
        "s.yaml",
        "stage: 0\nname: Long\ngates:\n  - id: a-gate-with-a-rather-long-identifier\n    title: sleeps\n    steps:\n      - name: a step whose name is far longer than the narrow terminal it is drawn in\n        run: 'touch \"$PROJECT_ROOT/started\"; sleep 600'\n",
    );
    let tmux = Tmux::new(p.path());
    start_sized(&tmux, &p, "", "stage 0 --progress auto", 50);
    common::wait_for_file(&p.path().join("started"));
    let fits = |columns: usize| {
        let mut screen = String::new();
        for _ in 0..50 {
            std::thread::sleep(std::time::Duration::from_millis(100));
            screen = String::from_utf8_lossy(&tmux.run(&["capture-pane", "-p", "-t", "t"]).stdout)
                .into_owned();
            if screen.contains(" a step w") {
                break;
            }
        }
        // The last two rows drawn: the bar, whole on its row, then the gate's line.
        let rows: Vec<&str> = screen.lines().filter(|l| !l.trim().is_empty()).collect();
        let (bar, gate) = (rows[rows.len() - 2], rows[rows.len() - 1]);
        assert!(bar.contains(" phase-1/stage-00 0/1 gates ["), "{screen}");
        assert!(bar.trim_end().ends_with(['░', ']']), "{screen}");
        assert!(
            gate.contains("a-gate-with-a-rather-long-identifier"),
            "{screen}"
        );
        assert!(!screen.contains("drawn in"), "{screen}");
        for line in &rows {
            assert!(line.chars().count() <= columns, "{line:?} in\n{screen}");
        }
    };
    fits(50);
    let resized = tmux.run(&["resize-window", "-t", "t", "-x", "40"]);
    assert!(resized.status.success(), "{resized:?}");
    std::thread::sleep(std::time::Duration::from_millis(500));
    fits(40);
    tmux.run(&["send-keys", "-t", "t", "C-c"]);
    let screen = tmux.screen("EXIT=", false);
    assert!(screen.contains("EXIT=130"), "{screen}");
    assert!(
        screen.contains("  ■ a-gate-with-a-rather-long-identifier"),
        "{screen}"
    );
}
