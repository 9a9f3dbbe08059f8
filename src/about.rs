//! gaterun's own facts that its evidence holds and its readers rely on: its version (in every
//! results.json and manifest) and the per-gate log cap (the writer's, and the merge reader's
//! bound). A leaf: in lib.rs they would make every module that names them depend on the root.

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Per-gate log cap: head and tail kept, the cut marked.
pub const LOG_CAP: usize = 8 << 20;
