//! A gate's `--repeat` runs combined into one result: the rule that makes a gate flaky.

use crate::results::{GateResult, Status};

/// One gate's `--repeat` runs as one result: all passed, none passed (the last failure), or
/// mixed — passed and flaky, with the failed runs listed. The log keeps every run: the
/// failed ones' last lines and the whole of the run reported.
pub(super) fn combine_runs(mut runs: Vec<GateResult>) -> GateResult {
    use crate::results::FailedRun;
    if runs.len() <= 1 {
        return runs.pop().expect("a gate ran at least once");
    }
    let n = runs.len() as u32;
    let total: u64 = runs.iter().map(|r| r.duration_ms).sum();
    let passes = runs.iter().filter(|r| r.status == Status::Passed).count();
    let base_index = if let Some(i) = runs.iter().position(|r| r.status == Status::Interrupted) {
        i
    } else if passes == runs.len() || passes == 0 {
        runs.len() - 1
    } else {
        runs.iter()
            .rposition(|r| r.status == Status::Passed)
            .expect("one passed")
    };
    let mut output = String::new();
    let mut failed_runs = Vec::new();
    for (k, r) in runs.iter().enumerate() {
        output.push_str(&format!(
            "═══ run {} of {n}: {}\n",
            k + 1,
            r.status.as_str()
        ));
        if k == base_index {
            output.push_str(&r.output);
        } else {
            let lines: Vec<&str> = r.output.lines().collect();
            output.push_str(&lines[lines.len().saturating_sub(200)..].join("\n"));
            output.push('\n');
        }
        if r.status != Status::Passed {
            failed_runs.push(FailedRun {
                run: k as u32 + 1,
                status: r.status,
                duration_ms: r.duration_ms,
                message: r.message.clone(),
            });
        }
    }
    let peak = runs.iter().filter_map(|r| r.peak_memory_bytes).max();
    let cpu = runs
        .iter()
        .filter_map(|r| r.cpu_time_ms)
        .reduce(u64::saturating_add);
    let mut base = runs.swap_remove(base_index);
    base.peak_memory_bytes = peak;
    base.cpu_time_ms = cpu;
    base.attempts = n;
    base.duration_ms = total;
    base.output = output;
    if base.status == Status::Passed && !failed_runs.is_empty() {
        base.flaky = true;
        base.failed_runs = failed_runs;
    }
    base
}

#[cfg(test)]
mod tests {
    use super::combine_runs;
    use crate::results::{GateResult, Status};

    fn run(status: Status, out: &str, ms: u64) -> GateResult {
        GateResult {
            id: "g".into(),
            title: "a gate".into(),
            status,
            duration_ms: ms,
            attempts: 1,
            message: (status != Status::Passed).then(|| format!("{} in {out}", status.as_str())),
            file: "gates/phase-1/00.yaml".into(),
            line: 3,
            log: "logs/g.log".into(),
            steps: Vec::new(),
            flaky: false,
            failed_runs: Vec::new(),
            peak_memory_bytes: Some(ms * 10),
            cpu_time_ms: Some(ms),
            output: format!("{out}\n"),
            screenshots: Vec::new(),
        }
    }

    use Status::{Error, Failed, Interrupted, Passed};

    /// (runs, combined status, flaky, the failed runs listed, the run whose message is kept)
    type Case<'a> = (&'a [Status], Status, bool, &'a [u32], Option<&'a str>);

    #[test]
    fn repeated_runs_combine_into_one_verdict() {
        let table: &[Case] = &[
            (&[Passed], Passed, false, &[], None),
            (&[Failed], Failed, false, &[], Some("failed in r1")),
            (&[Passed, Passed, Passed], Passed, false, &[], None),
            // A near miss of "passed": one failure among passes is flaky, never a clean pass.
            (&[Failed, Passed], Passed, true, &[1], None),
            (&[Passed, Failed], Passed, true, &[2], None),
            (&[Passed, Error, Passed], Passed, true, &[2], None),
            // None passed: the last failure stands, nothing is flaky.
            (&[Failed, Failed], Failed, false, &[], Some("failed in r2")),
            (&[Failed, Error], Error, false, &[], Some("error in r2")),
            // An interrupt wins over passes: the gate did not finish its runs.
            (
                &[Passed, Interrupted],
                Interrupted,
                false,
                &[],
                Some("interrupted in r2"),
            ),
            (
                &[Interrupted, Passed],
                Interrupted,
                false,
                &[],
                Some("interrupted in r1"),
            ),
        ];
        for (statuses, want, flaky, failed, message) in table {
            let runs: Vec<GateResult> = statuses
                .iter()
                .enumerate()
                .map(|(k, s)| run(*s, &format!("r{}", k + 1), 10 * (k as u64 + 1)))
                .collect();
            let got = combine_runs(runs);
            let case = format!("{statuses:?}");
            assert_eq!(got.status, *want, "{case}");
            assert_eq!(got.flaky, *flaky, "{case}");
            let listed: Vec<u32> = got.failed_runs.iter().map(|r| r.run).collect();
            assert_eq!(listed, *failed, "{case}");
            assert_eq!(got.message.as_deref(), *message, "{case}");
            let n = statuses.len() as u64;
            if n > 1 {
                assert_eq!(got.attempts, n as u32, "{case}");
                assert_eq!(
                    got.duration_ms,
                    10 * n * (n + 1) / 2,
                    "{case}: durations add up"
                );
                assert_eq!(
                    got.peak_memory_bytes,
                    Some(100 * n),
                    "{case}: the highest peak"
                );
                assert_eq!(
                    got.cpu_time_ms,
                    Some(10 * n * (n + 1) / 2),
                    "{case}: CPU adds up"
                );
                for k in 1..=n {
                    assert!(
                        got.output.contains(&format!("═══ run {k} of {n}: ")),
                        "{case}: run {k} in the log"
                    );
                }
            }
        }
    }

    #[test]
    fn a_failed_run_keeps_only_its_last_lines_in_the_log() {
        let long: String = (0..300).map(|i| format!("line {i}\n")).collect();
        let mut failed = run(Failed, "x", 1);
        failed.output = long;
        let combined = combine_runs(vec![failed, run(Passed, "kept whole", 1)]);
        assert!(combined.output.contains("line 299") && combined.output.contains("line 100"));
        assert!(
            !combined.output.contains("line 99\n"),
            "more than 200 lines kept"
        );
        assert!(combined.output.contains("kept whole"));
    }
}
