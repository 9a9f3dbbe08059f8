//! Finding a gate's processes by its token: gaterun is the child subreaper, so what
//! daemonizes out of a gate stays among gaterun's descendants, and every process of a gate
//! inherits `GATERUN_GATE=<token>`; a walk of gaterun's descendants reads their initial
//! environment. The walk also reaps the orphans reparented to gaterun that tokio does not own.

use std::collections::HashMap;
use std::io;

use rustix::process::{Pid, WaitOptions};

use super::owned::is_owned;
use super::procfs::{all_pids, candidates, contains, environ, snapshot, stat};
use super::token::{TOKEN_VAR, floor_of, token_run};

/// Make gaterun the reaper of everything its children orphan, so a daemonized process stays
/// in gaterun's tree where it can be found.
pub fn become_subreaper() -> io::Result<()> {
    rustix::process::set_child_subreaper(Some(rustix::process::getpid())).map_err(io::Error::from)
}

/// The living processes of one service of a gate: its leader `leader`, the members of its
/// process group, their descendants, and gaterun's descendants whose initial environment
/// carries both the gate's token and `marker` (`GATERUN_SERVICE=<name>`: a process that
/// daemonized out of the service's group is reparented to gaterun, the subreaper).
pub fn service_processes(token: &str, leader: i32, marker: &str) -> Vec<i32> {
    let me = std::process::id() as i32;
    // In a PID namespace, what daemonized is reparented to the namespace's pid 1 instead.
    let reaper = super::pidns::init_pid(token).unwrap_or(me);
    let mut procs = HashMap::new();
    let mut buf = [0u8; 1024];
    for pid in candidates(floor_of(token)) {
        if let Some((state, ppid, pgrp)) = stat(pid, &mut buf)
            && state != 'Z'
            && state != 'X'
        {
            procs.insert(pid, (ppid, pgrp));
        }
    }
    let mut children: HashMap<i32, Vec<i32>> = HashMap::new();
    for (pid, (ppid, _)) in &procs {
        children.entry(*ppid).or_default().push(*pid);
    }
    let gate = format!("{}={token}\0", TOKEN_VAR);
    let service = format!("{marker}\0");
    let mut found = Vec::new();
    // Roots: the leader, its group, and gaterun's children marked as the service's.
    let mut stack: Vec<i32> = procs
        .iter()
        .filter(|(pid, (ppid, pgrp))| {
            **pid == leader
                || *pgrp == leader
                || ((*ppid == me || *ppid == reaper)
                    && environ(**pid).is_some_and(|env| {
                        contains(&env, gate.as_bytes()) && contains(&env, service.as_bytes())
                    }))
        })
        .map(|(pid, _)| *pid)
        .collect();
    let mut seen = std::collections::HashSet::new();
    while let Some(pid) = stack.pop() {
        if !seen.insert(pid) {
            continue;
        }
        found.push(pid);
        if let Some(kids) = children.get(&pid) {
            stack.extend(kids);
        }
    }
    found
}
/// One look at gaterun's descendants: reap the orphaned zombies tokio does not own, and
/// return the living ones whose initial environment holds `GATERUN_GATE=<token>`.
pub fn sweep(token: Option<&str>, everywhere: bool) -> Vec<i32> {
    let me = std::process::id() as i32;
    let pids = if everywhere {
        all_pids()
    } else {
        candidates(token.and_then(floor_of))
    };
    let procs = snapshot(pids);
    let mut children: HashMap<i32, Vec<i32>> = HashMap::new();
    for (pid, info) in &procs {
        children.entry(info.ppid).or_default().push(*pid);
        if info.ppid == me
            && info.zombie
            && !is_owned(*pid as u32)
            && let Some(p) = Pid::from_raw(*pid)
        {
            let _ = rustix::process::waitpid(Some(p), WaitOptions::NOHANG);
        }
    }
    let Some(token) = token else {
        return Vec::new();
    };
    let needle = format!("{}={token}\0", TOKEN_VAR);
    let mut found = Vec::new();
    let mut stack: Vec<i32> = children.get(&me).cloned().unwrap_or_default();
    while let Some(pid) = stack.pop() {
        if let Some(kids) = children.get(&pid) {
            stack.extend(kids);
        }
        if procs.get(&pid).is_some_and(|p| p.zombie) {
            continue;
        }
        if let Some(env) = environ(pid)
            && contains(&env, needle.as_bytes())
        {
            found.push(pid);
        }
    }
    found
}

/// Every process on the machine (but gaterun) carrying a gate token, with the id of the run
/// that made the token: the start-up sweep judges each run's liveness by its lock.
pub fn token_processes() -> Vec<(i32, String)> {
    let me = std::process::id() as i32;
    let prefix = format!("{}=", TOKEN_VAR);
    let mut found = Vec::new();
    for pid in all_pids() {
        if pid == me {
            continue;
        }
        let Some(env) = environ(pid) else {
            continue;
        };
        if let Some(run) = env
            .split(|&b| b == 0)
            .find_map(|var| var.strip_prefix(prefix.as_bytes()))
            .and_then(|token| std::str::from_utf8(token).ok())
            .and_then(token_run)
        {
            found.push((pid, run.to_owned()));
        }
    }
    found
}

/// Reap zombies that were reparented to gaterun and that tokio does not own.
pub fn reap_orphans() {
    sweep(None, false);
}

/// gaterun's living descendants carrying the token (and reap orphaned zombies on the way).
pub fn processes_with_token(token: &str) -> Vec<i32> {
    sweep(Some(token), false)
}

/// The same, reading every pid in `/proc`: right after the pid counter wrapped too.
pub fn processes_with_token_everywhere(token: &str) -> Vec<i32> {
    sweep(Some(token), true)
}
