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
//!
//! `lease` hands out ports; `listeners` says who holds one.

mod lease;
mod listeners;

pub use lease::PortLease;
pub use listeners::{holder_of, listeners, socket_inodes};
