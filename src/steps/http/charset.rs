//! The body as text: decoded by its charset, so that `café` sent in latin1 or `你好` in GB2312
//! reads as such in patterns, captures, XPath, CSS and the log, rather than as replacement
//! characters a `!` pattern would pass over.
//!
//! The charset is the `charset=` of `Content-Type` (its parameters read with their quoting);
//! else, for HTML, a `<meta charset>` or `<meta http-equiv="Content-Type">` in the first 1024
//! bytes (not in a comment), and for XML the `encoding` of its declaration (a UTF-16 label
//! found there means UTF-8, as the HTML prescan says: the bytes that spell it are ASCII); else
//! UTF-8. A byte order mark decides over all of them. Labels are WHATWG's (encoding_rs):
//! `latin1` and `iso-8859-1` are windows-1252, `gb2312` is GBK, as browsers read them. A label
//! WHATWG does not know, or one it maps to its `replacement` decoder (which turns the whole
//! body into one U+FFFD), leaves the body without text: its text checks fail in one line
//! instead of reading it as UTF-8.

use encoding_rs::{Encoding, UTF_8};

/// How far into an HTML body a `<meta>` charset is looked for (as the HTML spec's prescan).
const PRESCAN: usize = 1024;

/// The body decoded, or why it could not be.
pub(super) struct BodyText {
    pub text: String,
    /// The charset used, when it is not UTF-8 (for the log).
    pub charset: Option<&'static str>,
    /// Why the text checks cannot read the body: the charset label is unknown. `text` is
    /// then the body read as UTF-8, for the log only.
    pub unknown: Option<String>,
}

pub(super) fn decode(content_type: Option<&str>, body: &[u8]) -> BodyText {
    // A byte order mark decides over any label, as in browsers (WHATWG "decode").
    if let Some((enc, bom)) = Encoding::for_bom(body) {
        let (text, _) = enc.decode_without_bom_handling(&body[bom..]);
        return BodyText {
            text: text.into_owned(),
            charset: (enc != UTF_8).then_some(enc.name()),
            unknown: None,
        };
    }
    let media = content_type
        .and_then(|c| c.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let label = content_type.and_then(charset_param).or_else(|| {
        let head = &body[..body.len().min(PRESCAN)];
        let found = if media.contains("html") || media.is_empty() {
            meta_charset(head)
        } else if media.ends_with("/xml") || media.ends_with("+xml") {
            xml_encoding(head)
        } else {
            None
        };
        // Read from ASCII bytes, a UTF-16 label is wrong: the HTML prescan's rule, UTF-8.
        found.map(|l| match Encoding::for_label(l.as_bytes()) {
            Some(e) if e == encoding_rs::UTF_16LE || e == encoding_rs::UTF_16BE => {
                "utf-8".to_owned()
            }
            _ => l,
        })
    });
    let lossy = || String::from_utf8_lossy(body).into_owned();
    let Some(label) = label else {
        return BodyText {
            text: lossy(),
            charset: None,
            unknown: None,
        };
    };
    match Encoding::for_label(label.as_bytes()) {
        Some(enc) if enc != encoding_rs::REPLACEMENT => {
            let (text, used, _) = enc.decode(body);
            BodyText {
                text: text.into_owned(),
                charset: (used != UTF_8).then_some(used.name()),
                unknown: None,
            }
        }
        _ => BodyText {
            text: lossy(),
            charset: None,
            unknown: Some(format!(
                "the body's charset {} is not one gaterun can decode, so its text cannot be checked",
                crate::expect::value::render(&serde_json::Value::String(label))
            )),
        },
    }
}

/// The `charset` parameter of a `Content-Type` value (the first), unquoted. Parameters are
/// read as RFC 9110 writes them: a `;` inside a quoted value does not start one.
fn charset_param(content_type: &str) -> Option<String> {
    let mut rest = content_type.split_once(';')?.1;
    loop {
        rest = rest.trim_start_matches([' ', '\t', ';']);
        if rest.is_empty() {
            return None;
        }
        let name_end = rest.find(['=', ';']).unwrap_or(rest.len());
        let name = rest[..name_end].trim();
        rest = &rest[name_end..];
        let Some(after) = rest.strip_prefix('=') else {
            continue;
        };
        let after = after.trim_start();
        let value = if let Some(quoted) = after.strip_prefix('"') {
            let mut value = String::new();
            let mut chars = quoted.char_indices();
            let mut end = quoted.len();
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next().map(|(_, c)| c)),
                    '"' => {
                        end = i + 1;
                        break;
                    }
                    c => value.push(c),
                }
            }
            rest = &quoted[end..];
            value
        } else {
            let end = after.find(';').unwrap_or(after.len());
            rest = &after[end..];
            after[..end].trim().trim_matches('\'').to_owned()
        };
        if name.eq_ignore_ascii_case("charset") {
            return Some(value.trim().to_owned()).filter(|v| !v.is_empty());
        }
    }
}

/// The charset a `<meta charset=…>` or `<meta http-equiv="Content-Type" content="…;
/// charset=…">` names, in the head of an HTML body.
fn meta_charset(head: &[u8]) -> Option<String> {
    // Tags are ASCII whatever the charset (those of a UTF-16 body aside, which a BOM names).
    let head = String::from_utf8_lossy(head).to_ascii_lowercase();
    let mut rest = head.as_str();
    while let Some(at) = rest.find('<') {
        rest = &rest[at..];
        // A comment is skipped whole: a `<meta>` in it is not one.
        if let Some(comment) = rest.strip_prefix("<!--") {
            rest = comment.find("-->").map_or("", |e| &comment[e + 3..]);
            continue;
        }
        let Some(tag) = rest
            .strip_prefix("<meta")
            .filter(|t| t.starts_with(|c: char| c.is_ascii_whitespace() || c == '/'))
        else {
            rest = &rest[1..];
            continue;
        };
        let end = tag.find('>').unwrap_or(tag.len());
        let attrs = &tag[..end];
        if let Some(v) = attribute(attrs, "charset") {
            return Some(v);
        }
        if attribute(attrs, "http-equiv").is_some_and(|v| v == "content-type")
            && let Some(content) = attribute(attrs, "content")
            && let Some(v) = charset_param(&content)
        {
            return Some(v);
        }
        rest = &tag[end..];
    }
    None
}

/// The `encoding` of an XML declaration (`<?xml version="1.0" encoding="ISO-8859-1"?>`).
fn xml_encoding(head: &[u8]) -> Option<String> {
    let head = String::from_utf8_lossy(head);
    let decl = head.trim_start_matches('\u{feff}').strip_prefix("<?xml")?;
    let decl = &decl[..decl.find("?>")?];
    attribute(decl, "encoding")
}

/// An attribute's value in a tag's text (`name="v"`, `name='v'` or `name=v`), read pair by
/// pair so that a name inside another attribute's value is not taken for one.
fn attribute(attrs: &str, name: &str) -> Option<String> {
    let mut rest = attrs;
    loop {
        rest = rest.trim_start_matches(|c: char| c.is_whitespace() || c == '/');
        if rest.is_empty() {
            return None;
        }
        let end = rest
            .find(|c: char| c.is_whitespace() || c == '=' || c == '/')
            .unwrap_or(rest.len())
            .max(1);
        let key = &rest[..end];
        rest = rest[end..].trim_start();
        let mut value = "";
        if let Some(after) = rest.strip_prefix('=') {
            let after = after.trim_start();
            let (v, next) = match after.chars().next() {
                Some(q @ ('"' | '\'')) => {
                    let body = &after[1..];
                    let close = body.find(q).unwrap_or(body.len());
                    (&body[..close], body.get(close + 1..).unwrap_or(""))
                }
                _ => {
                    let close = after.find(char::is_whitespace).unwrap_or(after.len());
                    (&after[..close], &after[close..])
                }
            };
            value = v;
            rest = next;
        }
        if key == name {
            return Some(value.trim().to_owned()).filter(|v| !v.is_empty());
        }
    }
}

#[cfg(test)]
mod charset_tests {
    use super::decode;

    #[test]
    fn charsets_by_header_meta_and_declaration() {
        let latin1 = decode(Some("text/plain; charset=ISO-8859-1"), b"caf\xe9");
        assert_eq!(
            (latin1.text.as_str(), latin1.charset),
            ("café", Some("windows-1252"))
        );
        let quoted = decode(Some("text/plain;charset=\"latin1\""), b"caf\xe9");
        assert_eq!(quoted.text, "café");
        let gb = decode(Some("text/plain; charset=gb2312"), b"\xc4\xe3\xba\xc3");
        assert_eq!((gb.text.as_str(), gb.charset), ("你好", Some("GBK")));
        let meta = decode(
            Some("text/html"),
            b"<html><head><meta charset=\"windows-1252\"></head>caf\xe9",
        );
        assert!(meta.text.ends_with("café"), "{}", meta.text);
        let equiv = decode(
            None,
            b"<meta http-equiv='Content-Type' content='text/html; charset=iso-8859-1'>\xe9",
        );
        assert!(equiv.text.ends_with('é'), "{}", equiv.text);
        let xml = decode(
            Some("application/xml"),
            b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a>\xe9</a>",
        );
        assert!(xml.text.contains("<a>é</a>"), "{}", xml.text);
        // JSON and plain text without a charset are UTF-8; a meta tag in them is text.
        let plain = decode(Some("text/plain"), b"<meta charset=latin1>caf\xc3\xa9");
        assert_eq!((plain.text.ends_with("café"), plain.charset), (true, None));
    }

    #[test]
    fn a_bom_decides_and_utf16_labels_on_ascii_mean_utf8() {
        let mut bom16: Vec<u8> = vec![0xff, 0xfe];
        bom16.extend("FATAL é".encode_utf16().flat_map(u16::to_le_bytes));
        for ct in [None, Some("text/plain"), Some("text/plain; charset=latin1")] {
            let got = decode(ct, &bom16);
            assert_eq!(
                (got.text.as_str(), got.charset),
                ("FATAL é", Some("UTF-16LE"))
            );
        }
        let meta = decode(Some("text/html"), b"<meta charset=\"utf-16\"><p>FATAL</p>");
        assert_eq!((meta.text.contains("FATAL"), meta.charset), (true, None));
        let xml = decode(
            Some("application/xml"),
            b"<?xml version=\"1.0\" encoding=\"UTF-16\"?><a>FATAL</a>",
        );
        assert!(xml.text.contains("<a>FATAL</a>"), "{}", xml.text);
        let commented = decode(
            Some("text/html"),
            "<!-- <meta charset=\"windows-1252\"> --><metadata><p>café".as_bytes(),
        );
        assert_eq!(
            (commented.text.ends_with("café"), commented.charset),
            (true, None)
        );
        let quoted = decode(
            Some("text/plain; foo=\"a;charset=utf-16le\"; charset=utf-8"),
            b"FATAL",
        );
        assert_eq!(quoted.text, "FATAL");
        let escaped = decode(
            Some("text/plain; a=\"x\\\";charset=latin1\";charset=\"utf-8\""),
            b"ok",
        );
        assert_eq!((escaped.text.as_str(), escaped.charset), ("ok", None));
    }

    #[test]
    fn an_unknown_charset_is_no_text() {
        for label in ["klingon", "iso-2022-kr"] {
            let got = decode(Some(&format!("text/plain; charset={label}")), b"abc");
            let why = got.unknown.unwrap_or_default();
            assert!(why.contains(label), "{why}");
        }
    }
}
