//! Port leases: an abstract Unix socket `@gaterun/port/P` per leased port, from a pool outside
//! the ephemeral and reserved ranges, skipping a port someone already listens on.

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

    /// Lease a fixed port a service asks for (`port: 8080`), at once or not at all: an error
    /// naming who holds it. A port in TIME_WAIT is not taken (servers bind with SO_REUSEADDR);
    /// one something listens on is.
    pub fn fixed(port: u16) -> io::Result<PortLease> {
        let name = SocketAddr::from_abstract_name(format!("gaterun/port/{port}"))?;
        let socket = match UnixDatagram::bind_addr(&name) {
            Ok(s) => s,
            Err(e) if e.kind() == io::ErrorKind::AddrInUse => {
                return Err(io::Error::new(
                    io::ErrorKind::AddrInUse,
                    format!("port {port} is taken: another gaterun run holds it for a service"),
                ));
            }
            Err(e) => return Err(e),
        };
        if let Some(l) = super::listeners::listeners(port).first() {
            let who = match super::listeners::holder_of(l.inode) {
                Some((pid, cmd)) => format!("pid {pid} ({})", crate::text::sanitize(&cmd)),
                None => format!("a process of uid {}", l.uid),
            };
            return Err(io::Error::new(
                io::ErrorKind::AddrInUse,
                format!("port {port} is taken: {who} listens on it"),
            ));
        }
        Ok(PortLease(port, socket))
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

/// The ports leases come from, read once per run: the kernel's ranges do not change under a
/// run, and every lease of every gate draws from them.
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

#[cfg(test)]
mod tests {
    use super::super::listeners::listeners;
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
                "ports::lease::tests::hold_a_lease_for_the_parent_test",
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
