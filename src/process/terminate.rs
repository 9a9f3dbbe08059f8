//! Stopping every process of a gate: SIGTERM to all the ways they are known (process groups,
//! the gate's cgroup, the token, the PID namespace), the grace, then SIGKILL and the cgroup
//! killed whole; and, at start-up, what runs killed by SIGKILL left behind.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use rustix::process::Signal;

use super::force::is_forced;
use super::kill::{signal_groups, signal_pids};
use super::scan::{processes_with_token, processes_with_token_everywhere, reap_orphans};

/// Stop every process of a gate: SIGTERM to the given process groups, to every process in the
/// gate's cgroup, to every process carrying the token and to the gate's PID namespace (its
/// pid 1 passes it on); after `grace` (at once after a
/// second interrupt), the cgroup frozen and killed whole, and SIGKILL to whatever else is
/// left. Returns once none is left, or after two more seconds with a message naming what
/// refused to die.
pub async fn terminate(token: &str, groups: &[u32], grace: Duration) -> Option<String> {
    #[cfg(target_os = "linux")]
    let cgroup = super::contain::gate_of(token);
    let mut all_groups = groups.to_vec();
    all_groups.extend(super::group::noted_groups(token));
    let groups = &all_groups[..];
    let start = Instant::now();
    let mut killed = false;
    let mut first = true;
    let mut full = true;
    let mut live;
    loop {
        // A full look at /proc on the first and the last round: after the pid counter
        // wrapped, a gate's process may have a pid below the token's floor.
        live = if full {
            processes_with_token_everywhere(token)
        } else {
            processes_with_token(token)
        };
        #[cfg(target_os = "linux")]
        let in_cgroup = match &cgroup {
            Some(cg) => {
                for p in cg.procs() {
                    if !live.contains(&p) {
                        live.push(p);
                    }
                }
                !cg.is_empty()
            }
            None => false,
        };
        // With a cgroup, a recorded group is signalled only while one of the gate's processes
        // is in it: a group that emptied may have had its number reused by anyone (the pid
        // counter is wrapped by ordinary activity, and can be set by root). Without one, a
        // group member that cleared its environment can be found no other way.
        #[cfg(target_os = "linux")]
        let groups = &if cgroup.is_some() {
            groups_in_use(&all_groups, &live)
        } else {
            all_groups.clone()
        }[..];
        let force = is_forced() || start.elapsed() >= grace;
        if first {
            signal_groups(groups, Signal::TERM);
            signal_pids(&live, Signal::TERM);
            #[cfg(target_os = "linux")]
            super::pidns::signal(token, Signal::TERM);
            first = false;
        }
        #[cfg(target_os = "linux")]
        let namespace = super::pidns::alive(token);
        #[cfg(not(target_os = "linux"))]
        let namespace = false;
        if live.is_empty() && !in_cgroup && !namespace {
            if full {
                break;
            }
            full = true;
            continue;
        }
        full = false;
        if force {
            #[cfg(target_os = "linux")]
            if let Some(cg) = &cgroup {
                cg.kill_all();
            }
            signal_groups(groups, Signal::KILL);
            signal_pids(&live, Signal::KILL);
            #[cfg(target_os = "linux")]
            super::pidns::signal(token, Signal::KILL);
            killed = true;
        }
        if killed && start.elapsed() >= grace + Duration::from_secs(2) {
            break;
        }
        let pause = if start.elapsed() < Duration::from_millis(50) {
            2
        } else {
            10
        };
        tokio::time::sleep(Duration::from_millis(pause)).await;
    }
    // A group member that cleared its environment is invisible to the scan: make sure.
    #[cfg(target_os = "linux")]
    if cgroup.is_none() {
        signal_groups(groups, Signal::KILL);
    }
    if killed {
        reap_orphans();
    }
    (!live.is_empty()).then(|| {
        format!(
            "{} process{} refused to die: {live:?}",
            live.len(),
            if live.len() == 1 { "" } else { "es" }
        )
    })
}

/// The groups among `groups` that one of `live` belongs to.
#[cfg(target_os = "linux")]
fn groups_in_use(groups: &[u32], live: &[i32]) -> Vec<u32> {
    let used: HashSet<i32> = live
        .iter()
        .filter_map(|p| super::procfs::group_of(*p))
        .collect();
    groups
        .iter()
        .copied()
        .filter(|g| used.contains(&(*g as i32)))
        .collect()
}

/// Kill what dead runs left: the cgroups of runs `dead` says are dead, with everything in
/// them, then every process carrying a token of such a run. `dead` is asked in that order,
/// once per cgroup and per process. Returns what could not be removed.
#[cfg(target_os = "linux")]
pub fn kill_dead_runs(dead: &mut dyn FnMut(&str) -> bool) -> Vec<String> {
    let mut problems = Vec::new();
    for (run, dir) in super::contain::run_cgroups() {
        if dead(&run)
            && let Err(e) = super::contain::remove_dead_run(&dir)
        {
            problems.push(e);
        }
    }
    let strays: Vec<i32> = super::scan::token_processes()
        .into_iter()
        .filter(|(_, run)| dead(run))
        .map(|(pid, _)| pid)
        .collect();
    // A stray leading a process group takes the group with it: a run's browser (issue 19)
    // leads one, and its zygotes and renderers overwrite their environment (the token with
    // it) with their process titles.
    let leaders: Vec<u32> = strays
        .iter()
        .filter(|&&p| super::procfs::group_of(p) == Some(p))
        .map(|&p| p as u32)
        .collect();
    signal_groups(&leaders, Signal::KILL);
    signal_pids(&strays, Signal::KILL);
    problems
}
