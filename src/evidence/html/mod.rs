//! `evidence/index.html`: one self-contained page of the whole evidence for a reviewer who
//! opens the CI artifact — the phases as rows of stages, each stage's gates, failures with
//! their log's tail, pass-rate and duration history, screenshots. `gather` reads the evidence
//! (untrusted), `escape` makes its text inert, `svg` draws the charts, `page` lays them out.

mod escape;
mod gather;
mod page;
mod svg;
mod write;

pub use write::{INDEX, write};
