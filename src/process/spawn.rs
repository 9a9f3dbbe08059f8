//! A gate's commands: made from plain values (program, arguments, environment) with the gate's
//! token, its own process group, stdin from `/dev/null` and piped output; joined to the gate's
//! cgroups or started in its PID namespace; spawned with the pid registered as owned; and
//! released once reaped.

use std::ffi::{OsStr, OsString};
use std::io;
use std::path::Path;
use std::process::Stdio;

use super::token::TOKEN_VAR;

/// A command of a gate, configured like a `tokio::process::Command` (it derefs to one) and
/// started with [`spawn`]. In a PID namespace it is gaterun's joiner, which starts the
/// command inside the gate's namespace.
pub struct GateCommand {
    cmd: tokio::process::Command,
    program: OsString,
    #[cfg(target_os = "linux")]
    pending: Option<super::pidns::Pending>,
}

impl GateCommand {
    /// The program the gate asked for (not gaterun's joiner), for messages.
    pub fn program(&self) -> String {
        self.program.to_string_lossy().into_owned()
    }
}

impl std::ops::Deref for GateCommand {
    type Target = tokio::process::Command;
    fn deref(&self) -> &Self::Target {
        &self.cmd
    }
}

impl std::ops::DerefMut for GateCommand {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.cmd
    }
}

/// A command of the gate `token`, ready to spawn: `program` with `args`, exactly `env` as its
/// environment plus the gate's token; its own process group; stdin from `/dev/null`, stdout
/// and stderr piped. In the gate's PID namespace when that is on (the only error: the
/// namespace could not be prepared).
pub fn command<K, V>(
    program: OsString,
    args: Vec<OsString>,
    env: impl IntoIterator<Item = (K, V)>,
    token: &str,
    workdir: &Path,
) -> io::Result<GateCommand>
where
    K: AsRef<OsStr>,
    V: AsRef<OsStr>,
{
    #[cfg(target_os = "linux")]
    let (mut cmd, pending) = if super::gate::pid_namespaces() {
        let (c, p) = super::pidns::command(token, &program, &args)?;
        (c, Some(p))
    } else {
        let mut c = tokio::process::Command::new(&program);
        c.args(&args);
        (c, None)
    };
    #[cfg(not(target_os = "linux"))]
    let mut cmd = {
        let mut c = tokio::process::Command::new(&program);
        c.args(&args);
        c
    };
    cmd.env_clear()
        .envs(env)
        .env(TOKEN_VAR, token)
        .current_dir(workdir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(false);
    // SAFETY: setsid is async-signal-safe.
    unsafe {
        cmd.pre_exec(new_session);
    }
    #[cfg(target_os = "linux")]
    if let Some(cg) = super::contain::gate_of(token) {
        cg.prepare(&mut cmd);
    }
    Ok(GateCommand {
        cmd,
        program,
        #[cfg(target_os = "linux")]
        pending,
    })
}

/// Between fork and exec: a session of the child's own, with no controlling terminal. In
/// gaterun's session a gate could open `/dev/tty` and type into the user's shell (TIOCSTI, run
/// once gaterun exits, outside any containment), retitle or clear the screen, or turn echo off;
/// in a session of its own `/dev/tty` does not open. Its one group has the child's pid, as
/// `process_group(0)` gave it, so a group kill still reaches what it starts.
pub fn new_session() -> io::Result<()> {
    rustix::process::setsid()
        .map(|_| ())
        .map_err(io::Error::from)
}

/// Spawn a gate command configured by the caller, recording its pid as owned by tokio while
/// the registry is locked, so the orphan reaper cannot race the registration. In a PID
/// namespace, returns once the command itself has started (or failed to: its error).
pub fn spawn(cmd: &mut GateCommand) -> io::Result<tokio::process::Child> {
    let child = super::owned::spawn_tokio(&mut cmd.cmd)?;
    #[cfg(target_os = "linux")]
    if let Some(pending) = cmd.pending.take()
        && let Err(e) = super::pidns::started(pending, child.id())
    {
        // The joiner exits 127 on its own; make sure, and let tokio reap it.
        let pid = child.id();
        super::kill::signal_groups(
            &pid.into_iter().collect::<Vec<_>>(),
            rustix::process::Signal::KILL,
        );
        release(pid);
        return Err(e);
    }
    Ok(child)
}

/// Forget a child once tokio has reaped it.
pub fn release(pid: Option<u32>) {
    if let Some(pid) = pid {
        super::owned::forget(pid);
        #[cfg(target_os = "linux")]
        super::pidns::released(pid);
    }
}
