//! Issue 21: a phase named on the command line that no stage file defines is a usage error
//! (exit 2) naming the phases that exist, whichever command names it; the phase that exists
//! passes.

mod common;

use common::Project;

#[test]
fn every_command_naming_an_unknown_phase_exits_2_naming_the_phases() {
    let p = Project::new();
    p.stage(
        "phase-1/s.yaml",
        "stage: 0\nname: A\ngates:\n  - id: a\n    title: a\n    run: 'true'\n",
    );
    p.stage(
        "phase-2/s.yaml",
        "phase: 2\nstage: 0\nname: B\ngates:\n  - id: b\n    title: b\n    run: 'true'\n",
    );
    let want = "error: phase 9 has no stages (phases defined: 1, 2)";
    for args in [
        &["phase", "9"][..],
        &["stage", "0", "--phase", "9"],
        &["list", "--phase", "9"],
        &["report", "--phase", "9"],
        &["signoff", "--phase", "9"],
    ] {
        let run = p.run(args);
        run.code(2);
        assert!(run.stderr.contains(want), "{args:?}: {}", run.stderr);
    }
    // `check` takes no phase: it checks them all.
    p.run(&["check", "--phase", "9"]).code(2);
    // The near miss: the phase that exists.
    p.run(&["list", "--phase", "1"]).code(0);
    p.run(&["stage", "0", "--phase", "1"]).code(0);
}
