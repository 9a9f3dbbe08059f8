//! Step kinds. Each file runs one kind of step once (one attempt); [`dispatch`] picks the file
//! by the step's kind, and the gate executor handles `eventually`, deadlines and teardown
//! around them. `outcome`, `probe` and `log` are leaves the services share; `cookies` is the
//! gate's cookie jar, a leaf the gate context owns.

pub mod browser;
pub mod cookies;
pub mod dispatch;
pub mod file;
pub mod headers;
pub mod http;
pub mod log;
pub mod outcome;
pub mod probe;
pub mod received;
pub mod run;
pub mod service;
pub mod sql;
pub mod tcp;

pub use dispatch::attempt;
pub use outcome::cancelled;
pub use probe::Http;
