//! The terminal's rough edges a new user met (issue 21, review): a tail line cut to a width,
//! flaky gates counted and kept under `--quiet`, repeated failures saying how many runs failed,
//! a phase's closing verdict and rerun hint, interrupted gates in a line each, the end pointing
//! at index.html.

mod common;

use common::Project;

/// A 5000-character line of output is cut at 200 characters, saying how much the log has.
#[test]
fn a_long_output_line_is_cut() {
    let p = Project::new();
    p.stage(
        "s.yaml",
        "stage: 0\nname: Long\ngates:\n  - id: long\n    title: one very long line\n    run: \"printf 'y%.0s' $(seq 5000); echo; exit 1\"\n",
    );
    let run = p.run(&["stage", "0", "--color", "never"]);
    run.code(1);
    let want = format!(
        "│ {}… (4800 more characters, see the log)\n",
        "y".repeat(200)
    );
    assert!(run.stderr.contains(&want), "{}", run.stderr);
    assert!(!run.stderr.contains(&"y".repeat(201)), "{}", run.stderr);
}
