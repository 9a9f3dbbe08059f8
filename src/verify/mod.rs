//! `gaterun verify [DIR]`: do the evidence files agree with each other, with the manifest and
//! with the current stage files? Each disagreement is one line naming the file and the reason.
//!
//! The prerequisite check and `signoff` hold each stage they count to the same per-stage rules
//! (`stage_problems`): a results.json flipped to `passed` by hand, or changed after gaterun
//! wrote it, no longer counts as a pass.
//!
//! Every evidence file is read only as a regular file inside the directory (no symbolic link
//! followed, no FIFO waited on), with a size cap: the evidence under review is untrusted.

pub mod attestation;
pub mod dir;
pub mod invocation;
pub mod junit;
pub mod ledger;
pub mod phases;
pub mod problem;
pub mod report;
pub mod signoff;
pub mod standing;

pub use dir::all;
pub use ledger::{Ledger, stage_problems};
pub use signoff::SIGNOFF_STAGE;
pub use standing::not_passed;
