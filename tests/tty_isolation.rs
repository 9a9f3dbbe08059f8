//! A gate cannot reach the terminal gaterun runs on: every gate process, service, database
//! server and browser starts in a session of its own, with no controlling terminal, and holds no
//! descriptor of the terminal. In gaterun's session a gate could open `/dev/tty` and type a
//! command into the user's shell (TIOCSTI), clear the screen, retitle it, or turn echo off.

mod common;

use common::Project;
use common::tmux::{Tmux, available};

/// What a gate tries: open `/dev/tty`, find a terminal among its descriptors, and name its
/// controlling terminal. It leaves a file for each that works.
const PROBE: &str = r#"if (: > /dev/tty) 2>/dev/null; then touch "$OUT/opened"; fi; for f in /proc/self/fd/*; do case "$(readlink "$f")" in /dev/pts/*|/dev/tty*|/dev/console) touch "$OUT/inherited";; esac; done; case "$(ps -o tty= -p $$)" in *pts*|*tty*) touch "$OUT/controlling";; esac"#;

#[test]
fn a_gate_cannot_reach_the_terminal() {
    if !available() {
        return;
    }
    let p = Project::new();
    for containment in ["auto", "token", "pid-namespace"] {
        let out = p.path().join(containment);
        std::fs::create_dir_all(&out).expect("mkdir");
        p.stage(
            "s.yaml",
            &format!(
                "stage: 0\nname: Tty\ngates:\n  - id: probe\n    title: tries the terminal\n    env: {{ OUT: '{}' }}\n    services:\n      bg:\n        run: {:?}\n    steps:\n      - run: {:?}\n      - run: 'for i in $(seq 50); do test -e \"$OUT/svc/done\" && exit 0; sleep 0.1; done; exit 1'\n",
                out.display(),
                format!("OUT=\"$OUT/svc\"; mkdir -p \"$OUT\"; {PROBE}; touch \"$OUT/done\"; exec sleep 600"),
                PROBE
            ),
        );
        let tmux = Tmux::new(p.path());
        // The near miss first, in the same pane: the shell itself does reach its terminal, so
        // the probe can see one when there is one.
        let control = p.path().join(format!("control-{containment}"));
        std::fs::create_dir_all(&control).expect("mkdir");
        tmux.start(&format!(
            "cd '{dir}' && OUT='{control}' sh -c '{probe}'; env -u CI '{bin}' stage 0 --containment {containment}; echo \"EXIT=$?\"; sleep 600",
            dir = p.path().display(),
            control = control.display(),
            probe = PROBE.replace('\'', r"'\''"),
            bin = common::bin().display(),
        ));
        let screen = tmux.screen_when("EXIT=");
        assert!(
            control.join("opened").exists(),
            "the control found no terminal:\n{screen}"
        );
        assert!(control.join("controlling").exists(), "{screen}");
        if screen.contains("EXIT=2") && containment == "pid-namespace" {
            eprintln!("skipping pid-namespace: not available here\n{screen}");
            continue;
        }
        assert!(screen.contains("EXIT=0"), "{containment}:\n{screen}");
        // The service ran its probe too (its `done`), from its own spawn path.
        assert!(out.join("svc/done").exists(), "{containment}:\n{screen}");
        for dir in [out.clone(), out.join("svc")] {
            for what in ["opened", "inherited", "controlling"] {
                assert!(
                    !dir.join(what).exists(),
                    "{containment}: {} {what} the terminal:\n{screen}",
                    dir.display()
                );
            }
        }
    }
}

/// Ctrl-Z then `bg` while the bar is drawn: the run goes on in the background and finishes.
/// Restoring the terminal's echo from the background stopped it with SIGTTOU (`Stopped (tty
/// output)`) until `fg`, its gates' timeouts with it.
#[test]
fn a_run_put_in_the_background_finishes() {
    if !available() {
        return;
    }
    let p = Project::new();
    p.stage(
        "s.yaml",
        "stage: 0\nname: Slow\ngates:\n  - id: slow\n    title: takes two seconds\n    run: 'touch \"$PROJECT_ROOT/started\"; sleep 2'\n",
    );
    let tmux = Tmux::new(p.path());
    tmux.start("bash --norc --noprofile -i");
    let done = p.path().join("done");
    let line = format!(
        "cd '{}' && sh -c \"env -u CI '{}' stage 0 --progress auto; touch '{}'\"",
        p.path().display(),
        common::bin().display(),
        done.display()
    );
    tmux.run(&["send-keys", "-t", "t", &line, "Enter"]);
    common::wait_for_file(&p.path().join("started"));
    tmux.run(&["send-keys", "-t", "t", "C-z"]);
    let stopped = tmux.screen_when("Stopped");
    assert!(stopped.contains("Stopped"), "{stopped}");
    tmux.run(&["send-keys", "-t", "t", "bg", "Enter"]);
    for _ in 0..200 {
        if done.exists() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let _ = tmux.run(&["send-keys", "-t", "t", "jobs -l", "Enter"]);
    panic!(
        "the run did not finish in the background:\n{}",
        tmux.screen_when("never")
    );
}
