//! The command line (clap derive). The contract is `GATES.md` section 8.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "gaterun",
    version,
    about = "Run a phase's stage acceptance gates and write the evidence",
    after_help = EXIT_CODES
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
        /// The stage: its number, 0 to 10, with an optional letter for a sub-stage (`4a`)
        stage: String,
        /// The phase, when the project has several and no `current_phase`
        #[arg(long)]
        phase: Option<u32>,
        #[command(flatten)]
        run: RunOptions,
    },
    /// Run the stages of phase N in order; stop at the first that fails (phase N > 1 needs every
    /// earlier phase signed off, as for `stage`)
    Phase {
        /// The phase's number (its stage files are under gates/phase-N/)
        phase: u32,
        #[command(flatten)]
        run: RunOptions,
    },
    /// Validate every gate file and print lint warnings
    Check,
    /// List phases, stages and gates with the last result from evidence
    List {
        /// List only this phase
        #[arg(long)]
        phase: Option<u32>,
    },
    /// Write a phase skeleton from the method: stages 0–10 with placeholder gates, under
    /// gates/phase-N/ (N: the template's phase, 1, 2 or 3, else --phase). A phase that has
    /// stage files already is never written a second time: init refuses and names the next free
    /// phase
    Init {
        /// The method's stage list to write: `backend` (phase 1: service, database, APIs), `ui`
        /// (phase 2: the front end on that backend) or `integrations` (phase 3: external APIs)
        #[arg(long, default_value = "backend", value_parser = ["backend", "ui", "integrations"])]
        template: String,
        /// The phase to write the template as (default: backend 1, ui 2, integrations 3)
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
        phase: Option<u32>,
    },
    /// Rebuild the markdown implementation log from evidence
    Report {
        /// Rebuild only this phase's log (the evidence page is rebuilt whole)
        #[arg(long)]
        phase: Option<u32>,
    },
    /// Stage 10: check the phase's exit criteria (its stages passed, earlier phases signed off)
    /// and write SIGNOFF.md and the ledger later phases are held to, signoff.json
    Signoff {
        /// The phase to sign off
        #[arg(long)]
        phase: u32,
    },
    /// Merge evidence directories from shards into one (--evidence names the result)
    Merge {
        /// The shards' evidence directories (each a `--shard K/N` run's evidence)
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
    /// Print the JSON Schema of stage files (with --events: of `--message-format json` lines)
    Schema {
        /// The schema of the events `--message-format json` prints, one object per line
        #[arg(long)]
        events: bool,
    },
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

/// `--message-format`: what stdout carries during a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MessageFormat {
    /// The human report
    Human,
    /// One JSON object per event and line (schema: `gaterun schema --events`); the human
    /// report goes to stderr
    Json,
}

/// `--color`: colour in gaterun's own words on stderr (never in what a gate printed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Color {
    /// Colour on a terminal, unless NO_COLOR is set; CLICOLOR_FORCE colours a pipe too
    Auto,
    /// Colour, whatever the environment says
    Always,
    /// No colour, whatever the environment says
    Never,
}

/// `--failure-output`: where a failed gate's last lines of output are shown (nextest's words).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailureOutput {
    /// Under the gate's ✗ line, as it finishes
    Immediate,
    /// In the closing list of failed gates, at the end of the run
    Final,
    /// Both
    ImmediateFinal,
    /// Neither (the log path is still shown)
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Progress {
    /// On a terminal outside CI
    Auto,
    /// Always, even into a pipe
    Always,
    /// Never
    Never,
}

/// What every command may take: where the project's gates and evidence are, GitHub output.
#[derive(Debug, Args)]
pub struct Common {
    /// Gates root (default: `gates/` under the project root)
    #[arg(long, global = true, value_name = "DIR", display_order = 900)]
    pub gates: Option<PathBuf>,
    /// Evidence root (default: `evidence/` under the project root)
    #[arg(long, global = true, value_name = "DIR", display_order = 901)]
    pub evidence: Option<PathBuf>,
    /// GitHub Actions output: groups, annotations, masks, step summary and outputs
    /// (default on when GITHUB_ACTIONS=true)
    #[arg(long, global = true, display_order = 902)]
    pub github: bool,
    /// Colour on stderr: `auto` on a terminal (NO_COLOR turns it off, CLICOLOR_FORCE on),
    /// `always`, `never`
    #[arg(long, global = true, value_enum, default_value_t = Color::Auto, value_name = "WHEN", display_order = 903)]
    pub color: Color,
    /// Run options written before the command (`gaterun --jobs 2 stage 1`): hidden from the
    /// help, taken by `stage` and `phase` (where they are written after the command too),
    /// refused by the others. After [`parse`], the options of the run.
    #[command(flatten)]
    pub run: RunOptions,
}

/// The options of the commands that run gates, `stage` and `phase`.
#[derive(Debug, Clone, Args)]
pub struct RunOptions {
    /// Gates run at once within a stage (default: number of CPUs)
    #[arg(long, short = 'j', value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub jobs: Option<u32>,
    /// Run only the gate with this id (repeatable)
    #[arg(long = "gate", value_name = "ID")]
    pub gate_ids: Vec<String>,
    /// Run only gates with this tag (repeatable)
    #[arg(long = "tag", value_name = "T")]
    pub tags: Vec<String>,
    /// What to do about earlier stages of the phase, and earlier phases not signed off
    #[arg(long, value_enum, default_value_t = Prereqs::Check)]
    pub prereqs: Prereqs,
    /// Go on past a failed stage (later stages still recorded blocked): `phase`, and `stage`
    /// with `--prereqs run`
    #[arg(long, visible_alias = "no-fail-fast", overrides_with = "fail_fast")]
    pub keep_going: bool,
    /// Stop at the first stage that fails (the default; undoes an earlier --keep-going)
    #[arg(long, overrides_with = "keep_going")]
    pub fail_fast: bool,
    /// The progress bar: `auto` on a terminal outside CI, `always`, `never`
    #[arg(long, value_enum, default_value_t = Progress::Auto)]
    pub progress: Progress,
    /// Keep each gate's temp directory
    #[arg(long)]
    pub keep_tmp: bool,
    /// Print only failures and the stage summaries
    #[arg(long, short)]
    pub quiet: bool,
    /// Show a failed gate's output at its line and again in the closing list (as
    /// `--failure-output immediate-final`, unless that option is given)
    #[arg(long, short)]
    pub verbose: bool,
    /// Where a failed gate's last lines of output are shown: at its line, in the closing list
    /// at the end, both, or neither [default: immediate]
    #[arg(long, value_enum, value_name = "WHEN")]
    pub failure_output: Option<FailureOutput>,
    /// How many of a failed gate's last lines of output are shown
    #[arg(long, value_name = "N", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub failure_lines: u32,
    /// Run each gate N times; mixed results are reported as flaky
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub repeat: u32,
    /// Run only shard K of N (e.g. 2/4), split by a stable hash of phase, stage and gate id
    #[arg(long, value_name = "K/N", value_parser = parse_shard)]
    pub shard: Option<(u32, u32)>,
    /// What holds each gate's processes: `auto` takes a cgroup where gaterun may make one, else
    /// a PID namespace, else the token search; an explicit mechanism that is unavailable is an
    /// error
    #[arg(long, value_enum, default_value_t = Containment::Auto)]
    pub containment: Containment,
    /// `human`, or `json`: one JSON object per event on stdout, for tools and editors
    #[arg(long, value_enum, default_value_t = MessageFormat::Human)]
    pub message_format: MessageFormat,
}

impl RunOptions {
    /// `--failure-output`, or what `--verbose` implies when it is not given.
    pub fn failure_output(&self) -> FailureOutput {
        self.failure_output.unwrap_or(if self.verbose {
            FailureOutput::ImmediateFinal
        } else {
            FailureOutput::Immediate
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Containment {
    /// A cgroup where gaterun may make one, else a PID namespace, else the token search
    Auto,
    /// A cgroup (v2, else v1): every process of the gate, wherever it moved
    Cgroup,
    #[value(hide = true)]
    CgroupV2,
    #[value(hide = true)]
    CgroupV1,
    /// A PID namespace per gate: its processes end with it
    PidNamespace,
    /// The token each gate's processes inherit in their environment, searched for at the end
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

/// The exit codes, at the end of `gaterun --help` (GATES.md section 8).
const EXIT_CODES: &str = "Exit codes:
  0    every selected gate passed (check, verify: all is well)
  1    a gate failed (verify: the evidence does not agree)
  2    invalid usage or invalid gate files
  3    blocked: an earlier stage or phase has not passed (signed off)
  4    nothing selected
  130  interrupted (Ctrl-C, SIGTERM, SIGHUP): what ran is recorded as interrupted";

/// The ids of [`RunOptions`]' arguments.
const RUN_IDS: [&str; 16] = [
    "jobs",
    "gate_ids",
    "tags",
    "prereqs",
    "keep_going",
    "fail_fast",
    "progress",
    "keep_tmp",
    "quiet",
    "verbose",
    "failure_output",
    "failure_lines",
    "repeat",
    "shard",
    "containment",
    "message_format",
];

/// The command line, parsed. The run options are in the help of `stage` and `phase` alone;
/// written before the command they are still taken by those two (`gaterun --containment
/// token stage 1`), where the ones written after the command win, and refused by the others
/// (exit 2), never silently ignored. `cli.common.run` holds the run's options.
pub fn parse() -> Cli {
    use clap::parser::ValueSource;
    use clap::{CommandFactory, FromArgMatches};
    let cmd = Cli::command().mut_args(|a| {
        let early = RUN_IDS.contains(&a.get_id().as_str());
        a.hide(early)
    });
    let matches = cmd.clone().get_matches();
    let mut cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let given =
        |m: &clap::ArgMatches, id: &str| m.value_source(id) == Some(ValueSource::CommandLine);
    let Some((name, sub)) = matches.subcommand() else {
        return cli;
    };
    let early = cli.common.run.clone();
    match &mut cli.command {
        CommandKind::Stage { run, .. } | CommandKind::Phase { run, .. } => {
            let mut merged = run.clone();
            macro_rules! early_unless_given {
                ($($field:ident),*) => {
                    $(if !given(sub, stringify!($field)) {
                        merged.$field = early.$field.clone();
                    })*
                };
            }
            early_unless_given!(
                jobs,
                gate_ids,
                tags,
                prereqs,
                progress,
                keep_tmp,
                quiet,
                verbose,
                failure_output,
                failure_lines,
                repeat,
                shard,
                containment,
                message_format
            );
            // --keep-going and --fail-fast undo each other: the last written wins.
            if !given(sub, "keep_going") && !given(sub, "fail_fast") {
                merged.keep_going = early.keep_going;
            }
            // One stage runs alone unless earlier ones run first: nothing to go on past.
            if name == "stage" && merged.keep_going && merged.prereqs != Prereqs::Run {
                refuse(
                    &cmd,
                    "`gaterun stage` runs one stage: --keep-going applies with --prereqs run (going on past a failed earlier stage) and to `gaterun phase`",
                );
            }
            *run = merged.clone();
            cli.common.run = merged;
        }
        _ => {
            if let Some(id) = RUN_IDS.iter().find(|id| given(&matches, id)) {
                let long = cmd
                    .get_arguments()
                    .find(|a| a.get_id() == *id)
                    .and_then(|a| a.get_long())
                    .unwrap_or(id)
                    .to_owned();
                refuse(
                    &cmd,
                    &format!(
                        "`gaterun {name}` does not take --{long}: only `stage` and `phase` run gates"
                    ),
                );
            }
            // The schema is gaterun's own: no project is read, so a root given is a mistake;
            // `init` writes stage files, no evidence.
            let (unread, why): (&[&str], &str) = match name {
                "schema" => (
                    &["gates", "evidence"],
                    "it prints gaterun's own schema and reads no project",
                ),
                "init" => (&["evidence"], "it writes stage files, no evidence"),
                _ => (&[], ""),
            };
            if let Some(long) = unread.iter().find(|id| given(&matches, id)) {
                refuse(
                    &cmd,
                    &format!("`gaterun {name}` does not take --{long}: {why}"),
                );
            }
        }
    }
    cli
}

/// A usage error (exit 2), in clap's words and layout.
fn refuse(cmd: &clap::Command, message: &str) -> ! {
    cmd.clone()
        .error(clap::error::ErrorKind::ArgumentConflict, message)
        .exit()
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
