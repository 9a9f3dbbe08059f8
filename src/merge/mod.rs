//! Shards: `--shard K/N` picks gates by a stable hash, and `gaterun merge DIR…` combines the
//! shards' evidence into one `junit.xml`, `summary.md` and per-stage results, so a CI matrix is
//! the way past one machine.

pub mod combine;
pub mod command;
pub mod error;
pub mod shard;
pub mod shards;

pub use command::merge;
pub use shard::in_shard;
