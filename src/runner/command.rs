//! A gate's command from the gate model: `sh -c` for a shell string (passed untouched: the
//! shell expands variables itself), the interpolated argv otherwise, the gate's variables as
//! the environment. The model and `${VAR}` interpolation stay on this side; `process` gets
//! plain values.

use std::ffi::OsString;
use std::io;
use std::path::Path;

use crate::config::Command;
use crate::process::{self, GateCommand};
use crate::vars::{self, VarError, Vars};

/// Why a gate command could not be made.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error(transparent)]
    Var(#[from] VarError),
    #[error("failed to prepare the gate's PID namespace: {0}")]
    Namespace(io::Error),
}

/// A command of a gate, ready to spawn: `sh -c` for a shell string, the interpolated argv
/// otherwise; exactly the gate's variables as its environment plus the gate's token; its own
/// process group; stdin from `/dev/null`, stdout and stderr piped. In the gate's PID namespace
/// when that is on.
pub fn gate_command(
    command: &Command,
    vars: &Vars,
    token: &str,
    workdir: &Path,
) -> Result<GateCommand, CommandError> {
    let (program, args): (OsString, Vec<OsString>) = match command {
        Command::Shell(script) => (
            process::shell().as_os_str().to_owned(),
            vec!["-c".into(), script.into()],
        ),
        Command::Argv(argv) => {
            let argv: Vec<String> = argv
                .iter()
                .map(|a| vars::interpolate(a, vars))
                .collect::<Result<_, _>>()?;
            (
                argv[0].clone().into(),
                argv[1..].iter().map(OsString::from).collect(),
            )
        }
    };
    process::command(program, args, vars, token, workdir).map_err(CommandError::Namespace)
}
