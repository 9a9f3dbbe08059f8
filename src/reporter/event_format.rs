//! The lines of `--message-format json`, as types: serialized for the line a tool reads, and
//! the source of the JSON Schema gaterun ships (`gaterun schema --events`), so the two cannot
//! drift apart. The objects a result carries are results.json's own types: a gate's
//! `gate_finished` is its entry of results.json, field for field.

use schemars::JsonSchema;
use serde::Serialize;

use crate::results::{GateResult, StageResult, Status, StepResult};

/// The `format` of every line.
pub const FORMAT: &str = "gaterun-events";
/// The `version` of every line: bumped when a field is removed or renamed or changes type;
/// a field added keeps it.
pub const VERSION: u32 = 1;

/// One line of `--message-format json`, after its `format` and `version`.
#[derive(Serialize, JsonSchema)]
#[serde(tag = "event", rename_all = "snake_case", deny_unknown_fields)]
pub enum Line<'a> {
    /// The first line of a run.
    RunStarted {
        gaterun_version: &'a str,
        /// `stage` or `phase`.
        command: &'a str,
        /// The project's root directory.
        project: String,
        /// The stages selected, in order. A stage blocked by an earlier one is reported all the
        /// same; one the run never reaches (after an interrupt, or in a phase after one that
        /// failed) has no line.
        stages: Vec<StageRef>,
        /// Gates run at once within a stage.
        jobs: usize,
        /// `--repeat`.
        repeat: u32,
        /// git `HEAD`, with `+dirty` when the work tree has changes; null outside git.
        #[schemars(required, extend("type" = ["string", "null"]))]
        commit: Option<&'a str>,
        /// RFC 3339.
        started_at: String,
    },
    StageStarted {
        phase: u32,
        stage: &'a str,
        name: &'a str,
        /// The gates the stage will report.
        gates: usize,
    },
    GateStarted {
        phase: u32,
        stage: &'a str,
        gate: &'a str,
    },
    /// Sent with its gate's `gate_finished`, just before it: `result` is the step's entry in
    /// results.json (with every secret the gate learned masked, and with `retries` or
    /// `--repeat`, of the run results.json keeps).
    StepFinished {
        phase: u32,
        stage: &'a str,
        gate: &'a str,
        /// The step's place among the gate's steps in results.json, from 0.
        index: usize,
        result: &'a StepResult,
    },
    /// `result` is the gate's entry in results.json.
    GateFinished {
        phase: u32,
        stage: &'a str,
        result: &'a GateResult,
    },
    /// `result` is the stage's results.json.
    StageFinished {
        phase: u32,
        stage: &'a str,
        result: &'a StageResult,
    },
    /// The last line of a run that recorded its evidence.
    RunFinished {
        /// `passed`, `failed`, `error`, `blocked` or `interrupted`.
        status: Status,
        /// gaterun's exit code (0, 1, 3 or 130).
        exit_code: i32,
        duration_ms: u64,
        counts: Counts,
        /// The evidence directory (absolute).
        evidence: String,
    },
}

/// A stage a run takes.
#[derive(Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StageRef {
    pub phase: u32,
    pub stage: String,
    pub name: String,
}

/// The run's stages, and its gates by status.
#[derive(Serialize, JsonSchema, Default, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Counts {
    pub stages: usize,
    pub gates: usize,
    pub passed: usize,
    pub failed: usize,
    pub error: usize,
    pub interrupted: usize,
    pub blocked: usize,
    /// Passed, some of its runs failed (`retries`, `--repeat`).
    pub flaky: usize,
}

impl Counts {
    pub fn of(results: &[StageResult]) -> Counts {
        let mut c = Counts {
            stages: results.len(),
            ..Counts::default()
        };
        for g in results.iter().flat_map(|r| &r.gates) {
            c.gates += 1;
            c.flaky += usize::from(g.flaky);
            match g.status {
                Status::Passed => c.passed += 1,
                Status::Failed => c.failed += 1,
                Status::Error => c.error += 1,
                Status::Interrupted => c.interrupted += 1,
                Status::Blocked | Status::Skipped => c.blocked += 1,
            }
        }
        c
    }
}

/// The line as printed: `{"format":"gaterun-events","version":1,"event":…}`, one line
/// whatever the text holds (serde escapes control characters; U+2028 and U+2029, which some
/// readers split lines at, are escaped too), and inert for the GitHub Actions runner, which
/// takes `##[command]` anywhere in a line: `##[` (only ever inside a string) is written
/// `#\u0023[`, the same text to a JSON reader.
pub fn to_line(line: &Line) -> String {
    let body = serde_json::to_string(line).expect("an event serializes");
    let body = body
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
        .replace("##[", "#\\u0023[");
    // `body` is an object that starts with its tag: `{"event":…`.
    format!(
        "{{\"format\":\"{FORMAT}\",\"version\":{VERSION},{}",
        &body[1..]
    )
}

/// The JSON Schema of a line: [`Line`]'s, each kind with `format` and `version` added, and
/// every object closed (`additionalProperties: false`): it describes exactly what this gaterun
/// prints, so a test catches a field printed and not documented.
pub fn schema() -> serde_json::Value {
    let mut schema = schemars::generate::SchemaSettings::draft2020_12()
        .into_generator()
        .into_root_schema_for::<Line>();
    schema.insert("title".to_owned(), "gaterun events".into());
    schema.insert(
        "description".to_owned(),
        format!(
            "One line of `gaterun stage|phase --message-format json`: format {FORMAT}, \
             version {VERSION}. See docs/gates.md, section 8."
        )
        .into(),
    );
    let mut value = serde_json::to_value(&schema).expect("a schema serializes");
    let marker = serde_json::json!({
        "format": { "const": FORMAT },
        "version": { "const": VERSION },
    });
    if let Some(kinds) = value.get_mut("oneOf").and_then(|k| k.as_array_mut()) {
        for kind in kinds {
            if let (Some(props), Some(marker)) = (
                kind.get_mut("properties").and_then(|p| p.as_object_mut()),
                marker.as_object(),
            ) {
                for (k, v) in marker {
                    props.insert(k.clone(), v.clone());
                }
            }
            if let Some(required) = kind.get_mut("required").and_then(|r| r.as_array_mut()) {
                required.insert(0, "version".into());
                required.insert(0, "format".into());
            }
        }
    }
    close(&mut value);
    value
}

/// Every object schema (one with `properties`) takes no other property, and requires each
/// property with a `default`: serde may read a results.json without it, but gaterun always
/// writes it (schemars gives no default to a field skipped when empty, which is optional).
fn close(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            if let Some(props) = map.get("properties").and_then(|p| p.as_object()) {
                let defaulted: Vec<serde_json::Value> = props
                    .iter()
                    .filter(|(_, p)| p.get("default").is_some())
                    .map(|(k, _)| k.as_str().into())
                    .collect();
                if let Some(required) = map.get_mut("required").and_then(|r| r.as_array_mut()) {
                    required.extend(defaulted);
                }
                map.insert("additionalProperties".to_owned(), false.into());
            }
            for v in map.values_mut() {
                close(v);
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(close),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::{Counts, Line, to_line};
    use crate::results::{GateResult, Status};

    /// Whatever a title holds, the line is one line, inert for the GitHub runner, and reads
    /// back as the same text.
    #[test]
    fn a_line_is_one_inert_line_that_reads_back_the_same() {
        let titles = [
            "plain",
            "line\nbreak\r",
            "sep\u{2028}arator\u{2029}",
            "##[error]old form",
            "###[x] ####[y]",
            "\\##[error]after a backslash",
            "\u{1b}[31mred\u{1b}[0m",
            "::error::x",
        ];
        for title in titles {
            let gate = GateResult::new("g", title, "gates/s.yaml".into(), 3, Status::Passed);
            let line = to_line(&Line::GateFinished {
                phase: 1,
                stage: "0",
                result: &gate,
            });
            assert!(
                !line.contains(['\n', '\r', '\u{2028}', '\u{2029}', '\u{1b}']),
                "{line}"
            );
            assert!(!line.contains("##["), "{line}");
            assert!(
                line.starts_with(
                    r#"{"format":"gaterun-events","version":1,"event":"gate_finished","#
                )
            );
            let back: serde_json::Value = serde_json::from_str(&line).expect(&line);
            assert_eq!(back["result"]["title"], title, "{line}");
        }
    }

    #[test]
    fn counts_take_every_gate_of_every_stage() {
        let stage = |statuses: &[Status]| {
            let mut r: crate::results::StageResult = serde_json::from_value(serde_json::json!({
                "gaterun_version": "", "phase": 1, "stage": "0", "name": "",
                "definition_hash": "", "status": "passed", "started_at": "",
                "duration_ms": 0, "commit": null, "gates": [],
            }))
            .expect("a stage result");
            r.gates = statuses
                .iter()
                .map(|s| GateResult::new("g", "t", String::new(), 1, *s))
                .collect();
            r
        };
        let mut flaky = stage(&[Status::Passed]);
        flaky.gates[0].flaky = true;
        let counts = Counts::of(&[
            stage(&[Status::Passed, Status::Failed, Status::Error]),
            stage(&[Status::Interrupted, Status::Blocked]),
            flaky,
        ]);
        let want = Counts {
            stages: 3,
            gates: 6,
            passed: 2,
            failed: 1,
            error: 1,
            interrupted: 1,
            blocked: 1,
            flaky: 1,
        };
        assert_eq!(counts, want);
    }
}
