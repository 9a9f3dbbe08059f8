//! Who holds a port: the listening sockets of a port (netlink `sock_diag`, else
//! `/proc/net/tcp` and `tcp6`), a process's socket inodes, and the process holding an inode.
//! Readiness counts a probe only when the listener is the service's own.

use std::collections::HashSet;

/// A listening TCP socket, from `/proc/net/tcp` or `tcp6`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    pub inode: u64,
    pub uid: u32,
}

/// One row of `/proc/net/tcp`: local port, state (`0A` is LISTEN), uid, socket inode.
struct Row<'a> {
    port: u16,
    state: &'a str,
    uid: u32,
    inode: u64,
}

fn rows(table: &str) -> impl Iterator<Item = Row<'_>> {
    table.lines().skip(1).filter_map(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        let (_, port) = f.get(1)?.rsplit_once(':')?;
        Some(Row {
            port: u16::from_str_radix(port, 16).ok()?,
            state: f.get(3)?,
            uid: f.get(7)?.parse().ok()?,
            inode: f.get(9)?.parse().ok()?,
        })
    })
}

fn tcp_tables() -> [String; 2] {
    ["/proc/net/tcp", "/proc/net/tcp6"].map(|p| std::fs::read_to_string(p).unwrap_or_default())
}

/// The sockets listening on `port` in gaterun's network namespace, IPv4 and IPv6.
pub fn listeners(port: u16) -> Vec<Listener> {
    // Netlink asks the kernel for listening sockets alone; reading `/proc/net/tcp` walks every
    // socket of the machine (tens of milliseconds with a few thousand in TIME_WAIT).
    match diag::listeners(port) {
        Ok(found) => found,
        Err(_) => tcp_tables()
            .iter()
            .flat_map(|t| listeners_in(t, port))
            .collect(),
    }
}

/// `NETLINK_SOCK_DIAG`: a dump of the TCP sockets in state LISTEN, IPv4 then IPv6.
mod diag {
    use crate::ports::listeners::Listener;
    use rustix::net::{AddressFamily, RecvFlags, SendFlags, SocketType, netlink, recv, send};

    const SOCK_DIAG_BY_FAMILY: u16 = 20;
    const NLM_F_REQUEST: u16 = 0x1;
    const NLM_F_DUMP: u16 = 0x300;
    const NLMSG_ERROR: u16 = 2;
    const NLMSG_DONE: u16 = 3;
    const TCP_LISTEN: u32 = 10;
    const IPPROTO_TCP: u8 = 6;
    /// `struct nlmsghdr`.
    const HEADER: usize = 16;
    /// `struct inet_diag_msg`: family, state, timer, retrans, the 48-byte socket id, then
    /// expires, rqueue, wqueue, uid, inode.
    const MSG: usize = 72;

    pub fn listeners(port: u16) -> std::io::Result<Vec<Listener>> {
        let mut found = Vec::new();
        for family in [AddressFamily::INET, AddressFamily::INET6] {
            dump(family, port, &mut found)?;
        }
        Ok(found)
    }

    fn dump(family: AddressFamily, port: u16, found: &mut Vec<Listener>) -> std::io::Result<()> {
        let fd = rustix::net::socket_with(
            AddressFamily::NETLINK,
            SocketType::DGRAM,
            rustix::net::SocketFlags::CLOEXEC,
            Some(netlink::SOCK_DIAG),
        )?;
        // nlmsghdr, then inet_diag_req_v2: family, protocol, ext, pad, states, a zero id.
        let mut req = Vec::with_capacity(HEADER + 56);
        req.extend_from_slice(&((HEADER + 56) as u32).to_ne_bytes());
        req.extend_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
        req.extend_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
        req.extend_from_slice(&1u32.to_ne_bytes());
        req.extend_from_slice(&0u32.to_ne_bytes());
        req.extend_from_slice(&[family.as_raw() as u8, IPPROTO_TCP, 0, 0]);
        req.extend_from_slice(&(1u32 << TCP_LISTEN).to_ne_bytes());
        req.extend_from_slice(&[0u8; 48]);
        send(&fd, &req, SendFlags::empty())?;
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            let (n, _) = recv(&fd, &mut buf[..], RecvFlags::empty())?;
            if n == 0 {
                return Ok(());
            }
            let mut at = 0;
            while at + HEADER <= n {
                let u32_at = |i: usize| {
                    buf.get(i..i + 4)
                        .and_then(|b| b.try_into().ok())
                        .map(u32::from_ne_bytes)
                        .unwrap_or(0)
                };
                let len = u32_at(at) as usize;
                let kind = u16::from_ne_bytes([buf[at + 4], buf[at + 5]]);
                if len < HEADER || at + len > n {
                    return Err(std::io::Error::other("malformed netlink message"));
                }
                match kind {
                    NLMSG_DONE => return Ok(()),
                    NLMSG_ERROR => return Err(std::io::Error::other("sock_diag refused")),
                    _ if len >= HEADER + MSG => {
                        let msg = at + HEADER;
                        // The id starts with the source port, big-endian.
                        let sport = u16::from_be_bytes([buf[msg + 4], buf[msg + 5]]);
                        let inode = u32_at(msg + 68);
                        if sport == port && inode != 0 {
                            found.push(Listener {
                                inode: u64::from(inode),
                                uid: u32_at(msg + 64),
                            });
                        }
                    }
                    _ => {}
                }
                // Messages are 4-byte aligned.
                at += (len + 3) & !3;
            }
        }
    }
}

/// The LISTEN entries for `port` in the text of `/proc/net/tcp`.
fn listeners_in(table: &str, port: u16) -> Vec<Listener> {
    rows(table)
        .filter(|r| r.port == port && r.state == "0A" && r.inode != 0)
        .map(|r| Listener {
            inode: r.inode,
            uid: r.uid,
        })
        .collect()
}

/// The socket inodes among the open files of `pid` (empty when they cannot be read).
pub fn socket_inodes(pid: i32) -> HashSet<u64> {
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return HashSet::new();
    };
    dir.flatten()
        .filter_map(|e| std::fs::read_link(e.path()).ok())
        .filter_map(|target| {
            target
                .to_str()?
                .strip_prefix("socket:[")?
                .strip_suffix(']')?
                .parse()
                .ok()
        })
        .collect()
}

/// Which process holds socket `inode`, for a message: its pid and command line. Looks at
/// every process gaterun may read, so it is for the rare case of a foreign listener.
pub fn holder_of(inode: u64) -> Option<(i32, String)> {
    for pid in crate::process::all_pids() {
        if socket_inodes(pid).contains(&inode) {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let text = String::from_utf8_lossy(&cmdline)
                .split('\0')
                .filter(|a| !a.is_empty())
                .collect::<Vec<_>>()
                .join(" ");
            return Some((pid, text));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr, TcpListener};

    use super::*;

    #[test]
    fn listeners_are_read_from_proc_net_tcp() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:07E8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 574 1 0 100 0 0 10 0
   1: 0100007F:F230 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 15962 1 0 100 0 0 10 0
   2: 0100007F:F230 0100007F:9C40 01 00000000:00000000 00:00000000 00000000  1000        0 15970 1 0 100 0 0 10 0
   3: 0100007F:F231 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 15999 1 0 100 0 0 10 0
";
        // 0xF230 = 62000: the listener, not the connection (state 01) on the same port, not
        // the listener on 62001.
        assert_eq!(
            listeners_in(table, 62_000),
            [Listener {
                inode: 15962,
                uid: 1000
            }]
        );
        assert_eq!(listeners_in(table, 2024), [Listener { inode: 574, uid: 0 }]);
        assert_eq!(listeners_in(table, 62_002), []);
    }

    #[test]
    fn a_real_listener_is_found_with_its_holder() {
        let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
        let port = l.local_addr().expect("addr").port();
        let found = listeners(port);
        assert_eq!(found.len(), 1, "{found:?}");
        // Netlink and /proc/net/tcp tell the same, for IPv4 and IPv6.
        let v6 = TcpListener::bind((Ipv6Addr::LOCALHOST, port)).ok();
        let from_proc: Vec<Listener> = tcp_tables()
            .iter()
            .flat_map(|t| listeners_in(t, port))
            .collect();
        assert_eq!(diag::listeners(port).expect("sock_diag"), from_proc);
        assert_eq!(from_proc.len(), 1 + usize::from(v6.is_some()));
        drop(v6);
        let me = std::process::id() as i32;
        assert!(socket_inodes(me).contains(&found[0].inode));
        assert_eq!(holder_of(found[0].inode).map(|(pid, _)| pid), Some(me));
        drop(l);
        assert_eq!(listeners(port), []);
    }
}
