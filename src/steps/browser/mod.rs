//! The `browser` step (issue 19): a page in a real headless Chromium, driven over the
//! DevTools protocol.
//!
//! `launch` finds and starts the run's one browser (contained like a gate's process) and stops
//! it at the end of the run; `cdp` speaks the protocol over its pipe; `session` is a gate's
//! incognito context and page, whose events it logs; `step` is one attempt (navigate, act,
//! then `judge` the expectations and captures), with `script` (gaterun's JavaScript in the
//! page, `page.js`) and `keys` (`press`); `shot` keeps a screenshot after the step.

mod cdp;
mod judge;
mod keys;
mod launch;
mod script;
/// A leaf the gate context owns (as it owns `steps::cookies`).
pub mod session;
mod shot;
mod step;

pub use launch::Browser;
pub use shot::after;
pub use step::{Waits, attempt, later, open};
