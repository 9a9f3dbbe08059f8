//! Issue 20: mocks, the fake HTTP APIs a gate (or a stage) runs. Each is a hyper HTTP/1.1
//! server on a leased port of its own (`crate::ports`): one listener and one accept task per
//! mock, one task per connection, no thread, so a gate's mocks start in well under a
//! millisecond and all end with the task (`handle`). A request is read (`request`), matched
//! against the routes in order by the same judges an expectation uses (`target`, `judge`),
//! answered from the route's sequence with `{{request.…}}` filled in (`template`), recorded
//! (`journal`) for `received` steps, and written to the gate log (`server`). A request hyper
//! could not read is recorded too, as malformed (`malformed`), from what the connection read
//! (`tap`).

mod handle;
mod journal;
mod judge;
mod malformed;
mod preflight;
mod request;
mod server;
mod tap;
mod target;
pub mod template;

pub use handle::{Mock, Mocks};
pub use journal::Exchange;
pub use judge::judge;
pub use server::Shared;
pub use target::Resolved as ResolvedTarget;
