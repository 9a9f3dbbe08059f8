//! PID-namespace containment: the fallback where gaterun may not create a cgroup (typically an
//! unprivileged user). Chosen by `--containment auto` where no cgroup may be made, or asked for
//! with `--containment pid-namespace`.
//!
//! Each gate gets one PID namespace (owned by a new user namespace when gaterun may not make
//! one otherwise, i.e. when not root) and one mount namespace with its own `/proc`, so `$$`,
//! `ps`, `pkill` and `/proc/<pid>` agree inside the gate. Its pid 1 is gaterun itself
//! (`gaterun __init --gate`): it reaps every orphan of the namespace, and on SIGTERM from
//! gaterun passes SIGTERM to every process of the namespace and exits once none is left.
//!
//! Every command of the gate (run steps, services, readiness probes) is spawned as
//! `gaterun __init --join <pidfd> --report <fd> -- <argv>`: that "joiner" enters the gate's
//! namespaces through a pidfd of their pid 1 (`setns`), forks the real command inside them with
//! the stdio, environment, working directory and process group gaterun gave it, reports whether
//! the command started (so a missing program fails to start as before), then waits and exits
//! with the command's status or re-raises its signal. gaterun sees the statuses, groups and
//! pipes it saw before: its group signals (`stop`, `kill`, timeouts) reach the command as they
//! did; the joiner ignores the catchable ones and mirrors what they did to the command.
//!
//! Whatever a process does inside — setsid, double fork, re-fork and exit over and over,
//! overwrite its environment, turn non-dumpable, `env -i` — it cannot leave the namespace, and
//! when pid 1 dies the kernel kills every member. Teardown is SIGTERM to pid 1 (passed on to
//! all), the grace, SIGKILL to pid 1. pid 1 is held through a pidfd checked against the
//! namespace it reported, so a recycled pid is never signalled.

//!
//! The API, for a containment enum to plug in: [`available`] once at start-up (`Ok` names the
//! kind, `Err` says why not); [`command`] instead of `Command::new` for every command of a gate
//! (the namespace is made on the gate's first command) and [`started`] after spawning it;
//! [`signal`] (SIGTERM, then SIGKILL) and [`alive`] in the teardown loop; [`forget`] when the
//! gate is over. [`init_pid`] and [`command_of`] map gaterun's view to the namespace's (the
//! service listener check, a service's death). No usage figures: a namespace gives none.

mod init;
mod join;
mod joiner;
mod namespace;
mod subcommand;

pub use init::init_main;
pub(crate) use joiner::released;
pub use joiner::{Pending, command, command_of, started};
pub use namespace::{alive, available, forget, init_pid, signal};
pub use subcommand::INIT_ARG;
