//! Whether a readiness probe's answer came from the service itself. For a probe of a local
//! address or of the service's own port, every socket listening on that port must be one of
//! the service's processes'; an answer from another program on a port the service could not
//! bind is not readiness.

use std::collections::{HashMap, HashSet};

use super::service::{SERVICE_VAR, Service};
use crate::config::Probe;
use crate::process;
use crate::vars::{self, Vars};

/// After an `http` or `tcp` probe answered: whether the answer can only have come from the
/// service. For a probe of a local address or of the service's own port, every socket
/// listening on that port must be one of the service's processes' (its process group, their
/// descendants, and what daemonized out of them); otherwise another program answered — a
/// gaterun run elsewhere, a leftover server — and the service itself has likely failed to bind.
pub fn own_listener(
    svc: &Service,
    token: &str,
    vars: &Vars,
    probe: &Probe,
    holders: &mut HashMap<u64, String>,
) -> Result<(), String> {
    let Some((host, port)) = probe_target(probe, vars) else {
        return Ok(());
    };
    if !is_local(&host) && port != svc.port.0 {
        return Ok(());
    }
    let at = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let listeners = crate::ports::listeners(port);
    if listeners.is_empty() {
        return Err(format!(
            "{at} answered, but no socket here listens on port {port}"
        ));
    }
    let leader = svc.pid().map_or(0, |p| p as i32);
    let marker = format!("{SERVICE_VAR}={}", svc.def.name);
    // The service's cgroup holds what it daemonized even when its environment is unreadable
    // (a process title written over it).
    let own: HashSet<u64> = process::service_processes(token, leader, &marker)
        .into_iter()
        .chain(process::service_cgroup_procs(token, &svc.def.name))
        .flat_map(crate::ports::socket_inodes)
        .collect();
    let Some(foreign) = listeners.iter().find(|l| !own.contains(&l.inode)) else {
        return Ok(());
    };
    let who = holders.entry(foreign.inode).or_insert_with(|| {
        match crate::ports::holder_of(foreign.inode) {
            Some((pid, cmdline)) => {
                let mut cmd = crate::text::sanitize(&cmdline);
                if cmd.len() > 80 {
                    let cut = (0..=80)
                        .rev()
                        .find(|n| cmd.is_char_boundary(*n))
                        .unwrap_or(0);
                    cmd.truncate(cut);
                    cmd.push('…');
                }
                format!("pid {pid} ({cmd:?})")
            }
            None => format!("a process of uid {} that gaterun cannot see", foreign.uid),
        }
    });
    Err(format!(
        "{at} answered, but the listener on port {port} is {who}, not service `{}`",
        svc.def.name
    ))
}

/// The host and port an `http` or `tcp` probe connects to.
fn probe_target(probe: &Probe, vars: &Vars) -> Option<(String, u16)> {
    match probe {
        Probe::Http(url) => {
            let url = reqwest::Url::parse(&vars::interpolate(url, vars).ok()?).ok()?;
            let host = url.host_str()?.trim_matches(['[', ']']).to_owned();
            Some((host, url.port_or_known_default()?))
        }
        Probe::Tcp(addr) => {
            let addr = vars::interpolate(addr, vars).ok()?;
            let (host, port) = addr.rsplit_once(':')?;
            Some((host.trim_matches(['[', ']']).to_owned(), port.parse().ok()?))
        }
        Probe::Log(_) | Probe::Run(_) => None,
    }
}

/// `localhost`, a loopback or an unspecified address: this machine, surely.
fn is_local(host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    host == "localhost"
        || host.ends_with(".localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback() || ip.is_unspecified())
}
