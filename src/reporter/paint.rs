//! Colour in gaterun's own words, never in what a gate printed: a gate's output and messages
//! reach the terminal through `text::sanitize` (escapes stripped) before they are painted, so a
//! gate can neither colour the terminal nor move its cursor. Whether to colour is anstream's
//! reading of the environment (NO_COLOR, CLICOLOR_FORCE, CLICOLOR, TERM, a terminal), as clap
//! and cargo read it, unless `--color always|never` says (set once, as anstream's global
//! choice, for every command: a run's report and `check`'s diagnostics alike). One departure:
//! anstream takes any `CLICOLOR_FORCE` as forcing, the convention (and docs/gates.md) says
//! `CLICOLOR_FORCE=0` does not, so with it set to `0` the rest of the rules decide alone.

use anstyle::{AnsiColor, Style};

use crate::cli::Color;

/// `--color`, for the rest of the process: `auto` leaves the choice to the environment.
pub fn set_choice(when: Color) {
    let choice = match when {
        Color::Auto => anstream::ColorChoice::Auto,
        Color::Always => anstream::ColorChoice::Always,
        Color::Never => anstream::ColorChoice::Never,
    };
    choice.write_global();
}

/// anstream's `auto` choice without `CLICOLOR_FORCE`: NO_COLOR turns colour off, so does
/// `CLICOLOR=0`; otherwise a terminal is coloured when TERM can show colour (not `dumb`), CLICOLOR
/// asks, or CI is set.
fn auto_unforced(var: impl Fn(&str) -> Option<std::ffi::OsString>, terminal: bool) -> bool {
    let set = |k: &str| var(k).is_some_and(|v| !v.is_empty());
    let clicolor = var("CLICOLOR").map(|v| v != "0");
    if set("NO_COLOR") || clicolor == Some(false) {
        return false;
    }
    let term = var("TERM").is_some_and(|t| t != "dumb");
    terminal && (term || clicolor == Some(true) || var("CI").is_some())
}

/// The styles of the report, or none of them.
#[derive(Debug, Clone, Copy, Default)]
pub struct Paint {
    pub on: bool,
}

const GREEN: Style = AnsiColor::Green.on_default();
const RED: Style = AnsiColor::Red.on_default().bold();
const YELLOW: Style = AnsiColor::Yellow.on_default();
const DIM: Style = Style::new().dimmed();
const BOLD: Style = Style::new().bold();

impl Paint {
    /// Colour for stderr, as `--color` and the environment say.
    pub fn stderr() -> Self {
        let stderr = std::io::stderr();
        let forced_off = std::env::var_os("CLICOLOR_FORCE").is_some_and(|v| v == "0");
        let on = if forced_off && anstream::ColorChoice::global() == anstream::ColorChoice::Auto {
            use std::io::IsTerminal;
            auto_unforced(|k| std::env::var_os(k), stderr.is_terminal())
        } else {
            anstream::AutoStream::choice(&stderr) != anstream::ColorChoice::Never
        };
        Paint { on }
    }

    /// Diagnostics as `check` prints them (`file:12:3: error: …`): the kind painted at the
    /// start of each diagnostic's first line (a source line quoted under it starts with a
    /// space, and is left alone).
    pub fn diagnostics(&self, text: &str) -> String {
        if !self.on {
            return text.to_owned();
        }
        static KIND: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
            regex::Regex::new(r"(?m)^(\S[^\n]*?: )(error|warning): ").expect("static regex")
        });
        KIND.replace_all(text, |c: &regex::Captures| {
            let kind = &c[2];
            let painted = if kind == "error" {
                self.fail(kind)
            } else {
                self.warn(kind)
            };
            format!("{}{painted}: ", &c[1])
        })
        .into_owned()
    }

    fn paint(&self, style: Style, text: &str) -> String {
        if self.on && !text.is_empty() {
            format!("{style}{text}{style:#}")
        } else {
            text.to_owned()
        }
    }

    pub fn pass(&self, text: &str) -> String {
        self.paint(GREEN, text)
    }

    pub fn fail(&self, text: &str) -> String {
        self.paint(RED, text)
    }

    pub fn warn(&self, text: &str) -> String {
        self.paint(YELLOW, text)
    }

    pub fn dim(&self, text: &str) -> String {
        self.paint(DIM, text)
    }

    pub fn bold(&self, text: &str) -> String {
        self.paint(BOLD, text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_is_plain_and_on_is_reset() {
        assert_eq!(Paint { on: false }.fail("✗"), "✗");
        assert_eq!(Paint { on: true }.fail("✗"), "\x1b[1m\x1b[31m✗\x1b[0m");
        assert_eq!(Paint { on: true }.pass(""), "");
    }

    #[test]
    fn unforced_auto_reads_the_rest_of_the_environment() {
        let env = |pairs: &'static [(&str, &str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| std::ffi::OsString::from(v))
            }
        };
        assert!(!auto_unforced(env(&[("TERM", "xterm")]), false));
        assert!(auto_unforced(env(&[("TERM", "xterm")]), true));
        assert!(!auto_unforced(env(&[("TERM", "dumb")]), true));
        assert!(!auto_unforced(
            env(&[("TERM", "xterm"), ("NO_COLOR", "1")]),
            true
        ));
        assert!(!auto_unforced(
            env(&[("TERM", "xterm"), ("CLICOLOR", "0")]),
            true
        ));
        assert!(auto_unforced(env(&[("CLICOLOR", "1")]), true));
    }

    #[test]
    fn diagnostics_paint_their_kind_not_their_source() {
        let text = "a.yaml:3:1: error: bad\n 3 | x: error: y\nb.yaml: warning: w";
        assert_eq!(Paint { on: false }.diagnostics(text), text);
        assert_eq!(
            Paint { on: true }.diagnostics(text),
            "a.yaml:3:1: \x1b[1m\x1b[31merror\x1b[0m: bad\n 3 | x: error: y\nb.yaml: \x1b[33mwarning\x1b[0m: w"
        );
    }
}
