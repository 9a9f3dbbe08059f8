//! The application layer: the only one that prints outcomes and picks exit codes. `dispatch`
//! holds the one match on the command; `run` is `stage`/`phase`; `inspect` the commands that
//! read (`check`, `list`, `report`, `verify`); `init` writes a skeleton; `merge` and `signoff`
//! tell what those commands did and pick their exit codes; `ci` is what a CI runner reads
//! besides the evidence; `lock`, `signals` and `project` are what commands share.

mod ci;
mod dispatch;
mod init;
mod inspect;
mod lock;
mod merge;
mod phases;
mod project;
mod run;
mod signals;
mod signoff;

pub use dispatch::main_with;
