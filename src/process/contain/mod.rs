//! Containment: what holds every process of a gate, so that none outlives it whatever it does
//! to its environment, process group, title or pid.
//!
//! Chosen once per gaterun process ([`choose`]), best first:
//! - **cgroup v2**, where gaterun may create a child of its own cgroup (root, or a delegated
//!   subtree): a run cgroup `gaterun-<run id>` beside gaterun, and in it one cgroup per gate,
//!   `gate-<n>`. Every process gaterun spawns for the gate joins it in the child, before
//!   `exec` (`pre_exec` writes `0` to the gate's `cgroup.procs`, opened beforehand), so it and
//!   all it ever forks are in the gate's cgroup from their first instruction. Teardown: SIGTERM
//!   to every member, the grace, then `cgroup.freeze` and `cgroup.kill`, and wait until the
//!   cgroup is empty.
//! - **cgroup v1** as root: the same in the `freezer` hierarchy (and `pids`); the kill freezes
//!   the cgroup, SIGKILLs each member while none can fork, then thaws it.
//! - a **PID namespace** per gate (`pidns/`; in a user namespace when not root), else
//! - the **token** search alone: every process inherits `GATERUN_GATE=<token>` and is found in
//!   `/proc` by it (see `scan.rs`) — blind to a process that clears or overwrites its
//!   environment.
//!
//! The token and the process groups stay in every mode (defence in depth). Peak memory and CPU
//! time are read from the gate's cgroups where they give them: v2 `memory.peak` and
//! `cpu.stat`, else the v1 `memory` and `cpuacct` hierarchies, which a gate joins too when
//! gaterun may create cgroups there.
//!
//! Under the PID namespace, `process::command` wraps every command in gaterun's joiner
//! (`pidns::command`), `process::terminate` signals the namespace's pid 1, and no usage is
//! measured.
//!
//! The files follow a gate's cgroups through their life, each handling v2 and v1 side by side
//! (they differ in a few files of the cgroup directory, not in the steps): `run` chooses the
//! mechanism and makes the run's cgroups, `mounts` finds gaterun's own cgroup in each
//! hierarchy, `join` puts a child into cgroups before `exec`, `gate` holds one gate's, and
//! `tree` kills and removes a cgroup directory with everything below it.

mod gate;
mod join;
mod mounts;
mod run;
mod tree;

pub use gate::{Usage, finish, gate_of, open_gate};
pub use run::{Containment, Request, choose, chosen, chosen_if_any, close_run};
pub use tree::{remove_dead_run, run_cgroups};
