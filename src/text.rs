//! Text helpers every layer shares, a leaf that imports nothing of gaterun: what makes text
//! safe for XML, markdown and a terminal (`sanitize`, `shown`), how durations read
//! (`human_duration`), one-line and last-lines excerpts, URLs without passwords, and base64
//! as a gate file writes it.

use std::time::Duration;

/// Text safe for XML 1.0 and for markdown: ANSI escape sequences removed, and every character
/// XML 1.0 forbids (control characters but tab and newline, C1 included; U+FFFE, U+FFFF); a
/// carriage return, U+2028 and U+2029 end a line.
pub fn sanitize(text: &str) -> String {
    static ANSI: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")
            .expect("static regex")
    });
    let stripped = ANSI.replace_all(text, "");
    let kept: String = stripped
        .chars()
        .filter(|&c| {
            matches!(c, '\t' | '\n' | '\r')
                || !(c.is_control() || c == '\u{FFFE}' || c == '\u{FFFF}')
        })
        .collect();
    // A carriage return ends a line, as on a terminal (a progress bar's redraws become lines),
    // and as an XML reader would read it: no writer later drops it and joins what it split.
    // So do U+2028 and U+2029, which JSON writes raw and JavaScript reads as line breaks.
    if kept.contains(['\r', '\u{2028}', '\u{2029}']) {
        kept.replace("\r\n", "\n")
            .replace(['\r', '\u{2028}', '\u{2029}'], "\n")
    } else {
        kept
    }
}

/// Text read from a file (evidence under review, a stage file) made safe for one line of a
/// terminal or a CI log: every control character (a newline that would start a line of its
/// own, such as a workflow command; an escape sequence; a carriage return) and every format
/// character that reorders or hides the text around it (bidi overrides and isolates, zero-width
/// characters) is written as `\u{…}`. The result holds none of them, so escaping it again
/// changes nothing.
pub fn shown(text: &str) -> String {
    escaped(text, hostile)
}

/// A gate's or step's message as reports carry it (results.json, JUnit, markdown, the
/// terminal): as [`shown`], but its line breaks and tabs kept (a message may quote an output's
/// lines). C1 controls (U+009B is a terminal's CSI) and U+2028/U+2029, which JSON leaves raw,
/// are escaped.
pub fn message(text: &str) -> String {
    escaped(text, |c| hostile(c) && !matches!(c, '\n' | '\t'))
}

fn hostile(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{061C}' | '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}')
        || matches!(c, '\u{2060}'..='\u{2069}' | '\u{FEFF}')
}

fn escaped(text: &str, hostile: impl Fn(char) -> bool) -> String {
    if !text.chars().any(&hostile) {
        return text.to_owned();
    }
    text.chars()
        .map(|c| {
            if hostile(c) {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// `12ms`, `1.24s`, `2m05s`
pub fn human_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms < 60_000 {
        format!("{:.2}s", d.as_secs_f64())
    } else {
        format!("{}m{:02}s", ms / 60_000, (ms % 60_000) / 1000)
    }
}

pub fn one_line(s: &str, max: usize) -> String {
    cut(s.split_whitespace().collect::<Vec<_>>().join(" "), max)
}

/// One line with its white space told apart, for a message expected and actual are compared
/// in: runs of spaces kept, a line break shown as `↵`, a tab as `⇥` (so `"a  b"`, `"a\tb"` and
/// `"a b"` never print alike, as [`one_line`] would print them).
pub fn one_line_exact(s: &str, max: usize) -> String {
    let flat: String = s
        .chars()
        .map(|c| match c {
            '\n' => '↵',
            '\t' => '⇥',
            c => c,
        })
        .collect();
    cut(flat, max)
}

/// A line of a gate's output shown in an excerpt: at most `max` characters, then how many
/// more its log holds (one 50 MB line must not become a 50 MB line of the terminal).
pub fn cut_line(line: &str, max: usize) -> std::borrow::Cow<'_, str> {
    match line.char_indices().nth(max) {
        None => line.into(),
        Some((at, _)) => format!(
            "{}… ({} more characters, see the log)",
            &line[..at],
            line[at..].chars().count()
        )
        .into(),
    }
}

/// At most `max` characters, and `…` where it was cut.
fn cut(flat: String, max: usize) -> String {
    if flat.chars().count() > max {
        format!("{}…", flat.chars().take(max).collect::<String>())
    } else {
        flat
    }
}

/// `%XX` escapes decoded (what a URL's password stands for).
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = s.get(i + 1..i + 3)
            && let Ok(b) = u8::from_str_radix(hex, 16)
        {
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A URL without the password of its userinfo (`http://user:***@host/`).
pub fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_owned();
    };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let Some(at) = authority.rfind('@') else {
        return url.to_owned();
    };
    let Some((user, _password)) = authority[..at].split_once(':') else {
        return url.to_owned();
    };
    format!("{}://{user}:***@{}", &url[..scheme_end], &rest[at + 1..])
}

/// `s` for a count other than one.
pub fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Standard base64 (RFC 4648), padded or not; white space (a folded YAML string) ignored.
pub fn decode_base64(text: &str) -> Result<Vec<u8>, String> {
    use base64::Engine;
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    LENIENT.decode(compact).map_err(|e| match e {
        base64::DecodeError::InvalidByte(_, b) | base64::DecodeError::InvalidLastSymbol(_, b) => {
            format!(
                "`{}` is not a base64 character here",
                char::from(b).escape_debug()
            )
        }
        base64::DecodeError::InvalidLength(n) => {
            format!("{n} base64 characters cannot end a whole byte")
        }
        base64::DecodeError::InvalidPadding => "its `=` padding is wrong".to_owned(),
    })
}

/// An error and its causes, `: `-joined (`error connecting: Connection refused (os error 111)`).
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(&format!(": {s}"));
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    #[test]
    fn sanitize_strips_ansi_and_xml_invalid_characters() {
        assert_eq!(
            super::sanitize("\x1b[31mred\x1b[0m ok\x00\x07\x1b]0;title\x07 ]]> \u{FFFE}é\n"),
            "red ok ]]> é\n"
        );
        assert_eq!(super::sanitize("a\r\nb\rc"), "a\nb\nc");
        assert_eq!(super::sanitize("a\u{2028}b\u{2029}c\u{9b}d"), "a\nb\ncd");
    }

    #[test]
    fn messages_escape_c1_and_line_separators_but_keep_lines() {
        let m = "got \"A\u{9b}[31mB\u{2028}C\u{202E}\"\n\tnext\r";
        assert_eq!(
            super::message(m),
            "got \"A\\u{9b}[31mB\\u{2028}C\\u{202e}\"\n\tnext\\u{d}"
        );
        assert_eq!(super::message(&super::message(m)), super::message(m));
    }

    #[test]
    fn shown_escapes_what_a_terminal_or_the_runner_would_act_on() {
        for (text, want) in [
            ("phase-1/stage-00: ok — é ✓", "phase-1/stage-00: ok — é ✓"),
            ("a\n::error::x", "a\\u{a}::error::x"),
            ("\x1b[31mred\x1b[0m", "\\u{1b}[31mred\\u{1b}[0m"),
            ("a\r\nb\tc", "a\\u{d}\\u{a}b\\u{9}c"),
            (
                "a\u{202e}b\u{2066}c\u{200b}d\u{feff}",
                "a\\u{202e}b\\u{2066}c\\u{200b}d\\u{feff}",
            ),
            ("\u{85}\u{2028}", "\\u{85}\\u{2028}"),
        ] {
            assert_eq!(super::shown(text), want, "{text:?}");
            assert_eq!(super::shown(&super::shown(text)), want, "twice: {text:?}");
        }
    }

    #[test]
    fn base64_padded_or_not_and_folded() {
        assert_eq!(
            super::decode_base64("aGVsbG8=").as_deref(),
            Ok(&b"hello"[..])
        );
        assert_eq!(
            super::decode_base64("aGVs\n bG8").as_deref(),
            Ok(&b"hello"[..])
        );
        assert!(super::decode_base64("aGVsbG8!").is_err());
        assert!(super::decode_base64("a").is_err());
    }
}
