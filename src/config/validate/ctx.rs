//! Where one file's diagnostics go (with the templates its steps may use), and the checks
//! every part of a stage file shares: durations and `${VAR}` templates.

use std::path::Path;
use std::time::Duration;

use serde_saphyr::Location;

use super::template_set::Templates;
use crate::config::diagnostic::Diagnostic;
use crate::config::raw::{Scalar, Sp};
use crate::vars;

/// Where diagnostics for one file go.
pub struct FileCtx<'a> {
    pub file: &'a Path,
    pub text: &'a str,
    pub diagnostics: Vec<Diagnostic>,
    /// The templates a `use` in this file may name.
    pub templates: Templates,
    /// While a gate's steps are read: the names gaterun sets for that gate alone (its matrix
    /// keys, its services' variables, its secrets), which a capture may not replace.
    pub gate_fixed: Vec<(String, &'static str)>,
    /// Issue 20: while a gate's (or a stage setup's) steps are read, the mocks a `received`
    /// step may name; `None` (a template's steps) takes any name.
    pub mocks: Option<Vec<String>>,
}

impl<'a> FileCtx<'a> {
    pub fn new(file: &'a Path, text: &'a str) -> Self {
        FileCtx {
            file,
            text,
            diagnostics: Vec::new(),
            templates: Templates::default(),
            gate_fixed: Vec::new(),
            mocks: None,
        }
    }

    pub fn error(&mut self, at: Location, message: impl Into<String>) {
        let d =
            Diagnostic::error(self.file, at.line(), at.column(), message).with_source(self.text);
        self.diagnostics.push(d);
    }

    pub fn push(&mut self, d: Diagnostic) {
        self.diagnostics.push(d.with_source(self.text));
    }
}

/// The longest duration a gate file may give: beyond it a deadline is no deadline, and adding
/// it to the clock would overflow.
pub const MAX_DURATION: Duration = Duration::from_secs(7 * 24 * 3600);

pub fn duration(ctx: &mut FileCtx, raw: &Sp<Scalar>, what: &str) -> Option<Duration> {
    match humantime::parse_duration(raw.value.0.trim()) {
        Ok(d) if d > MAX_DURATION => {
            ctx.error(
                raw.referenced,
                format!(
                    "`{what}` of `{}` is too long: at most 7 days",
                    raw.value.0.trim()
                ),
            );
            None
        }
        Ok(d) if !d.is_zero() => Some(d),
        Ok(_) => {
            ctx.error(raw.referenced, format!("`{what}` must be longer than zero"));
            None
        }
        Err(_) => {
            ctx.error(
                raw.referenced,
                format!("invalid duration `{}` for `{what}`: write a number and a unit, like 30s, 2m or 1h30m", raw.value.0),
            );
            None
        }
    }
}

pub fn check_template(ctx: &mut FileCtx, at: Location, text: &str) -> Option<()> {
    match vars::check_syntax(text, "x") {
        Ok(_) => Some(()),
        Err(e) => {
            ctx.error(at, e.to_string());
            None
        }
    }
}

/// A byte of an HTTP token (RFC 9110 `tchar`): what a header name is made of.
pub fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}
