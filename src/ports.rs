//! Ports: which port a service may have, and who holds a port.
//!
//! A port handed to a service must not be handed to anything else on the machine while the
//! gate runs: not to another gate of this run, not to a gate of another gaterun run, and not
//! to a program that binds one itself. Three things make that hold:
//!
//! - **A machine-wide lease.** Port P is leased by binding the abstract Unix socket
//!   `@gaterun/port/P`. The kernel lets one socket hold a name, so two leases of P cannot exist
//!   at once in any process; it drops the name when its holder dies (even by SIGKILL), so a
//!   killed run never leaves a stale lease. Abstract names live in the network namespace, which
//!   is exactly the scope of TCP ports: two runs that share ports share leases, whatever their
//!   user, mount namespace or `/tmp`; and there is no file, directory or permission to get
//!   wrong (no symlink race in a shared `/tmp`, nothing a root run leaves that a user cannot
//!   take). This is the `flock`-on-a-file idea with the kernel's socket table as the directory.
//! - **A bind test.** A port someone already listens on (any address, IPv4 or IPv6) is skipped.
//! - **Ports outside the ephemeral range.** The kernel picks ports for `bind(0)` and outgoing
//!   connections from `ip_local_port_range`; leases come from outside it (and outside
//!   `ip_local_reserved_ports`), so no other program's port-0 bind or connection takes a port
//!   between its lease and the service's own bind.
//!
//! What is left — a program that binds a leased port by number after the bind test — is caught
//! by readiness: a probe counts only when the port's listener belongs to the service's own
//! processes ([`listeners`], [`socket_inodes`]).

use std::collections::HashSet;
use std::hash::{BuildHasher, RandomState};
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, TcpListener};
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::sync::OnceLock;

/// A TCP port leased to its holder, machine-wide, until dropped. `.0` is the port.
#[derive(Debug)]
pub struct PortLease(pub u16, #[allow(dead_code)] UnixDatagram);

/// The lowest port leased when the ports above the ephemeral range are too few: below it live
/// most well-known and development ports (5432, 6379, 8080, ...).
const LOW: u16 = 10_000;
/// Above this many free ports above the ephemeral range, leases come from there alone.
const ENOUGH: usize = 4_000;
/// Ports tried before giving up.
const TRIES: usize = 2_000;

impl PortLease {
    /// A free port, leased.
    pub fn allocate() -> io::Result<PortLease> {
        let pool = pool();
        if pool.is_empty() {
            // Every port is ephemeral or reserved: take one from the kernel, still leased.
            for _ in 0..64 {
                let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
                    .local_addr()?
                    .port();
                if let Some(lease) = PortLease::take(port)? {
                    return Ok(lease);
                }
            }
        } else {
            let start = RandomState::new().hash_one(std::process::id()) as usize;
            for k in 0..TRIES.min(pool.len()) {
                let port = pool[(start.wrapping_add(k)) % pool.len()];
                if let Some(lease) = PortLease::take(port)? {
                    return Ok(lease);
                }
            }
        }
        Err(io::Error::new(
            io::ErrorKind::AddrInUse,
            "no free port found: every port tried is leased or in use",
        ))
    }

    /// Lease `port` if nobody holds its lease and nothing listens on it.
    fn take(port: u16) -> io::Result<Option<PortLease>> {
        let name = SocketAddr::from_abstract_name(format!("gaterun/port/{port}"))?;
        let socket = match UnixDatagram::bind_addr(&name) {
            Ok(s) => s,
            Err(e) if e.kind() == io::ErrorKind::AddrInUse => return Ok(None),
            Err(e) => return Err(e),
        };
        if !bindable(port) {
            return Ok(None);
        }
        Ok(Some(PortLease(port, socket)))
    }
}

/// Whether a TCP socket could bind `port` on every address, IPv4 and IPv6, without
/// SO_REUSEADDR: nothing listens on it, and no connection of an earlier holder lingers in
/// TIME_WAIT (which a service binding without SO_REUSEADDR would fail on).
fn bindable(port: u16) -> bool {
    use rustix::net::{AddressFamily, SocketFlags, SocketType, bind, socket_with};
    // Close-on-exec: a gate process forked meanwhile by another task must not inherit the
    // test socket, which would keep the port bound for the child's whole life.
    let socket = |family| socket_with(family, SocketType::STREAM, SocketFlags::CLOEXEC, None);
    let v4 = std::net::SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port);
    let v6 = std::net::SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, port, 0, 0);
    // One at a time, each closed before the next: a dual-stack `[::]` conflicts with `0.0.0.0`.
    let free_v4 = socket(AddressFamily::INET).is_ok_and(|s| bind(&s, &v4).is_ok());
    if !free_v4 {
        return false;
    }
    // Without IPv6 the v4 test is the whole answer; only "in use" means taken.
    match socket(AddressFamily::INET6) {
        Ok(s) => bind(&s, &v6) != Err(rustix::io::Errno::ADDRINUSE),
        Err(_) => true,
    }
}

/// The ports leases come from, read once per run.
fn pool() -> &'static [u16] {
    static POOL: OnceLock<Vec<u16>> = OnceLock::new();
    POOL.get_or_init(|| {
        let read = |p| std::fs::read_to_string(p).unwrap_or_default();
        pool_of(
            &read("/proc/sys/net/ipv4/ip_local_port_range"),
            &read("/proc/sys/net/ipv4/ip_local_reserved_ports"),
        )
    })
}

/// Ports above the ephemeral range, or when those are too few, also those from [`LOW`] up to
/// the range; never a reserved port. `range` is `ip_local_port_range` ("32768\t60999"), the
/// kernel's default when unreadable; `reserved` is `ip_local_reserved_ports` ("8080,9000-9010").
fn pool_of(range: &str, reserved: &str) -> Vec<u16> {
    let mut bounds = range.split_whitespace().map(str::parse::<u16>);
    let (lo, hi) = match (bounds.next(), bounds.next()) {
        (Some(Ok(lo)), Some(Ok(hi))) if lo <= hi => (lo, hi),
        _ => (32_768, 60_999),
    };
    let mut skip = HashSet::new();
    for part in reserved.trim().split(',').filter(|p| !p.is_empty()) {
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        if let (Ok(a), Ok(b)) = (a.trim().parse::<u16>(), b.trim().parse::<u16>()) {
            skip.extend(a..=b);
        }
    }
    let above: Vec<u16> = (hi.saturating_add(1)..=u16::MAX)
        .filter(|p| *p > hi && !skip.contains(p))
        .collect();
    if above.len() >= ENOUGH {
        return above;
    }
    let below = (LOW..lo).filter(|p| !skip.contains(p));
    below.chain(above).collect()
}

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
    use super::Listener;
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
    use super::*;

    #[test]
    fn the_pool_leaves_out_the_ephemeral_and_reserved_ports() {
        /// ip_local_port_range, ip_local_reserved_ports, first, last, length, must not hold.
        type Case<'a> = (&'a str, &'a str, u16, u16, usize, &'a [u16]);
        let cases: &[Case] = &[
            // The kernel's default: 4535 ports above the range are enough.
            (
                "32768\t60999",
                "",
                61_000,
                65_535,
                4_536,
                &[60_999, 32_768, 50_000],
            ),
            (
                "32768 60999",
                "61000-61009,65535",
                61_010,
                65_534,
                4_525,
                &[61_000, 65_535],
            ),
            // A wide range: ports from LOW up to it, then the few above.
            (
                "20000 65000",
                "",
                LOW,
                65_535,
                10_000 + 535,
                &[20_000, 65_000, 9_999],
            ),
            // Everything ephemeral: nothing outside, the caller falls back to port 0.
            ("1024 65535", "", 0, 0, 0, &[]),
            // Unreadable: the kernel's default.
            ("", "", 61_000, 65_535, 4_536, &[]),
        ];
        for (range, reserved, first, last, len, not) in cases {
            let pool = pool_of(range, reserved);
            assert_eq!(pool.len(), *len, "{range:?} {reserved:?}");
            if *len > 0 {
                assert_eq!(pool.first(), Some(first), "{range:?}");
                assert_eq!(pool.last(), Some(last), "{range:?}");
            }
            for p in *not {
                assert!(!pool.contains(p), "{range:?} {reserved:?} holds {p}");
            }
        }
    }

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

    #[test]
    fn leases_held_at_once_are_all_different() {
        let leases: Vec<PortLease> = (0..300)
            .map(|_| PortLease::allocate().expect("a lease"))
            .collect();
        let ports: HashSet<u16> = leases.iter().map(|l| l.0).collect();
        assert_eq!(ports.len(), leases.len());
        assert!(ports.iter().all(|p| pool().contains(p)));
        // A held lease cannot be taken again; a dropped one can.
        let port = leases[0].0;
        assert!(PortLease::take(port).expect("take").is_none());
        drop(leases);
        assert!(PortLease::take(port).expect("take").is_some());
    }

    // These tests bind leased ports themselves: each holds the lease while it binds, so a
    // gaterun running meanwhile on the machine never gets a port they are using.

    #[test]
    fn a_port_in_time_wait_is_not_leased() {
        let lease = PortLease::allocate().expect("a lease");
        let port = lease.0;
        assert!(bindable(port));
        // A connection its server closes first leaves the server's port in TIME_WAIT.
        let server = TcpListener::bind((Ipv4Addr::LOCALHOST, port)).expect("bind");
        let client = std::net::TcpStream::connect((Ipv4Addr::LOCALHOST, port)).expect("connect");
        let (accepted, _) = server.accept().expect("accept");
        drop(accepted);
        drop(server);
        let _ = io::Read::read(&mut &client, &mut [0u8; 1]);
        drop(client);
        assert!(listeners(port).is_empty());
        assert!(!bindable(port));
        drop(lease);
        assert!(PortLease::take(port).expect("take").is_none());
    }

    #[test]
    fn a_port_something_listens_on_is_not_leased() {
        let lease = PortLease::allocate().expect("a lease");
        let port = lease.0;
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port)).expect("bind");
        assert!(!bindable(port));
        drop(lease);
        assert!(PortLease::take(port).expect("take").is_none());
        drop(listener);
        assert!(PortLease::take(port).expect("take").is_some());
    }

    /// Run by `a_port_leased_by_another_process_is_never_handed_out` in a child process: lease a
    /// port, say which, hold it until stdin closes.
    #[test]
    fn hold_a_lease_for_the_parent_test() {
        if std::env::var_os("GATERUN_TEST_HOLD_LEASE").is_none() {
            return;
        }
        use std::io::Write;
        let lease = PortLease::allocate().expect("a lease");
        // Straight to fd 1: `println!` would be held by the test harness's capture.
        let mut out = io::stdout();
        writeln!(out, "leased {}", lease.0).expect("write");
        out.flush().expect("flush");
        let _ = io::Read::read_to_end(&mut io::stdin(), &mut Vec::new());
    }

    #[test]
    fn a_port_leased_by_another_process_is_never_handed_out() {
        use std::io::BufRead;
        let mut child = std::process::Command::new(std::env::current_exe().expect("test exe"))
            .args([
                "--exact",
                "ports::tests::hold_a_lease_for_the_parent_test",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("GATERUN_TEST_HOLD_LEASE", "1")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("spawn the holder");
        let out = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let port = io::BufReader::new(out)
                .lines()
                .map_while(Result::ok)
                .find_map(|l| l.split("leased ").nth(1)?.trim().parse::<u16>().ok());
            let _ = tx.send(port);
        });
        let port = rx.recv_timeout(std::time::Duration::from_secs(60));
        let Ok(Some(port)) = port else {
            let _ = child.kill();
            panic!("the holder did not say its port: {port:?}");
        };
        // Held by the other process: never taken, never handed out, however often we ask.
        assert!(PortLease::take(port).expect("take").is_none());
        let mine: Vec<PortLease> = (0..500)
            .map(|_| PortLease::allocate().expect("a lease"))
            .collect();
        assert!(mine.iter().all(|l| l.0 != port));
        drop(mine);
        // SIGKILL: the kernel releases the lease with the process, no stale lock.
        child.kill().expect("kill");
        child.wait().expect("wait");
        assert!(PortLease::take(port).expect("take").is_some());
    }
}
