//! The command line (clap derive). The contract is `GATES.md` section 8.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "gaterun",
    version,
    about = "Run a phase's stage acceptance gates and write the evidence"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: CommandKind,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Debug, Subcommand)]
pub enum CommandKind {
    /// Run stage S of the current phase (e.g. `2`, `4a`); a stage of phase N > 1 needs every
    /// earlier phase signed off with its current definitions (exit 3 otherwise)
    Stage {
        stage: String,
        /// The phase, when the project has several and no `current_phase`
        #[arg(long)]
        phase: Option<u32>,
    },
    /// Run the stages of phase N in order; stop at the first that fails (phase N > 1 needs every
    /// earlier phase signed off, as for `stage`)
    Phase { phase: u32 },
    /// Validate every gate file and print lint warnings
    Check,
    /// List phases, stages and gates with the last result from evidence
    List {
        #[arg(long)]
        phase: Option<u32>,
    },
    /// Write a phase skeleton from the method: stages 0–10 with placeholder gates, under
    /// gates/phase-N/ (N: the template's phase, 1, 2 or 3, else --phase). A phase that has
    /// stage files already is never written a second time: init refuses and names the next free
    /// phase
    Init {
        #[arg(long, default_value = "backend", value_parser = ["backend", "ui", "integrations"])]
        template: String,
        /// The phase to write the template as (default: backend 1, ui 2, integrations 3)
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
        phase: Option<u32>,
    },
    /// Rebuild the markdown implementation log from evidence
    Report {
        #[arg(long)]
        phase: Option<u32>,
    },
    /// Stage 10: check the phase's exit criteria (its stages passed, earlier phases signed off)
    /// and write SIGNOFF.md and the ledger later phases are held to, signoff.json
    Signoff {
        #[arg(long)]
        phase: u32,
    },
    /// Merge evidence directories from shards into one (--evidence names the result)
    Merge {
        #[arg(required = true, value_name = "DIR")]
        dirs: Vec<std::path::PathBuf>,
    },
    /// Check that the evidence agrees with itself, its manifest and the stage files (exit 0
    /// when it does, 1 naming each file that does not)
    Verify {
        /// The evidence directory (default: the project's)
        #[arg(value_name = "DIR")]
        dir: Option<std::path::PathBuf>,
    },
    /// Print the JSON Schema of stage files
    Schema,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Prereqs {
    /// Require every earlier stage of the phase to have passed with its current definition,
    /// and every earlier phase to be signed off with its current definitions
    Check,
    /// Run the earlier phases not signed off and the earlier stages first, in order, stopping
    /// at the first failure
    Run,
    /// Skip the check
    Ignore,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Progress {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Args)]
pub struct Common {
    /// Gates root (default: `gates/` under the project root)
    #[arg(long, global = true, value_name = "DIR")]
    pub gates: Option<PathBuf>,
    /// Evidence root (default: `evidence/` under the project root)
    #[arg(long, global = true, value_name = "DIR")]
    pub evidence: Option<PathBuf>,
    /// Gates run at once within a stage (default: number of CPUs)
    #[arg(long, short = 'j', global = true, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub jobs: Option<u32>,
    /// Run only the gate with this id (repeatable)
    #[arg(long = "gate", global = true, value_name = "ID")]
    pub gate_ids: Vec<String>,
    /// Run only gates with this tag (repeatable)
    #[arg(long = "tag", global = true, value_name = "T")]
    pub tags: Vec<String>,
    /// What to do about earlier stages of the phase, and earlier phases not signed off
    #[arg(long, global = true, value_enum, default_value_t = Prereqs::Check)]
    pub prereqs: Prereqs,
    /// `phase`: go on past a failed stage (later stages still recorded blocked)
    #[arg(long, global = true)]
    pub keep_going: bool,
    #[arg(long, global = true, value_enum, default_value_t = Progress::Auto)]
    pub progress: Progress,
    /// Keep each gate's temp directory
    #[arg(long, global = true)]
    pub keep_tmp: bool,
    /// Print only failures and the stage summaries
    #[arg(long, short, global = true)]
    pub quiet: bool,
    /// Print the tail of a failed gate's output
    #[arg(long, short, global = true)]
    pub verbose: bool,
    /// Run each gate N times; mixed results are reported as flaky
    #[arg(long, global = true, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub repeat: u32,
    /// Run only shard K of N (e.g. 2/4), split by a stable hash of phase, stage and gate id
    #[arg(long, global = true, value_name = "K/N", value_parser = parse_shard)]
    pub shard: Option<(u32, u32)>,
    /// What holds each gate's processes: `auto` takes a cgroup where gaterun may make one, else
    /// a PID namespace, else the token search; an explicit mechanism that is unavailable is an
    /// error
    #[arg(long, global = true, value_enum, default_value_t = Containment::Auto)]
    pub containment: Containment,
    /// GitHub Actions output: groups, annotations, masks, step summary and outputs
    /// (default on when GITHUB_ACTIONS=true)
    #[arg(long, global = true)]
    pub github: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Containment {
    Auto,
    Cgroup,
    #[value(hide = true)]
    CgroupV2,
    #[value(hide = true)]
    CgroupV1,
    PidNamespace,
    Token,
}

#[cfg(target_os = "linux")]
impl From<Containment> for crate::process::contain::Request {
    fn from(c: Containment) -> Self {
        use crate::process::contain::Request;
        match c {
            Containment::Auto => Request::Auto,
            Containment::Cgroup => Request::Cgroup,
            Containment::CgroupV2 => Request::Cgroup2,
            Containment::CgroupV1 => Request::Cgroup1,
            Containment::PidNamespace => Request::PidNamespace,
            Containment::Token => Request::Token,
        }
    }
}

pub fn parse_shard(s: &str) -> Result<(u32, u32), String> {
    let (k, n) = s
        .split_once('/')
        .ok_or("write the shard as K/N, e.g. 1/4")?;
    let k: u32 = k
        .trim()
        .parse()
        .map_err(|_| format!("invalid shard number `{k}`"))?;
    let n: u32 = n
        .trim()
        .parse()
        .map_err(|_| format!("invalid shard count `{n}`"))?;
    if n == 0 || k == 0 || k > n {
        return Err(format!(
            "the shard must be between 1/{n} and {n}/{n}",
            n = n.max(1)
        ));
    }
    Ok((k, n))
}
