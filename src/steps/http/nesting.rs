//! How deeply a body nests its elements, measured before it is parsed. A hostile body of a
//! hundred thousand nested elements costs html5ever quadratic time (each start tag looks down
//! the stack of open elements) and sxd-xpath's recursive walk a stack overflow; at most
//! [`MAX_DEPTH`] levels, both stay cheap. Real pages nest a few dozen levels.
//!
//! The HTML count follows the parser closely enough not to refuse a real page: void elements
//! and elements whose end tag may be left out (`<li>`, `<p>`, `<td>`…) close as the parser
//! closes them, `/>` closes only inside SVG and MathML (where it is self-closing), and the text
//! of `<script>`, `<style>` and the like is not read for tags.

/// The deepest nesting a body may have for `expect.xpath` and `expect.css`.
pub(super) const MAX_DEPTH: usize = 512;

/// Whether an XML body nests deeper than [`MAX_DEPTH`] (or is not well-formed): why not.
pub(super) fn xml(text: &str) -> Result<(), String> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(text);
    let mut depth = 0usize;
    loop {
        match reader.read_event() {
            Ok(Event::Start(_)) => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(too_deep());
                }
            }
            Ok(Event::End(_)) => depth = depth.saturating_sub(1),
            Ok(Event::Eof) => return Ok(()),
            Ok(_) => {}
            Err(e) => return Err(e.to_string()),
        }
    }
}

fn too_deep() -> String {
    format!("elements nested deeper than {MAX_DEPTH}")
}

const VOID: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
    "track", "wbr", "keygen", "frame", "basefont", "bgsound",
];
/// Elements a new one of the same kind closes (their end tag may be left out).
const SELF_CLOSING_KIND: &[&str] = &[
    "p", "li", "dt", "dd", "option", "optgroup", "tr", "td", "th", "rt", "rp", "rb", "rtc",
    "tbody", "thead", "tfoot", "colgroup", "caption",
];
/// Elements whose content is text, not tags.
const RAW_TEXT: &[&str] = &[
    "script",
    "style",
    "textarea",
    "title",
    "xmp",
    "iframe",
    "noembed",
    "noframes",
    "plaintext",
];

/// Whether an HTML body nests deeper than [`MAX_DEPTH`]: why.
pub(super) fn html(text: &str) -> Result<(), String> {
    let lower = text.to_ascii_lowercase();
    let b = lower.as_bytes();
    let mut open: Vec<String> = Vec::new();
    let mut i = 0;
    while let Some(at) = lower[i..].find('<') {
        i += at + 1;
        if lower[i..].starts_with("!--") {
            i = lower[i..].find("-->").map_or(b.len(), |e| i + e + 3);
            continue;
        }
        let closing = b.get(i) == Some(&b'/');
        let start = if closing { i + 1 } else { i };
        let end = lower[start..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == ':'))
            .map_or(b.len(), |e| start + e);
        let name = &lower[start..end];
        if name.is_empty() || !name.as_bytes()[0].is_ascii_alphabetic() {
            continue;
        }
        let tag_end = lower[end..].find('>').map_or(b.len(), |e| end + e);
        i = tag_end;
        if closing {
            if let Some(pos) = open.iter().rposition(|n| n == name) {
                open.truncate(pos);
            }
            continue;
        }
        if VOID.contains(&name) {
            continue;
        }
        let foreign = open.iter().any(|n| n == "svg" || n == "math");
        if foreign && lower[..tag_end].ends_with('/') {
            continue;
        }
        if SELF_CLOSING_KIND.contains(&name)
            && let Some(pos) = open.iter().rposition(|n| n == name)
        {
            open.truncate(pos);
        }
        if RAW_TEXT.contains(&name) {
            let close = format!("</{name}");
            i = lower[i..].find(&close).map_or(b.len(), |e| i + e);
            continue;
        }
        open.push(name.to_owned());
        if open.len() > MAX_DEPTH {
            return Err(too_deep());
        }
    }
    Ok(())
}

#[cfg(test)]
mod nesting_tests {
    use super::{MAX_DEPTH, html, xml};

    #[test]
    fn deep_bodies_are_refused_and_real_pages_are_not() {
        let deep = |open: &str, close: &str| {
            format!(
                "{}x{}",
                open.repeat(MAX_DEPTH + 1),
                close.repeat(MAX_DEPTH + 1)
            )
        };
        assert!(xml(&deep("<a>", "</a>")).is_err());
        assert!(xml(&deep("<a>", "</a>").replace("x", "<b/>")).is_err());
        assert!(html(&deep("<div>", "</div>")).is_err());
        assert!(html(&"<div/>".repeat(MAX_DEPTH + 1)).is_err());
        // Siblings, left-out end tags, void elements, SVG, scripts: shallow.
        let mut page =
            String::from("<!doctype html><html><head><title>a<b></title></head><body><ul>");
        for _ in 0..2000 {
            page.push_str("<li>item<br><img src=x><p>para");
        }
        page.push_str("</ul><table>");
        for _ in 0..2000 {
            page.push_str("<tr><td>1<td>2");
        }
        page.push_str("</table><svg>");
        for _ in 0..2000 {
            page.push_str("<path d='M0'/>");
        }
        page.push_str("</svg><script>");
        page.push_str(&"<div>".repeat(2000));
        page.push_str("</script><!--");
        page.push_str(&"<div>".repeat(2000));
        page.push_str("--></body></html>");
        assert_eq!(html(&page), Ok(()));
        assert_eq!(xml(&"<a><b/></a>".repeat(2000)), Ok(()));
    }
}
