//! Text from evidence into the page. Everything a gate printed, and everything a results.json
//! or history.jsonl says, is hostile: it is sanitized as every report does (ANSI escapes and
//! control characters removed, bidi and zero-width characters written as visible escapes) and
//! then every character HTML gives a meaning to is written as a character reference — `<`, `>`,
//! `&`, quotes, and `:` and `#` too, so neither `javascript:` nor a workflow command
//! (`::error::`, `##[add-mask]`) is ever in the page's bytes, should the page be printed in a CI log. Paths the page links to
//! are percent-encoded component by component after they are checked to stay in the evidence.

/// Hostile text as HTML text or attribute content: inert, on as many lines as it had.
pub fn text(s: &str) -> String {
    let clean = crate::text::message(&crate::text::sanitize(s));
    let mut out = String::with_capacity(clean.len() + clean.len() / 8);
    for c in clean.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            ':' => out.push_str("&#58;"),
            '`' => out.push_str("&#96;"),
            '=' => out.push_str("&#61;"),
            // `##[error]`, `##[add-mask]`: the runner's legacy commands, anywhere in a line.
            '#' => out.push_str("&#35;"),
            _ => out.push(c),
        }
    }
    out
}

/// Hostile text on one line, cut at `max` characters (a message in a table cell).
pub fn line(s: &str, max: usize) -> String {
    text(&crate::text::one_line(s, max))
}

/// A relative path inside the evidence (`phase-1/stage-02/logs/a b.png`) as an `href`/`src`:
/// each component percent-encoded but unreserved characters, so no scheme, query or fragment
/// can appear. `None` for a path that is not plainly relative (empty, `..`, `/`, `\`).
pub fn href(rel: &str) -> Option<String> {
    let parts: Vec<&str> = rel.split('/').collect();
    if parts
        .iter()
        .any(|p| p.is_empty() || *p == "." || *p == ".." || p.contains('\\'))
    {
        return None;
    }
    let encoded: Vec<String> = parts
        .iter()
        .map(|p| {
            p.bytes()
                .map(|b| {
                    if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                        char::from(b).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect()
        })
        .collect();
    Some(encoded.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_text_is_inert() {
        let t = text(
            "<script>alert(1)</script> <a href=\"javascript:x\">y</a>\n::error::boom\u{1b}[31m\u{202e} ##[add-mask]x",
        );
        for bad in [
            "##[",
            "<",
            ">",
            "\"",
            "javascript:",
            "::error::",
            "\u{1b}",
            "\u{202e}",
            "href=",
        ] {
            assert!(!t.contains(bad), "{bad} in {t}");
        }
        assert!(t.contains('\n'));
        assert_eq!(line("a\nb", 10), "a b");
    }

    #[test]
    fn hrefs_stay_relative_and_plain() {
        assert_eq!(
            href("phase-1/stage-02/logs/a b.png").as_deref(),
            Some("phase-1/stage-02/logs/a%20b.png")
        );
        assert_eq!(
            href("javascript:alert(1)").as_deref(),
            Some("javascript%3Aalert%281%29")
        );
        for bad in ["", "/etc/passwd", "a/../b", "a//b", "./a", "a\\b"] {
            assert_eq!(href(bad), None, "{bad}");
        }
    }
}
