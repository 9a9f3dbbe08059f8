//! What a run found: the results of steps, gates and stages. The evidence writers and the
//! prerequisite ledger read these; `results.json` is their serialized form.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Passed,
    Failed,
    /// The gate could not be evaluated (bad variable, missing secret, internal error).
    Error,
    Interrupted,
    Blocked,
    /// A step not reached because an earlier one failed.
    Skipped,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Passed => "passed",
            Status::Failed => "failed",
            Status::Error => "error",
            Status::Interrupted => "interrupted",
            Status::Blocked => "blocked",
            Status::Skipped => "skipped",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct StepResult {
    pub kind: String,
    pub name: String,
    pub status: Status,
    pub duration_ms: u64,
    #[schemars(required, extend("type" = ["string", "null"]))]
    pub message: Option<String>,
    /// More than one when the step ran with `eventually`.
    pub attempts: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct GateResult {
    pub id: String,
    pub title: String,
    pub status: Status,
    pub duration_ms: u64,
    pub attempts: u32,
    /// One line; null when passed.
    #[schemars(required, extend("type" = ["string", "null"]))]
    pub message: Option<String>,
    pub file: String,
    pub line: u64,
    /// Relative to the stage's evidence directory.
    pub log: String,
    pub steps: Vec<StepResult>,
    /// `--repeat`: some runs passed and some did not. The gate counts as passed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub flaky: bool,
    /// `--repeat`: the runs that did not pass, when others did.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed_runs: Vec<FailedRun>,
    /// The highest memory use of the gate's processes together, when its cgroup measures it
    /// (with `--repeat`, the highest of the runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_memory_bytes: Option<u64>,
    /// CPU time of the gate's processes together, when its cgroup measures it (with
    /// `--repeat`, of all the runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_time_ms: Option<u64>,
    /// Everything the gate's steps printed, capped, secrets masked (written to `log`).
    #[serde(skip)]
    pub output: String,
    /// Issue 19: the pages `browser` steps kept, in the order taken.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub screenshots: Vec<Screenshot>,
}

/// A browser screenshot: where the evidence keeps it (`logs/<gate>/03.png`, relative to the
/// stage's directory) and, until it is written, its bytes.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Screenshot {
    pub path: String,
    #[serde(skip)]
    pub png: Vec<u8>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct FailedRun {
    pub run: u32,
    pub status: Status,
    pub duration_ms: u64,
    #[schemars(required, extend("type" = ["string", "null"]))]
    pub message: Option<String>,
}

/// The filters of a partial run, as given on the command line.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Selection {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gates: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// `K/N`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<String>,
}

impl Selection {
    /// `None` when no filter was given: the run is a full one.
    pub fn of(gates: &[String], tags: &[String], shard: Option<(u32, u32)>) -> Option<Selection> {
        let s = Selection {
            gates: gates.to_vec(),
            tags: tags.to_vec(),
            shard: shard.map(|(k, n)| format!("{k}/{n}")),
        };
        (s != Selection::default()).then_some(s)
    }

    /// Only `--shard`: the shards of a stage merge back into a full result.
    pub fn shard_only(&self) -> bool {
        self.gates.is_empty() && self.tags.is_empty() && self.shard.is_some()
    }

    /// The options that made the selection: `--gate x --tag fast --shard 1/2`.
    pub fn describe(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        parts.extend(self.gates.iter().map(|g| format!("--gate {g}")));
        parts.extend(self.tags.iter().map(|t| format!("--tag {t}")));
        parts.extend(self.shard.iter().map(|s| format!("--shard {s}")));
        parts.join(" ")
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct StageResult {
    pub gaterun_version: String,
    pub phase: u32,
    pub stage: String,
    pub name: String,
    pub definition_hash: String,
    pub status: Status,
    /// True for a run with `--gate`, `--tag` or `--shard` (even one that selected every gate):
    /// it is kept beside the stage's last full result, never as its prerequisite.
    #[serde(default)]
    pub partial: bool,
    /// What a partial run selected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selection: Option<Selection>,
    pub started_at: String,
    pub duration_ms: u64,
    #[schemars(required, extend("type" = ["string", "null"]))]
    pub commit: Option<String>,
    /// Why a blocked stage was blocked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocked_by: Option<String>,
    /// What held the gates' processes: `cgroup2`, `cgroup1`, `pid-namespace` or `token`;
    /// `None` in a run that started no process.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub containment: Option<String>,
    /// The stage's own scope (`setup:`, shared `services:`, `database:`), run once before its
    /// gates: recorded like a gate, id `_setup`, its log `logs/_setup.log`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub setup: Option<GateResult>,
    pub gates: Vec<GateResult>,
}

/// What the stage file says of a stage, shown beside its result in report.md: not part of the
/// result (results.json never holds it), so evidence merged without the stage files has none
/// of it but the file's name.
#[derive(Debug, Clone, Default)]
pub struct StageNotes {
    /// The stage file, as JUnit and annotations name it.
    pub file: String,
    pub goal: Option<String>,
    pub risk: Option<String>,
    pub open_questions: Vec<String>,
}

impl GateResult {
    /// A gate's result before any step ran (`attempts` 0): no steps, no output, its log where
    /// the evidence puts it. The gate executor starts from it; a gate that never ran ends
    /// with it.
    pub fn new(id: &str, title: &str, file: String, line: u64, status: Status) -> GateResult {
        GateResult {
            id: id.to_owned(),
            title: title.to_owned(),
            status,
            duration_ms: 0,
            attempts: 0,
            message: None,
            file,
            line,
            log: format!("logs/{id}.log"),
            steps: Vec::new(),
            flaky: false,
            failed_runs: Vec::new(),
            peak_memory_bytes: None,
            cpu_time_ms: None,
            output: String::new(),
            screenshots: Vec::new(),
        }
    }
}

impl StageResult {
    /// `(--gate x)` for a partial run, empty for a full one.
    pub fn selection_note(&self) -> String {
        match (&self.selection, self.partial) {
            (Some(s), _) => format!(" ({})", s.describe()),
            (None, true) => " (some gates)".to_owned(),
            (None, false) => String::new(),
        }
    }

    pub fn passed_count(&self) -> usize {
        self.gates
            .iter()
            .filter(|g| g.status == Status::Passed)
            .count()
    }

    /// The stage's status from its gates'.
    pub fn status_from(gates: &[GateResult]) -> Status {
        if gates.iter().any(|g| g.status == Status::Interrupted) {
            Status::Interrupted
        } else if gates.iter().any(|g| g.status == Status::Failed) {
            Status::Failed
        } else if gates.iter().any(|g| g.status == Status::Error) {
            Status::Error
        } else if gates.iter().any(|g| g.status == Status::Blocked) {
            Status::Blocked
        } else {
            Status::Passed
        }
    }
}
