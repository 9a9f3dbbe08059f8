//! Config errors and lint warnings located in a file: `FILE:LINE:COL: message`, then the source
//! line and a caret, the way compilers draw them.

use std::fmt;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Debug, Clone)]
pub struct Diagnostic {
    pub severity: Severity,
    pub file: PathBuf,
    /// 1-based; 0 when the location is unknown.
    pub line: u64,
    pub column: u64,
    /// How many characters the caret underlines (at least one).
    pub width: usize,
    pub message: String,
    /// Shown beside the caret.
    pub label: Option<String>,
    /// The source line, filled in by `with_source`.
    pub source_line: Option<String>,
    /// Other places that explain it, perhaps in other files (the template a `use` names).
    pub notes: Vec<Note>,
}

/// A second location of a diagnostic: `FILE:LINE:COL: note: message`, with its source line.
#[derive(Debug, Clone)]
pub struct Note {
    pub file: PathBuf,
    pub line: u64,
    pub column: u64,
    pub message: String,
    pub source_line: Option<String>,
}

impl Diagnostic {
    pub fn error(file: &Path, line: u64, column: u64, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            file: file.to_path_buf(),
            line,
            column,
            width: 1,
            message: message.into(),
            label: None,
            source_line: None,
            notes: Vec::new(),
        }
    }

    pub fn warning(file: &Path, line: u64, column: u64, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(file, line, column, message)
        }
    }

    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    pub fn with_width(mut self, width: usize) -> Self {
        self.width = width.max(1);
        self
    }

    /// Attach the source line the location points at.
    pub fn with_source(mut self, text: &str) -> Self {
        self.source_line = line_of(text, self.line);
        self
    }

    /// Add a second location, in `file` whose text is `text`.
    pub fn with_note(
        mut self,
        file: &Path,
        text: &str,
        (line, column): (u64, u64),
        message: impl Into<String>,
    ) -> Self {
        self.notes.push(Note {
            file: file.to_path_buf(),
            line,
            column,
            message: message.into(),
            source_line: line_of(text, line),
        });
        self
    }
}

fn line_of(text: &str, line: u64) -> Option<String> {
    let n = usize::try_from(line.checked_sub(1)?).ok()?;
    text.lines().nth(n).map(|l| l.trim_end().to_owned())
}

/// The source line with a caret under `column`, as `\n12 | line\n   |   ^^^`.
fn snippet(
    f: &mut fmt::Formatter<'_>,
    line: u64,
    column: u64,
    width: usize,
    src: &str,
) -> fmt::Result {
    let gutter = line.to_string();
    let pad = " ".repeat(gutter.len());
    // Tabs would shift the caret; draw the line with them expanded to one space each. A stage
    // file is the project's text, not gaterun's: an escape sequence, a bidi override or any
    // other control in it is drawn as one U+FFFD, never acted on by the terminal, and the caret
    // stays in its column.
    let shown: String = src
        .chars()
        .map(|c| match c {
            '\t' => ' ',
            c if crate::text::shown(c.encode_utf8(&mut [0; 4])).len() != c.len_utf8() => '\u{FFFD}',
            c => c,
        })
        .collect();
    let col = (column.max(1) - 1) as usize;
    write!(
        f,
        "\n{gutter} | {shown}\n{pad} | {}{}",
        " ".repeat(col),
        "^".repeat(width)
    )
}

/// A stage file's path as a diagnostic names it: a newline or an escape in a file's name is
/// written as `\u{…}` (a name can start a line of its own, `::error::…`, or paint the screen).
fn shown_path(path: &Path) -> String {
    crate::text::shown(&path.display().to_string())
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        if self.line > 0 {
            write!(
                f,
                "{}:{}:{}: {kind}: {}",
                shown_path(&self.file),
                self.line,
                self.column,
                crate::text::message(&self.message)
            )?;
        } else {
            write!(
                f,
                "{}: {kind}: {}",
                shown_path(&self.file),
                crate::text::message(&self.message)
            )?;
        }
        if let Some(src) = &self.source_line {
            snippet(f, self.line, self.column, self.width, src)?;
            if let Some(label) = &self.label {
                write!(f, " {label}")?;
            }
        } else if let Some(label) = &self.label {
            write!(f, "\n  = {label}")?;
        }
        for note in &self.notes {
            write!(
                f,
                "\n{}:{}:{}: note: {}",
                shown_path(&note.file),
                note.line,
                note.column,
                crate::text::message(&note.message)
            )?;
            if let Some(src) = &note.source_line {
                snippet(f, note.line, note.column, 1, src)?;
            }
        }
        Ok(())
    }
}

pub use crate::near::suggest;

/// Where the value of `key` (`workdir:`) is, from a step's line: the model keeps the step's
/// line; its key is on one of the next lines.
pub fn value_at(text: &str, from: u64, key: &str) -> (u64, u64) {
    text.lines()
        .enumerate()
        .skip(usize::try_from(from).unwrap_or(0).saturating_sub(1))
        .take(64)
        .find_map(|(i, l)| {
            let at = l.find(key)?;
            let value = l[at + key.len()..].find(|c: char| !c.is_whitespace())?;
            Some((i as u64 + 1, (at + key.len() + value) as u64 + 1))
        })
        .unwrap_or((from, 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_near_keys_only() {
        let known = ["timeout", "title", "tags", "grace", "env"];
        assert_eq!(suggest("timout", &known), Some("timeout"));
        assert_eq!(suggest("titel", &known), Some("title"));
        assert_eq!(suggest("banana", &known), None);
    }

    #[test]
    fn renders_a_note_in_another_file_with_its_own_line() {
        let d = Diagnostic::error(Path::new("gates/a.yaml"), 2, 12, "missing param `USER`")
            .with_source("steps:\n  - use: login\n")
            .with_note(
                Path::new("gaterun.yaml"),
                "templates:\n  login:\n    params: [USER]\n",
                (3, 14),
                "declared here",
            );
        assert_eq!(
            d.to_string(),
            "gates/a.yaml:2:12: error: missing param `USER`\n2 |   - use: login\n  |            ^\n\
             gaterun.yaml:3:14: note: declared here\n3 |     params: [USER]\n  |              ^"
        );
    }

    #[test]
    fn renders_location_source_and_caret() {
        let d = Diagnostic::error(Path::new("g.yaml"), 2, 5, "unknown key 'timout'")
            .with_width(6)
            .with_label("did you mean `timeout`?")
            .with_source("gates:\n    timout: 5s\n");
        assert_eq!(
            d.to_string(),
            "g.yaml:2:5: error: unknown key 'timout'\n2 |     timout: 5s\n  |     ^^^^^^ did you mean `timeout`?"
        );
    }

    #[test]
    fn the_project_text_it_quotes_cannot_act_on_the_terminal() {
        let d = Diagnostic::error(
            Path::new("g\n::error::x.yaml"),
            1,
            9,
            "unknown key 'a\u{1b}[2J'",
        )
        .with_source("title: \u{1b}]0;PWNED\u{7}x: 1\n");
        let text = d.to_string();
        assert!(
            !text.contains('\u{1b}') && !text.contains('\u{7}'),
            "{text:?}"
        );
        assert!(!text.lines().any(|l| l.starts_with("::")), "{text}");
        // The caret stays under its column: one U+FFFD for each control.
        assert!(
            text.contains("1 | title: \u{FFFD}]0;PWNED\u{FFFD}x: 1\n  |         ^"),
            "{text}"
        );
    }
}
