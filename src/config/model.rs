//! The validated plan: what the runner trusts. Built only by `validate`.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::expect::Pattern;

/// A stage number with an optional sub-stage letter: `4 < 4a < 4b < 5`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StageKey {
    pub number: u32,
    pub letter: Option<char>,
}

impl StageKey {
    pub fn parse(s: &str) -> Option<StageKey> {
        let s = s.trim();
        let (digits, letter) = match s.char_indices().last() {
            Some((i, c)) if c.is_ascii_lowercase() => (&s[..i], Some(c)),
            _ => (s, None),
        };
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.len() > 6 {
            return None;
        }
        Some(StageKey {
            number: digits.parse().ok()?,
            letter,
        })
    }

    /// The evidence directory name: `stage-02`, `stage-04a`.
    pub fn dir_name(&self) -> String {
        format!(
            "stage-{:02}{}",
            self.number,
            self.letter.map(String::from).unwrap_or_default()
        )
    }
}

impl fmt::Display for StageKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.number)?;
        if let Some(c) = self.letter {
            write!(f, "{c}")?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone)]
pub struct Project {
    /// The directory holding `gaterun.yaml`, else the current directory.
    pub root: PathBuf,
    pub gates_dir: PathBuf,
    pub evidence_dir: PathBuf,
    pub current_phase: Option<u32>,
}

#[derive(Debug, Clone)]
pub struct Stage {
    pub phase: u32,
    pub key: StageKey,
    pub name: String,
    pub goal: Option<String>,
    pub risk: Option<String>,
    pub open_questions: Vec<String>,
    pub serial: bool,
    pub gates: Vec<Gate>,
    /// The stage file, relative to the project root where possible (for reports and annotations).
    pub file: PathBuf,
    /// sha256 of the stage file's parsed content, canonical JSON: the prerequisite ledger key.
    pub definition_hash: String,
}

impl Stage {
    /// `phase-1/stage-02`
    pub fn label(&self) -> String {
        format!("phase-{}/{}", self.phase, self.key.dir_name())
    }
}

#[derive(Debug, Clone)]
pub struct Gate {
    pub id: String,
    pub title: String,
    pub tags: Vec<String>,
    pub timeout: Duration,
    pub grace: Duration,
    /// Relative to the project root.
    pub workdir: PathBuf,
    /// In order: project defaults, stage defaults, the gate's own. Values may hold `${VAR}`.
    pub env: Vec<(String, String)>,
    pub secrets: Vec<String>,
    pub steps: Vec<Step>,
    pub line: u64,
    pub column: u64,
}

#[derive(Debug, Clone)]
pub struct Step {
    pub name: Option<String>,
    pub kind: StepKind,
    pub timeout: Option<Duration>,
    pub eventually: Option<Duration>,
    pub captures: Vec<(String, String)>,
    pub line: u64,
}

impl Step {
    /// A short label for reports: the step's name, else its kind and argument.
    pub fn label(&self) -> String {
        if let Some(name) = &self.name {
            return name.clone();
        }
        match &self.kind {
            StepKind::Run { command, .. } => format!("run: {}", command.display()),
        }
    }

    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            StepKind::Run { .. } => "run",
        }
    }
}

#[derive(Debug, Clone)]
pub enum StepKind {
    Run { command: Command, expect: RunExpect },
}

#[derive(Debug, Clone)]
pub enum Command {
    /// Passed to `sh -c` untouched; the shell expands variables itself.
    Shell(String),
    /// Each argument is interpolated, then run without a shell.
    Argv(Vec<String>),
}

impl Command {
    pub fn display(&self) -> String {
        match self {
            Command::Shell(s) => s.clone(),
            Command::Argv(argv) => argv.join(" "),
        }
    }
}

#[derive(Debug, Clone)]
pub struct RunExpect {
    pub exit: Vec<i64>,
    pub stdout: Vec<Pattern>,
    pub stderr: Vec<Pattern>,
}
