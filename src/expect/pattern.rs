//! Text patterns: a substring, a `/regex/`, either negated with `!`, or `{ equals: … }` for
//! the whole text; compiled once the gate's variables are known, and checked against output
//! that a cap may have cut.

use regex::Regex;

use super::cut::{Edge, captures};
use super::error::CheckError;
use super::regexes::{compile, first_line, interpolate_regex};
use super::value::json::render;
use crate::vars::{self, Vars};

#[derive(Debug, Clone)]
pub struct Pattern {
    /// As written, `!` included (for a whole-text pattern: the text it must equal).
    pub source: String,
    /// `{ equals: … }`: the whole text, not a substring or regex.
    pub whole: bool,
}

#[derive(Debug)]
pub struct Matcher {
    negate: bool,
    kind: MatchKind,
}

#[derive(Debug)]
enum MatchKind {
    Substring(String),
    Regex(Regex),
    Whole(String),
}

fn split(source: &str) -> (bool, Option<&str>, &str) {
    let (negate, body) = match source.strip_prefix('!') {
        Some(rest) => (true, rest),
        None => (false, source),
    };
    if body.len() >= 2 && body.starts_with('/') && body.ends_with('/') {
        (negate, Some(&body[1..body.len() - 1]), body)
    } else {
        (negate, None, body)
    }
}

impl Pattern {
    /// Validate a pattern as written: variable syntax and, for `/.../`, the regex.
    pub fn parse(source: &str) -> Result<Pattern, String> {
        let checked = vars::check_syntax(source, "x").map_err(|e| e.to_string())?;
        if matches!(source, "" | "!" | "//" | "!//") {
            return Err(format!(
                "the pattern `{source}` is empty: it matches any text (or none); write what the text must contain, or `{{ equals: \"\" }}` for an empty text"
            ));
        }
        if let (_, Some(re), _) = split(&checked) {
            compile(re)
                .map_err(|e| format!("invalid regex `/{re}/`: {}", first_line(&e.to_string())))?;
        }
        Ok(Pattern {
            source: source.to_owned(),
            whole: false,
        })
    }

    /// The whole-text form, `{ equals: "ok" }`.
    pub fn parse_whole(text: &str) -> Result<Pattern, String> {
        vars::check_syntax(text, "x").map_err(|e| e.to_string())?;
        Ok(Pattern {
            source: text.to_owned(),
            whole: true,
        })
    }

    /// Substitute the gate's variables and compile. The form (`!`, `/…/`) is read from the
    /// pattern as written, never from what a variable holds, and a variable in a regex matches
    /// its text literally: a captured `!x` or `/.*/` is text to find, not a new pattern.
    pub fn resolve(&self, vars: &Vars) -> Result<Matcher, String> {
        let interpolate = |t: &str| vars::interpolate(t, vars).map_err(|e| e.to_string());
        if self.whole {
            return Ok(Matcher {
                negate: false,
                kind: MatchKind::Whole(interpolate(&self.source)?),
            });
        }
        let (negate, re, body) = split(&self.source);
        let kind = match re {
            Some(re) => {
                let re = interpolate_regex(re, vars)?;
                MatchKind::Regex(compile(&re).map_err(|e| format!("invalid regex `/{re}/`: {e}"))?)
            }
            None => {
                let text = interpolate(body)?;
                if text.is_empty() {
                    // Every text contains the empty string: an empty capture or variable must
                    // not turn a check into one that always holds.
                    return Err(format!(
                        "the pattern `{}` is empty once its variables are filled in",
                        self.source
                    ));
                }
                MatchKind::Substring(text)
            }
        };
        Ok(Matcher { negate, kind })
    }
}

impl Matcher {
    pub fn matches(&self, text: &str) -> bool {
        let found = match &self.kind {
            MatchKind::Substring(s) => text.contains(s.as_str()),
            MatchKind::Regex(re) => re.is_match(text),
            MatchKind::Whole(s) => trim_newline(text) == trim_newline(s),
        };
        found != self.negate
    }

    /// [`Matcher::matches`] on a part of a text cut at `edge`: a regex must hold whatever
    /// the cut removed (`cut`).
    pub fn matches_cut(&self, part: &str, edge: Edge) -> bool {
        let found = match &self.kind {
            MatchKind::Regex(re) => captures(re, part, edge).is_some(),
            _ => return self.matches(part),
        };
        found != self.negate
    }

    pub fn negated(&self) -> bool {
        self.negate
    }

    /// `to contain "ok"`, `not to match /ERROR/`
    pub fn describe(&self) -> String {
        let not = if self.negate { "not " } else { "" };
        match &self.kind {
            MatchKind::Substring(s) => format!("{not}to contain {s:?}"),
            MatchKind::Regex(re) => format!("{not}to match /{}/", re.as_str()),
            MatchKind::Whole(s) => format!("to equal {:?}", trim_newline(s)),
        }
    }
}

/// Text without one trailing newline (`\n` or `\r\n`): what `echo ok` prints equals `ok`.
fn trim_newline(text: &str) -> &str {
    text.strip_suffix('\n')
        .map(|t| t.strip_suffix('\r').unwrap_or(t))
        .unwrap_or(text)
}

/// Check every pattern against `text`; the first that does not hold becomes a one-line
/// failure.
pub fn check_all(
    what: &str,
    patterns: &[Pattern],
    text: &str,
    vars: &Vars,
) -> Result<(), CheckError> {
    for p in patterns {
        let m = p.resolve(vars).map_err(CheckError::Invalid)?;
        if !m.matches(text) {
            // A whole-text mismatch may lie in white space or a control character, which `preview`
            // folds: show it JSON-escaped instead.
            let got = if p.whole {
                render(&serde_json::Value::String(trim_newline(text).to_owned()))
            } else {
                preview(text)
            };
            let msg = format!("expected {what} {}, got {got}", m.describe());
            return Err(CheckError::Mismatch(msg));
        }
    }
    Ok(())
}

/// Text a check reads: all of it, or only a part when a cap cut it (the head and, for a
/// command's output, the tail), with what was cut said in `cut`.
pub struct Observed<'a> {
    pub head: &'a str,
    pub tail: Option<&'a str>,
    pub cut: Option<String>,
}

/// [`check_all`] on text that may have been cut. A positive pattern holds if it matches a
/// kept part; a `!` pattern or `equals` needs the whole text, so on a cut text it fails and
/// says why, rather than pass on what it could not see.
pub fn check_observed(
    what: &str,
    patterns: &[Pattern],
    text: &Observed,
    vars: &Vars,
) -> Result<(), CheckError> {
    let Some(cut) = &text.cut else {
        return check_all(what, patterns, text.head, vars);
    };
    for p in patterns {
        let m = p.resolve(vars).map_err(CheckError::Invalid)?;
        if m.negate || p.whole {
            return Err(CheckError::Mismatch(format!(
                "expected {what} {}, but {cut}: a `!` or `equals` check needs the whole text",
                m.describe()
            )));
        }
        // The head was cut at its end, the tail at its start (a text with no tail was cut
        // after its head).
        if !(m.matches_cut(text.head, Edge::End)
            || text.tail.is_some_and(|t| m.matches_cut(t, Edge::Start)))
        {
            return Err(CheckError::Mismatch(format!(
                "expected {what} {}, got {} ({cut})",
                m.describe(),
                preview(text.head)
            )));
        }
    }
    Ok(())
}

/// A short, single-line rendering of output for a failure message. White space is kept as it
/// is (a line break shown as `↵`, a tab as `⇥`): folding runs of spaces made `expected stdout to
/// contain "a b", got "a b"` of a text holding `a  b`.
pub fn preview(text: &str) -> String {
    const MAX: usize = 120;
    let clean = crate::text::sanitize(trim_newline(text));
    if clean.is_empty() {
        return "nothing".to_owned();
    }
    let one_line = crate::text::one_line_exact(&clean, MAX);
    format!("\"{one_line}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pattern_table() {
        let vars: Vars = [("NAME".to_owned(), "world".to_owned())].into();
        // (pattern, text, holds)
        let cases = [
            ("ok", "all ok here", true),
            ("ok", "nope", false),
            ("!panic", "fine", true),
            ("!panic", "thread panicked", false),
            ("/^v[0-9]+$/", "v12", true),
            ("/^v[0-9]+$/", "v12a", false),
            ("!/ERROR|FATAL/", "INFO only", true),
            ("!/ERROR|FATAL/", "FATAL: x", false),
            ("hello ${NAME}", "hello world", true),
            ("/", "a/b", true),
            ("/^ok$/", "ok\n", true),
            ("/^ok$/", "first\nok\nlast\n", true),
        ];
        for (pat, text, holds) in cases {
            let m = Pattern::parse(pat).unwrap().resolve(&vars).unwrap();
            assert_eq!(m.matches(text), holds, "{pat:?} on {text:?}");
        }
    }

    #[test]
    fn whole_text_form() {
        let vars: Vars = [("NAME".to_owned(), "world".to_owned())].into();
        // (text it must equal, actual text, holds)
        let cases = [
            ("ok", "ok", true),
            ("ok", "ok\n", true),
            ("ok", "ok\r\n", true),
            ("ok", "not ok", false),
            ("ok", "ok\n\n", false),
            ("ok", "ok ", false),
            ("ok", "OK", false),
            ("ok", "", false),
            ("hello ${NAME}", "hello world\n", true),
            ("/ok/", "ok", false),
            ("!ok", "fine", false),
        ];
        for (want, text, holds) in cases {
            let m = Pattern::parse_whole(want).unwrap().resolve(&vars).unwrap();
            assert_eq!(m.matches(text), holds, "{want:?} on {text:?}");
        }
        let p = [Pattern::parse_whole("ok").unwrap()];
        assert_eq!(
            check_all("body", &p, "not ok", &vars).unwrap_err(),
            CheckError::Mismatch("expected body to equal \"ok\", got \"not ok\"".to_owned())
        );
        // White space and control characters that make the difference are shown.
        assert_eq!(
            check_all("body", &p, "ok \u{1b}[0m\n", &vars).unwrap_err(),
            CheckError::Mismatch("expected body to equal \"ok\", got \"ok \\u001b[0m\"".to_owned())
        );
    }

    #[test]
    fn a_variable_is_text_never_a_pattern() {
        let vars: Vars = [
            ("TOK".to_owned(), "!deadbeef".to_owned()),
            ("RE".to_owned(), "/.*/".to_owned()),
            ("EMPTY".to_owned(), String::new()),
            ("V".to_owned(), "a|".to_owned()),
        ]
        .into();
        let m = |p: &str| Pattern::parse(p).unwrap().resolve(&vars);
        assert!(!m("${TOK}").unwrap().matches("no token here"));
        assert!(m("${TOK}").unwrap().matches("x !deadbeef y"));
        assert!(!m("${RE}").unwrap().matches("anything"));
        assert!(!m("/^${V}$/").unwrap().matches("x"));
        assert!(m("/^${V}$/").unwrap().matches("a|"));
        assert!(m("${EMPTY}").unwrap_err().contains("empty"));
        for empty in ["", "!", "//", "!//"] {
            assert!(
                Pattern::parse(empty).unwrap_err().contains("is empty"),
                "{empty:?}"
            );
        }
    }

    #[test]
    fn invalid_regex_is_reported() {
        let err = Pattern::parse("/a(b/").unwrap_err();
        assert!(err.starts_with("invalid regex `/a(b/`"), "{err}");
        assert!(Pattern::parse("/${X}(/").is_err());
        assert!(Pattern::parse("${X").unwrap_err().contains("unclosed"));
    }

    #[test]
    fn failure_names_expected_and_actual() {
        let vars = Vars::new();
        let p = [Pattern::parse("ok").unwrap()];
        assert_eq!(
            check_all("stdout", &p, "hello\n", &vars).unwrap_err(),
            CheckError::Mismatch("expected stdout to contain \"ok\", got \"hello\"".to_owned())
        );
    }

    #[test]
    fn preview_keeps_white_space() {
        assert_eq!(preview("a  b\n"), "\"a  b\"");
        assert_ne!(preview("a  b"), preview("a b"));
        assert_eq!(preview("one\n\ttwo\n"), "\"one↵⇥two\"");
        assert_eq!(preview(""), "nothing");
        assert_eq!(preview("\n\n"), "\"↵\"");
    }
}
