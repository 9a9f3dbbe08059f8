//! A service's `port:` (a fixed port instead of a free one) and `start:` (`auto`, or `manual`:
//! only a `start` step starts it), and the rule that two services of one list may not ask for
//! the same fixed port.

use super::ctx::FileCtx;
use crate::config::raw::RawService;

/// The fixed port, if any, and whether the service is started by a step only.
pub fn port_and_start(
    ctx: &mut FileCtx,
    svc: &RawService,
    name: &str,
    taken: &mut Vec<(u16, String)>,
) -> (Option<u16>, bool) {
    let port = svc.port.as_ref().and_then(|p| match u16::try_from(p.value) {
        Ok(n) if n > 0 => {
            if let Some((_, other)) = taken.iter().find(|(q, _)| *q == n) {
                ctx.error(
                    p.referenced,
                    format!("service `{name}` asks for port {n}, which service `{other}` asks for too"),
                );
            }
            taken.push((n, name.to_owned()));
            Some(n)
        }
        _ => {
            ctx.error(
                p.referenced,
                format!("invalid port {} for service `{name}`: use 1 to 65535, or leave `port` out for a free one", p.value),
            );
            None
        }
    });
    let manual = match &svc.start {
        None => false,
        Some(s) => match s.value.trim() {
            "auto" => false,
            "manual" => true,
            other => {
                ctx.error(
                    s.referenced,
                    format!("unknown `start: {other}` for service `{name}`: use `auto` (with the gate's services) or `manual` (by a `start` step)"),
                );
                false
            }
        },
    };
    (port, manual)
}
