//! Stage size, from the history: how long each stage took from its first run to its first pass,
//! and in how many runs. The method sizes a stage at 1–4 hours ("If a stage takes longer, it's
//! too big. Break it into sub-stages (4a, 4b, etc.)"); a stage over that is flagged with that
//! advice in IMPLEMENTATION_LOG.md and SIGNOFF.md.
//!
//! A run is a line of `history.jsonl` of the stage in which at least one gate ran (a stage
//! recorded blocked without running is none); partial runs count as runs (they are work on the
//! stage), but only a full run that passed is its first pass. The time is wall-clock, from the
//! first run's start to the end of the first pass (or, not passed yet, of the latest run), so
//! it reads the same whenever the log is rebuilt.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use super::history::Line;
use crate::config::{Project, StageKey};
use crate::results::Status;

/// The method's largest stage: 4 hours.
pub const LIMIT: Duration = Duration::from_secs(4 * 3600);

#[derive(Debug, Clone, PartialEq)]
pub struct StageSize {
    /// The first run's start (RFC 3339).
    pub first_run: String,
    /// The first full pass's start, if the stage has passed.
    pub first_pass: Option<String>,
    /// From the first run's start to the end of the first pass (else of the latest run).
    pub elapsed: Duration,
    /// Runs up to and including the first pass (else every run so far).
    pub runs: u32,
}

impl StageSize {
    pub fn over(&self) -> bool {
        self.elapsed > LIMIT
    }

    /// One line for the stage's entry: `2h 05m from its first run to its first pass, 3 runs`,
    /// and over 4 hours, the method's advice with the sub-stages to split it into.
    pub fn describe(&self, key: StageKey) -> String {
        let runs = format!(
            "{} run{}",
            self.runs,
            crate::text::plural(self.runs as usize)
        );
        let mut o = match &self.first_pass {
            Some(_) => format!(
                "{} from its first run to its first pass, {runs}",
                span(self.elapsed)
            ),
            None => format!(
                "not passed yet: {} since its first run, {runs}",
                span(self.elapsed)
            ),
        };
        if self.over() {
            o.push_str(&format!(
                " — over the method's 4 hours: too big; split it into sub-stages ({}) or across two stages",
                sub_stages(key)
            ));
        }
        o
    }
}

/// The sub-stages to name: `4a, 4b` for stage 4; `4b, 4c` for stage 4b.
fn sub_stages(key: StageKey) -> String {
    let first = key.letter.unwrap_or('a');
    let next = match first {
        'z' => 'z',
        c => (c as u8 + 1) as char,
    };
    format!("{n}{first}, {n}{next}", n = key.number)
}

/// A span as a reader sizes work: `40s`, `12m`, `3h 05m`, `2d 04h`.
pub fn span(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86_400 => format!("{}h {:02}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d {:02}h", s / 86_400, s % 86_400 / 3600),
    }
}

/// The size of every stage of `phase` the history has runs of.
pub fn sizes(project: &Project, phase: u32) -> HashMap<StageKey, StageSize> {
    // Capped and only a regular file, as for pass rates: no size rather than a wait.
    let path = super::history::path(project);
    let Ok(bytes) = super::read::read_regular(&path, super::history::CAP) else {
        return HashMap::new();
    };
    let text = String::from_utf8_lossy(&bytes);
    let lines = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Line>(l).ok());
    from_lines(lines, phase)
}

/// Sizes from history lines, in the order they were written.
pub fn from_lines(lines: impl Iterator<Item = Line>, phase: u32) -> HashMap<StageKey, StageSize> {
    struct Acc {
        first: SystemTime,
        first_text: String,
        last_end: SystemTime,
        runs: u32,
        pass: Option<String>,
    }
    let mut acc: HashMap<StageKey, Acc> = HashMap::new();
    for l in lines {
        if l.phase != phase || l.gates.is_empty() {
            continue;
        }
        let (Some(key), Ok(start)) = (
            StageKey::parse(&l.stage),
            humantime::parse_rfc3339_weak(&l.started_at),
        ) else {
            continue;
        };
        let end = start + Duration::from_millis(l.duration_ms);
        let a = acc.entry(key).or_insert_with(|| Acc {
            first: start,
            first_text: l.started_at.clone(),
            last_end: end,
            runs: 0,
            pass: None,
        });
        if a.pass.is_some() {
            continue;
        }
        a.runs += 1;
        a.last_end = a.last_end.max(end);
        if !l.partial && l.status == Status::Passed {
            a.pass = Some(l.started_at.clone());
            a.last_end = end;
        }
    }
    acc.into_iter()
        .map(|(k, a)| {
            let size = StageSize {
                first_run: a.first_text,
                first_pass: a.pass,
                elapsed: a.last_end.duration_since(a.first).unwrap_or_default(),
                runs: a.runs,
            };
            (k, size)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{from_lines, span};
    use crate::config::StageKey;
    use crate::evidence::history::{GateLine, Line};
    use crate::results::Status;

    fn line(stage: &str, at: &str, status: Status, partial: bool, ran: bool) -> Line {
        Line {
            started_at: at.to_owned(),
            phase: 1,
            stage: stage.to_owned(),
            status,
            partial,
            commit: None,
            duration_ms: 60_000,
            gates: if ran {
                vec![GateLine {
                    id: "g".to_owned(),
                    status,
                    runs: 1,
                    passes: u32::from(status == Status::Passed),
                }]
            } else {
                Vec::new()
            },
        }
    }

    #[test]
    fn time_and_runs_from_the_first_run_to_the_first_full_pass() {
        use Status::{Blocked, Failed, Passed};
        let lines = vec![
            // Stage 2: blocked without running first (no run), then 3 runs, a partial pass
            // among them (no pass), passing at 13:59 for a minute: 3h 59m from 10:00 to 14:00.
            line("2", "2026-01-01T09:00:00Z", Blocked, false, false),
            line("2", "2026-01-01T10:00:00Z", Failed, false, true),
            line("2", "2026-01-01T12:00:00Z", Passed, true, true),
            line("2", "2026-01-01T13:59:00Z", Passed, false, true),
            // Runs after the first pass change nothing.
            line("2", "2026-01-03T00:00:00Z", Failed, false, true),
            // Stage 4: the near miss, one minute longer: 4h 01m, over.
            line("4", "2026-01-01T10:00:00Z", Failed, false, true),
            line("4", "2026-01-01T14:00:00Z", Passed, false, true),
            // Stage 5: never passed, 5 hours of runs so far.
            line("5", "2026-01-01T10:00:00Z", Failed, false, true),
            line("5", "2026-01-01T14:59:00Z", Failed, false, true),
        ];
        let sizes = from_lines(lines.into_iter(), 1);
        let key = |s| StageKey::parse(s).expect("key");
        let two = &sizes[&key("2")];
        assert_eq!(
            (two.elapsed, two.runs, two.over()),
            (Duration::from_secs(4 * 3600), 3, false)
        );
        assert_eq!(two.first_run, "2026-01-01T10:00:00Z");
        assert_eq!(
            two.describe(key("2")),
            "4h 00m from its first run to its first pass, 3 runs"
        );
        let four = &sizes[&key("4")];
        assert!(four.over(), "{four:?}");
        assert_eq!(
            four.describe(key("4")),
            "4h 01m from its first run to its first pass, 2 runs — over the method's 4 hours: too big; split it into sub-stages (4a, 4b) or across two stages"
        );
        let five = &sizes[&key("5")];
        assert_eq!(five.first_pass, None);
        assert!(
            five.describe(key("5"))
                .starts_with("not passed yet: 5h 00m since its first run, 2 runs — over"),
            "{five:?}"
        );
        assert!(five.describe(key("5b")).contains("(5b, 5c)"));
        assert!(!sizes.contains_key(&key("3")));
        assert!(from_lines(Vec::new().into_iter(), 1).is_empty());
    }

    #[test]
    fn spans() {
        for (s, want) in [
            (0, "0s"),
            (59, "59s"),
            (60, "1m"),
            (3599, "59m"),
            (3600, "1h 00m"),
            (3 * 3600 + 5 * 60, "3h 05m"),
            (86_400 + 4 * 3600, "1d 04h"),
        ] {
            assert_eq!(span(Duration::from_secs(s)), want);
        }
    }
}
