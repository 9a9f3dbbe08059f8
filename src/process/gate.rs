//! A gate's containment through its life: the mechanism the run chose, the gate's cgroups
//! opened and closed, a service's cgroup within them, and what is forgotten when the gate is
//! over. Each call does what the run's containment asks and nothing under the others.

use super::contain::{self, Containment, Usage};

/// The containment chosen for this run (`Token` before it is chosen, and off Linux).
pub fn containment() -> Containment {
    #[cfg(target_os = "linux")]
    return contain::chosen();
    #[cfg(not(target_os = "linux"))]
    Containment::Token
}

/// The containment this run chose, if it chose one (a run that starts no process does not).
pub fn containment_chosen() -> Option<Containment> {
    #[cfg(target_os = "linux")]
    return contain::chosen_if_any();
    #[cfg(not(target_os = "linux"))]
    Some(Containment::Token)
}

/// Whether gate commands run in a PID namespace per gate (`--containment pid-namespace`, or
/// `auto` where no cgroup may be made).
pub fn pid_namespaces() -> bool {
    containment() == Containment::PidNamespace
}

/// Make the gate's cgroups, where the run uses them: every command made for `token` joins
/// them until [`close_gate`].
pub fn open_gate(token: &str) -> Result<(), String> {
    #[cfg(target_os = "linux")]
    return contain::open_gate(token);
    #[cfg(not(target_os = "linux"))]
    Ok(())
}

/// A service's command: into the service's own cgroup within the gate's, where the run has
/// cgroups.
pub fn prepare_service(
    token: &str,
    name: &str,
    cmd: &mut tokio::process::Command,
) -> Result<(), String> {
    #[cfg(target_os = "linux")]
    if let Some(cg) = contain::gate_of(token) {
        return cg.prepare_service(name, cmd);
    }
    Ok(())
}

/// The processes in service `name`'s cgroup (none without cgroups).
pub fn service_cgroup_procs(token: &str, name: &str) -> Vec<i32> {
    #[cfg(target_os = "linux")]
    if let Some(cg) = contain::gate_of(token) {
        return cg.service_procs(name);
    }
    Vec::new()
}

/// Kill everything in service `name`'s cgroup.
pub fn kill_service_cgroup(token: &str, name: &str) {
    #[cfg(target_os = "linux")]
    if let Some(cg) = contain::gate_of(token) {
        cg.kill_service(name);
    }
}

/// The gate's processes are gone: its usage, and its cgroups removed (or why not).
pub fn close_gate(token: &str) -> (Usage, Option<String>) {
    #[cfg(target_os = "linux")]
    return contain::finish(token);
    #[cfg(not(target_os = "linux"))]
    (Usage::default(), None)
}

/// The gate is over: forget its token's pid floor, noted groups and PID namespace.
pub fn forget_token(token: &str) {
    super::token::forget_floor(token);
    super::group::forget_groups(token);
    #[cfg(target_os = "linux")]
    super::pidns::forget(token);
}

/// Whether `pid` (a process gaterun spawned) is gone, a zombie, exiting or bound to die — or,
/// in a PID namespace where `pid` is the joiner, whether the command it started is.
#[cfg(target_os = "linux")]
pub fn is_dying(pid: i32) -> bool {
    use super::procfs;
    procfs::is_dying(pid) || super::pidns::command_of(pid as u32).is_some_and(procfs::is_dying)
}
