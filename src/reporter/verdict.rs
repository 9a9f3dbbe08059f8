//! How a run ends on the terminal beyond its gates' lines: a run of stages blocked without
//! running said in one line (`stages 4–10 — blocked (stage 3 (API) did not pass), 11 gates not
//! run`), a `phase N` run's closing verdict (`phase 1: failed at stage 3, 3/11 stages passed, 7
//! blocked, 22 gates run in 5.90s`), and the command that reruns a stage's failed gates, as
//! cargo ends with `To rerun pass …`. What the evidence records is unchanged: each blocked stage
//! is still a result of its own.

use std::time::Duration;

use super::lines::stage_line;
use super::paint::Paint;
use crate::results::{StageResult, Status};
use crate::text::{human_duration, plural, shown};

/// Stages recorded blocked without running, one after another: the last one's stage line, or
/// one line for them all.
pub fn blocked_run(stages: &[StageResult], paint: Paint) -> Option<String> {
    let (first, last) = (stages.first()?, stages.last()?);
    if stages.len() == 1 {
        return Some(stage_line(first, paint));
    }
    let gates: usize = stages.iter().map(|s| s.gates.len()).sum();
    let by = first
        .blocked_by
        .as_deref()
        .unwrap_or("an earlier stage did not pass");
    Some(format!(
        "{} — {}, {gates} gate{} not run",
        paint.bold(&format!("stages {}–{}", first.stage, last.stage)),
        paint.warn(&format!("blocked ({})", shown(by))),
        plural(gates)
    ))
}

/// A phase's closing verdict, from its stages' results in the order they ran.
pub fn phase_verdict(phase: u32, stages: &[&StageResult], paint: Paint) -> String {
    let passed = stages.iter().filter(|s| s.status == Status::Passed).count();
    let blocked = stages
        .iter()
        .filter(|s| s.status == Status::Blocked)
        .count();
    let ran: usize = stages
        .iter()
        .flat_map(|s| &s.gates)
        .filter(|g| g.status != Status::Blocked && g.attempts > 0)
        .count();
    let time: u64 = stages.iter().map(|s| s.duration_ms).sum();
    let what = match stages.iter().find(|s| s.status != Status::Passed) {
        None => paint.pass("passed"),
        Some(s) if s.status == Status::Blocked => paint.warn(&format!(
            "blocked at stage {} ({})",
            s.stage,
            shown(
                s.blocked_by
                    .as_deref()
                    .unwrap_or("an earlier stage did not pass")
            )
        )),
        Some(s) if s.status == Status::Interrupted => {
            paint.warn(&format!("interrupted at stage {}", s.stage))
        }
        Some(s) => paint.fail(&format!("{} at stage {}", s.status.as_str(), s.stage)),
    };
    let blocked = if blocked > 0 {
        format!(", {blocked} blocked")
    } else {
        String::new()
    };
    format!(
        "{}: {what}, {passed}/{} stages passed{blocked}, {ran} gate{} run in {}",
        paint.bold(&format!("phase {phase}")),
        stages.len(),
        plural(ran),
        human_duration(Duration::from_millis(time))
    )
}

/// `gaterun stage 3 --gate a --gate b`: what reruns just these gates of that stage, with
/// `--phase P` unless P is the phase `gaterun stage` takes without it (`current`: the
/// `current_phase`, else the only phase). An id that a shell would split is single-quoted.
pub fn rerun_command(phase: u32, current: Option<u32>, stage: &str, gates: &[&str]) -> String {
    let mut cmd = format!("gaterun stage {}", quoted(stage));
    if current != Some(phase) {
        cmd.push_str(&format!(" --phase {phase}"));
    }
    for g in gates {
        cmd.push_str(&format!(" --gate {}", quoted(g)));
    }
    cmd
}

fn quoted(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.:/@+".contains(c));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", shown(word).replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rerun_names_the_phase_stage_would_not_take_and_quotes_what_a_shell_would_split() {
        assert_eq!(
            rerun_command(1, Some(1), "3", &["a", "b-c"]),
            "gaterun stage 3 --gate a --gate b-c"
        );
        assert_eq!(
            rerun_command(2, Some(1), "4a", &["x"]),
            "gaterun stage 4a --phase 2 --gate x"
        );
        assert_eq!(
            rerun_command(1, Some(1), "0", &["a b"]),
            "gaterun stage 0 --gate 'a b'"
        );
        assert_eq!(
            rerun_command(1, Some(1), "0", &["it's"]),
            r"gaterun stage 0 --gate 'it'\''s'"
        );
        assert_eq!(
            rerun_command(1, None, "0", &["a"]),
            "gaterun stage 0 --phase 1 --gate a"
        );
        assert_eq!(
            rerun_command(2, Some(2), "0", &["a"]),
            "gaterun stage 0 --gate a"
        );
    }
}
