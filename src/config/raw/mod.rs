//! Raw serde types: the stage file exactly as written, with source locations kept.
//!
//! Nothing here is trusted: `validate` turns these into the plan the runner uses. Every struct
//! denies unknown fields so a typo is an error with a location, never a silently ignored key.
//! Fields that accept several shapes (a shell string or an argv list, one pattern or a list) use
//! small hand-written visitors instead of `#[serde(untagged)]`, which would lose both the
//! location and the error message.

mod browser;
mod capture;
mod command;
mod count;
mod database;
mod eventually;
mod exact;
mod http_expect;
mod mock;
mod part;
mod pattern;
mod project;
mod service;
mod sign;
mod step;
mod template;
mod values;

pub use browser::{RawAction, RawCount};
pub use command::RawCommand;
pub use database::{RawDatabase, RawInit};
pub use eventually::RawEventually;
pub use exact::ExactValue;
pub use http_expect::{NodePattern, RawBytes, RawDuration};
pub use mock::{RawMock, RawResponse, RawRoute};
pub use part::RawPart;
pub use pattern::RawPattern;
pub use project::{RawDefaults, RawProject, RawStage};
pub use service::{RawReady, RawService};
pub use sign::RawSign;
pub use step::{RawExpect, RawGate, RawStep};
pub use template::{RawTemplate, RawTemplates};
pub use values::{OneOrMany, OrderedMap, Scalar, Sp};
