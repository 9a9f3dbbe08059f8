//! Evidence: `results.json` (the prerequisite ledger), JUnit, markdown and logs per stage, and
//! the invocation's `junit.xml`, `summary.md` and `index.html` (the page of the whole evidence).
//!
//! A stage's directory is built aside and swapped in with one atomic rename (`RENAME_EXCHANGE`),
//! so a crash or kill leaves either the old complete evidence or the new complete evidence,
//! never half of either. Single files are written aside and renamed over.
//!
//! A partial run (`--gate`, `--tag`, `--shard`) goes to the stage directory's `partial/`
//! subdirectory, swapped in the same way, so the stage's last full `results.json` — the
//! prerequisite ledger — survives it. A full run replaces the whole stage directory, the
//! older partial run with it.

pub(crate) mod history;
pub(crate) mod html;
pub(crate) mod invocation;
pub mod junit;
pub(crate) mod ledger;
pub(crate) mod lock;
pub(crate) mod log;
pub(crate) mod manifest;
pub mod markdown;
pub(crate) mod paths;
pub(crate) mod phase_signoff;
pub(crate) mod read;
pub(crate) mod recorder;
pub(crate) mod snapshot;
pub(crate) mod stage;
pub(crate) mod stage_size;
pub(crate) mod sweep;
pub(crate) mod write;

pub use invocation::{INVOCATION_FILES, discard_invocation, write_invocation};
pub use ledger::{LedgerError, read_partial, read_stage};
pub use paths::{PARTIAL_DIR, phase_dir, stage_dir};
pub use read::{LOG_READ_CAP, RESULTS_CAP, ReadError, open_regular, read_confined, read_regular};
pub use snapshot::{SNAPSHOT_DIR, snapshot};
pub use stage::{StageWriter, discard_stage, write_stage};
pub use sweep::sweep_leftovers;
pub use write::{EvidenceError, write_file};
