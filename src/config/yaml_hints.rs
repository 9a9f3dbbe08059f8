//! The YAML library's messages in plain words, at the right place, with a hint where one fits
//! (issue 21): a tab is pointed at where it stands, not at the end of the line before; a `: `
//! in a plain value says to quote it; an unknown escape in double quotes says to use single
//! ones; serde's type names (`i64`, `a sequence`) become words; an unknown key of a step names
//! the step kinds; a missing `stage` points at the top of the file.

use super::raw::RawStep;

/// `message` at `line`:`column` of `text`, put plainly and moved where it belongs.
pub fn plain(message: String, text: &str, line: u64, column: u64) -> (String, u64, u64) {
    if message.contains("found a tab") {
        if let Some((l, c)) = first_tab(text, line) {
            return (
                "a tab character here: YAML indents and separates with spaces only; replace \
                 the tab with spaces"
                    .to_owned(),
                l,
                c,
            );
        }
        return (message, line, column);
    }
    if message.contains("mapping values are not allowed in this context") {
        if let Some(above) = indented_under(text, line) {
            return (
                format!(
                    "this line is indented more than `{above}` above it, so YAML reads it as \
                     part of that value; line its key up with `{above}`"
                ),
                line,
                column,
            );
        }
        let value = line_at(text, line)
            .and_then(|l| l.split_once(": "))
            .map_or("", |(_, v)| v);
        let hint = if value.contains('\'') {
            "quote the whole value, or write it as a block (`run: |` and the command on the \
             next line, indented)"
        } else {
            "quote the whole value (`run: 'echo foo: bar'`)"
        };
        return (
            format!("`: ` inside a plain value starts a mapping here; {hint}"),
            line,
            column,
        );
    }
    if message.contains("trailing content after single-quoted scalar") {
        return (
            "a single-quoted value ends at the next `'`: write `''` for an apostrophe inside \
             it (`'it''s'`), or use double quotes"
                .to_owned(),
            line,
            column,
        );
    }
    if message.contains("unknown escape character") {
        return (
            "in double quotes `\\` starts an escape (`\\n`, `\\t`, `\\\"`), and this one is \
             none; write a regex or a path with backslashes in single quotes \
             ('/^Python 3\\.\\d+/'), or double each backslash"
                .to_owned(),
            line,
            column,
        );
    }
    if let Some(plain) = plain_type(&message) {
        return (plain, line, column);
    }
    if message == "missing required key 'stage'" {
        let top = first_content_line(text);
        return (
            "missing required key `stage`: the stage's number (`stage: 0` to `stage: 10`, \
             or `4a` for a sub-stage)"
                .to_owned(),
            top,
            1,
        );
    }
    (message, line, column)
}

/// An unknown key's message for a mapping whose keys are `expected`: a step's names its kinds.
pub fn unknown_key(field: &str, expected: &[&str]) -> String {
    let kinds: Vec<&str> = RawStep::KINDS
        .iter()
        .copied()
        .filter(|k| expected.contains(k))
        .collect();
    if kinds.len() == RawStep::KINDS.len() && !expected.contains(&"id") {
        return format!(
            "unknown key '{field}': a step is one of {}",
            kinds
                .iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    format!("unknown key '{field}'")
}

/// `invalid type: string "two", expected i64` as `expected a whole number, got the text "two"`.
fn plain_type(message: &str) -> Option<String> {
    let (head, expected) = message.rsplit_once(", expected ")?;
    let got = head
        .strip_prefix("invalid type: ")
        .or_else(|| head.strip_prefix("invalid value: "))?;
    let got = match got.split_once(' ') {
        Some(("string", v)) => format!("the text {v}"),
        Some(("integer", v)) | Some(("floating", v)) => {
            format!("the number {}", v.trim_matches('`'))
        }
        Some(("boolean", v)) => v.trim_matches('`').to_owned(),
        _ if got == "sequence" => "a list".to_owned(),
        _ if got == "map" => "a mapping".to_owned(),
        _ => got.to_owned(),
    };
    let expected = match expected.trim() {
        "i8" | "i16" | "i32" | "i64" | "isize" => "a whole number",
        "u8" | "u16" | "u32" | "u64" | "usize" => "a whole number, 0 or more",
        "f32" | "f64" => "a number",
        "a boolean" => "`true` or `false`",
        "a string" => "text",
        "a sequence" => "a list (`- item` lines)",
        "a map" => "a mapping (`key: value` lines)",
        other => other,
    };
    // `run: true`, `title: 2024`: YAML read a word or a number the user meant as text.
    let quote =
        if (head.contains("boolean") || head.contains("integer") || head.contains("floating"))
            && (expected.contains("text") || expected.contains("string"))
        {
            format!("; quote it (`'{got}'`) to make it text")
        } else {
            String::new()
        };
    Some(format!("expected {expected}, got {got}{quote}"))
}

/// The text of 1-based `line`.
fn line_at(text: &str, line: u64) -> Option<&str> {
    text.lines()
        .nth(usize::try_from(line.checked_sub(1)?).ok()?)
}

/// When `line` is a `key:` indented deeper than the `key: value` line above it (a key one space
/// too far, read as part of the value above), that line's key.
fn indented_under(text: &str, line: u64) -> Option<String> {
    let here = line_at(text, line)?;
    let indent = |l: &str| l.len() - l.trim_start().len();
    let n = usize::try_from(line.checked_sub(1)?).ok()?;
    let above = text
        .lines()
        .take(n)
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .last()?;
    let body = above.trim_start().trim_start_matches("- ");
    let (key, value) = body.split_once(':')?;
    let plain_key = !key.is_empty() && !key.contains([' ', '"', '\'']);
    (plain_key && !value.trim().is_empty() && indent(here) > indent(above)).then(|| key.to_owned())
}

/// The first tab at or after `line` (else anywhere), as 1-based line and column.
fn first_tab(text: &str, line: u64) -> Option<(u64, u64)> {
    let tabs = text.lines().enumerate().filter_map(|(i, l)| {
        let col = l.find('\t')?;
        Some((i as u64 + 1, l[..col].chars().count() as u64 + 1))
    });
    let all: Vec<(u64, u64)> = tabs.collect();
    all.iter()
        .find(|(l, _)| *l >= line)
        .or_else(|| all.first())
        .copied()
}

/// The first line that is neither blank nor a comment nor a document marker.
fn first_content_line(text: &str) -> u64 {
    text.lines()
        .position(|l| {
            let t = l.trim();
            !(t.is_empty() || t.starts_with('#') || t == "---")
        })
        .map_or(1, |i| i as u64 + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_names_become_words() {
        assert_eq!(
            plain_type(r#"invalid type: string "two", expected i64"#).as_deref(),
            Some(r#"expected a whole number, got the text "two""#)
        );
        assert_eq!(
            plain_type("invalid type: integer `3`, expected a boolean").as_deref(),
            Some("expected `true` or `false`, got the number 3")
        );
        assert_eq!(plain_type("something else"), None);
        assert_eq!(
            plain_type("invalid type: boolean `true`, expected a string").as_deref(),
            Some("expected text, got true; quote it (`'true'`) to make it text")
        );
    }

    #[test]
    fn a_key_indented_too_far_is_named() {
        let text = "gates:\n  - id: a\n    title: t\n     run: x\n";
        assert_eq!(indented_under(text, 4).as_deref(), Some("title"));
        // Its near miss: a `: ` in a value on a line lined up with the key above.
        let text = "gates:\n  - id: a\n    title: t\n    run: echo a: b\n";
        assert_eq!(indented_under(text, 4), None);
    }

    #[test]
    fn a_tab_is_found_where_it_stands() {
        assert_eq!(first_tab("a: 1\nb:\n\tc: 2\n", 2), Some((3, 1)));
        assert_eq!(first_tab("a: 1\n", 1), None);
        assert_eq!(first_content_line("# c\n\nname: x\n"), 3);
    }
}
