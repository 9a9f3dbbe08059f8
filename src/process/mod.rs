//! Processes: spawning in their own process group, finding every process a gate started, and
//! stopping them all — including the ones that daemonized, `setsid` or double-forked. Every
//! signal gaterun sends goes out from here; callers pass plain values (program, arguments,
//! environment), never the gate model.
//!
//! How a stray process is attributed to its gate: gaterun makes itself a child subreaper, so
//! anything that daemonizes out of a gate is reparented to gaterun instead of init and stays in
//! its process tree; and every process a gate starts inherits `GATERUN_GATE=<token>` in its
//! environment (the cookie Jenkins' process tree killer uses). Stopping a gate walks gaterun's
//! descendants in `/proc`, picks those whose initial environment carries the gate's token, and
//! sends them SIGTERM, then SIGKILL after the grace period, alongside the process groups of the
//! commands themselves (which also covers a process that cleared its environment).
//!
//! Orphans reparented to gaterun are reaped here; children spawned through tokio are recorded
//! in an owned set so the reaper never takes an exit status tokio is waiting for.
//!
//! The files: `token` (run id, gate tokens), `spawn` (a gate's commands), `owned` (children
//! the reaper leaves alone), `procfs` and `scan` (reading `/proc`, the token search),
//! `group` (noted process groups), `gate` (a gate's containment through its life), `kill`
//! (signals), `terminate` (a gate's teardown, dead runs' leftovers), `force` (the second
//! interrupt), `shell` (the `sh` gates run), `contain` and `pidns` (cgroups and PID
//! namespaces), `capture` (output).

mod capture;
#[cfg(target_os = "linux")]
pub(crate) mod contain;
mod force;
mod gate;
mod group;
mod kill;
mod owned;
#[cfg(target_os = "linux")]
pub mod pidns;
#[cfg(target_os = "linux")]
mod procfs;
#[cfg(target_os = "linux")]
mod scan;
mod shell;
mod spawn;
mod terminate;
mod token;

pub use capture::{CappedBuffer, mask_bytes};
#[cfg(target_os = "linux")]
pub use contain::{Containment, Usage};
pub use force::{force_kill, forced, is_forced};
#[cfg(target_os = "linux")]
pub use gate::is_dying;
pub use gate::{
    close_gate, containment, containment_chosen, forget_token, kill_service_cgroup, open_gate,
    pid_namespaces, prepare_service, service_cgroup_procs,
};
pub use group::{forget_group_if_empty, note_group};
pub use kill::{
    group_alive, kill_group, kill_if_named, signal_groups, signal_if_named, signal_pids,
};
/// A helper of the run itself (the throw-away MariaDB server), waited for by its owner.
pub(crate) use owned::{forget as forget_owned, spawn_tokio as spawn_owned};
#[cfg(target_os = "linux")]
pub use procfs::{all_pids, parent_of};
#[cfg(target_os = "linux")]
pub use scan::{
    become_subreaper, processes_with_token, reap_orphans, service_processes, token_processes,
};
pub(crate) use shell::shell;
pub use spawn::{GateCommand, command, new_session, release, spawn};
#[cfg(target_os = "linux")]
pub use terminate::kill_dead_runs;
pub use terminate::terminate;
pub use token::{TOKEN_VAR, new_token, run_id, token_run};
