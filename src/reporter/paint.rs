//! Colour in gaterun's own words, never in what a gate printed: a gate's output and messages
//! reach the terminal through `text::sanitize` (escapes stripped) before they are painted, so a
//! gate can neither colour the terminal nor move its cursor. Whether to colour is anstream's
//! reading of the environment (NO_COLOR, CLICOLOR_FORCE, CLICOLOR, TERM, a terminal), as clap
//! and cargo read it, unless `--color always|never` says.

use anstyle::{AnsiColor, Style};

use crate::cli::Color;

/// Whether stderr gets colour, for `--color` and the environment.
pub fn stderr_colour(when: Color) -> bool {
    match when {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => {
            anstream::AutoStream::choice(&std::io::stderr()) != anstream::ColorChoice::Never
        }
    }
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
        assert!(!stderr_colour(Color::Never));
        assert!(stderr_colour(Color::Always));
    }
}
