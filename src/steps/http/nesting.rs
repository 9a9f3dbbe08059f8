//! What a body costs to parse, measured before it is parsed: how deeply it nests, how many
//! elements it makes, how many attributes one element has. A hostile body of a hundred
//! thousand nested elements costs html5ever quadratic time (each start tag looks down the stack
//! of open elements) and sxd-xpath's recursive walk a stack overflow; an element with 40,000
//! attributes costs both parsers quadratic time (each attribute is compared with the others);
//! formatting elements left open (`<b>`) are rebuilt by html5ever in every paragraph after
//! them, so 84 KB can make millions of elements. Bounded, parsing stays cheap; real pages nest
//! a few dozen levels and make far fewer elements.
//!
//! The HTML count follows the parser closely enough not to refuse a real page, and where it
//! cannot follow it counts more, never fewer: void elements and elements whose end tag may be
//! left out (`<li>`, `<p>`, `<td>`…) close only where the parser's scope rules close them (a
//! `<p>` closes at a `<div>`, an `<li>` does not close an outer one across a `<ul>`), an end
//! tag closes nothing across an element the parser stops at, formatting elements a close left
//! open count again (and nest again) at the next tag or text, `/>` closes only inside SVG and
//! MathML (where it is self-closing), and the text of `<script>`, `<style>` and the like is not
//! read for tags. The cost of the scan itself is linear in the body.

/// The deepest nesting a body may have for `expect.xpath` and `expect.css`.
pub(super) const MAX_DEPTH: usize = 512;
/// The most elements a body may make.
pub(super) const MAX_ELEMENTS: usize = 200_000;
/// The most attributes one element may have.
pub(super) const MAX_ATTRIBUTES: usize = 10_000;

/// Why a body is not parsed.
#[derive(Debug, PartialEq)]
pub(super) enum Refused {
    /// It costs too much to parse (nested too deeply, too many elements or attributes).
    Cost(String),
    /// It is not well-formed XML.
    Syntax(String),
}

/// Whether an XML body costs too much to parse (or is not well-formed): why.
pub(super) fn xml(text: &str) -> Result<(), Refused> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(text);
    let mut depth = 0usize;
    let mut elements = 0usize;
    loop {
        let start = match reader.read_event() {
            Ok(Event::Start(e)) => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(Refused::Syntax(too_deep()));
                }
                e
            }
            Ok(Event::Empty(e)) => e,
            Ok(Event::End(_)) => {
                depth = depth.saturating_sub(1);
                continue;
            }
            Ok(Event::Eof) => return Ok(()),
            Ok(_) => continue,
            Err(e) => return Err(Refused::Syntax(e.to_string())),
        };
        elements += 1;
        if elements > MAX_ELEMENTS {
            return Err(Refused::Cost(too_many()));
        }
        // Without the duplicate check (quadratic): only counted.
        let mut attributes = start.attributes();
        if attributes
            .with_checks(false)
            .take(MAX_ATTRIBUTES + 1)
            .count()
            > MAX_ATTRIBUTES
        {
            return Err(Refused::Cost(too_many_attributes()));
        }
    }
}

use super::open_elements::{RAW_TEXT, Stack, VOID, closes_p};

fn too_deep() -> String {
    format!("elements nested deeper than {MAX_DEPTH}")
}

fn too_many() -> String {
    format!("more than {MAX_ELEMENTS} elements")
}

fn too_many_attributes() -> String {
    format!("an element with more than {MAX_ATTRIBUTES} attributes")
}

/// Whether an HTML body costs too much to parse: why.
pub(super) fn html(text: &str) -> Result<(), String> {
    let lower = text.to_ascii_lowercase();
    let b = lower.as_bytes();
    let mut stack = Stack::default();
    let mut i = 0;
    while let Some(at) = lower[i..].find('<') {
        if at > 0 {
            stack.rebuild();
            limits(&stack)?;
        }
        i += at + 1;
        if let Some(comment) = lower[i..].strip_prefix("!--") {
            i += 3 + comment_length(comment);
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
        let (tag_end, attributes, self_closing) = tag(b, end);
        i = (tag_end + 1).min(b.len());
        if attributes > MAX_ATTRIBUTES {
            return Err(too_many_attributes());
        }
        // `</br>` is read as `<br>`; a `</p>` with no `<p>` open makes an empty one.
        if closing && name != "br" {
            if !stack.end(name) && name == "p" {
                stack.elements += 1;
                limits(&stack)?;
            }
            continue;
        }
        // Block elements do not rebuild them (their text does, inside them).
        if !closes_p(name) {
            stack.rebuild();
            limits(&stack)?;
        }
        stack.start(name);
        if VOID.contains(&name) || closing {
            stack.elements += 1;
            limits(&stack)?;
            continue;
        }
        let foreign = stack.open.iter().any(|n| n == "svg" || n == "math");
        if foreign && self_closing {
            stack.elements += 1;
            limits(&stack)?;
            continue;
        }
        // In SVG and MathML, `<title>` and `<style>` hold elements.
        if RAW_TEXT.contains(&name) && !foreign {
            stack.elements += 1;
            limits(&stack)?;
            let close = format!("</{name}");
            i = lower[i..].find(&close).map_or(b.len(), |e| i + e);
            continue;
        }
        stack.push(name, text.get(end..tag_end).unwrap_or(""));
        limits(&stack)?;
    }
    if i < b.len() {
        stack.rebuild();
        limits(&stack)?;
    }
    Ok(())
}

/// Whether the stack is within [`MAX_DEPTH`] and its elements within [`MAX_ELEMENTS`].
fn limits(stack: &Stack) -> Result<(), String> {
    if stack.open.len() > MAX_DEPTH {
        return Err(too_deep());
    }
    if stack.elements > MAX_ELEMENTS {
        return Err(too_many());
    }
    Ok(())
}

/// How long a comment is after its `<!--`: up to its `-->` or `--!>`, or an abrupt `>` or `->`
/// (an empty comment, as the tokenizer reads it), or to the end of the body.
fn comment_length(rest: &str) -> usize {
    if rest.starts_with('>') {
        return 1;
    }
    if rest.starts_with("->") {
        return 2;
    }
    let close = |end: &str| rest.find(end).map(|e| e + end.len());
    match (close("-->"), close("--!>")) {
        (Some(a), Some(b)) => a.min(b),
        (Some(a), None) | (None, Some(a)) => a,
        (None, None) => rest.len(),
    }
}

/// A tag's attributes from just after its name, as the tokenizer reads them (a `>` inside a
/// quoted value does not end the tag): where the tag ends (at its `>` or the end of the body),
/// how many attributes it has, whether it ends in `/>`.
fn tag(b: &[u8], mut i: usize) -> (usize, usize, bool) {
    let mut attributes = 0;
    loop {
        // `/>` ends a tag self-closing only where a `/` is read between attributes (in
        // `d=M0/>` it ends the value).
        let mut slash = false;
        while i < b.len() && (b[i].is_ascii_whitespace() || b[i] == b'/') {
            slash = b[i] == b'/';
            i += 1;
        }
        match b.get(i) {
            None => return (b.len(), attributes, false),
            Some(b'>') => return (i, attributes, slash),
            Some(_) => {}
        }
        // A name: up to white space, `/`, `>` or `=` (a first `=` belongs to it).
        attributes += 1;
        i += 1;
        while i < b.len() && !matches!(b[i], b'/' | b'>' | b'=') && !b[i].is_ascii_whitespace() {
            i += 1;
        }
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if b.get(i) != Some(&b'=') {
            continue;
        }
        i += 1;
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        match b.get(i) {
            Some(&q @ (b'"' | b'\'')) => {
                i = b[i + 1..]
                    .iter()
                    .position(|&c| c == q)
                    .map_or(b.len(), |e| i + 1 + e + 1);
            }
            _ => {
                while i < b.len() && b[i] != b'>' && !b[i].is_ascii_whitespace() {
                    i += 1;
                }
            }
        }
    }
}

#[cfg(test)]
mod nesting_tests {
    use super::{MAX_ATTRIBUTES, MAX_DEPTH, MAX_ELEMENTS, Refused, html, xml};

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

    #[test]
    fn implied_closes_count_the_parser_s_depth() {
        // A `<div>` closes the `<p>`, and nests in the `<div>` before it.
        assert!(html(&"<p><div>".repeat(MAX_DEPTH + 1)).is_err());
        // An `<li>` does not close the outer one across a `<ul>`.
        assert!(html(&"<ul><li>".repeat(MAX_DEPTH / 2 + 1)).is_err());
        assert!(html(&"<td><table><td>".repeat(MAX_DEPTH / 2 + 1)).is_err());
        assert!(html(&"<div><table><td></div>".repeat(MAX_DEPTH / 2 + 1)).is_err());
        assert!(html(&"<b><div></b>".repeat(MAX_DEPTH / 2 + 1)).is_err());
        // Siblings the parser closes stay shallow.
        let mut page = String::from("<ul>");
        for _ in 0..3000 {
            page.push_str("<li><p>a<b>b</b><div>c</div><li><a href=x>y</a><a>z<dl><dt>t<dd>d</dl>");
        }
        assert_eq!(html(&page), Ok(()));
        assert_eq!(html(&"<p><b>x<p>y".repeat(3000)), Ok(()));
    }

    #[test]
    fn what_the_tokenizer_reads_is_what_is_counted() {
        let divs = "<div>".repeat(MAX_DEPTH + 1);
        // Comments end where the tokenizer ends them, abruptly included.
        for comment in ["<!-->", "<!--->", "<!-- a --!>"] {
            assert!(html(&format!("{comment}{divs}-->")).is_err(), "{comment}");
        }
        assert_eq!(html(&format!("<!-- {divs} -->")), Ok(()));
        // In SVG, `d=M0/>` is a value ending in `/`, not a self-closing tag; `<title>` holds
        // elements.
        let svg = format!("<svg>{}", "<g d=M0/>".repeat(MAX_DEPTH + 1));
        assert!(html(&svg).is_err());
        assert!(html(&format!("<svg><title>{divs}</title>")).is_err());
        assert_eq!(
            html(&format!(
                "<svg>{}",
                "<g d='M0'/><br/>".repeat(MAX_DEPTH + 1)
            )),
            Ok(())
        );
        // A `</p>` with no `<p>` open makes one, `</br>` a `<br>`.
        assert!(html(&"</p>".repeat(MAX_ELEMENTS + 1)).is_err());
        assert!(html(&"</br>".repeat(MAX_ELEMENTS + 1)).is_err());
    }

    #[test]
    fn elements_and_attributes_are_counted() {
        // Formatting elements left open are rebuilt in every paragraph after them.
        let mut recon = String::from("<html><body><p>");
        for i in 0..400 {
            recon.push_str(&format!("<b id={i}>"));
        }
        recon.push_str("</p>");
        recon.push_str(&"<p>x</p>".repeat(10_000));
        assert_eq!(html(&recon), Err("more than 200000 elements".to_owned()));
        assert!(html(&"<br>".repeat(MAX_ELEMENTS + 1)).is_err());
        assert_eq!(html(&"<br>".repeat(MAX_ELEMENTS - 10)), Ok(()));
        let attrs: String = (0..=MAX_ATTRIBUTES)
            .map(|i| format!(" a{i}=\"v\""))
            .collect();
        let why = Err("an element with more than 10000 attributes".to_owned());
        assert_eq!(html(&format!("<p{attrs}>x</p>")), why);
        // A `>` in a quoted value does not end the tag.
        assert_eq!(html(&format!("<p x=\">\"{attrs}>x</p>")), why);
        assert_eq!(
            xml(&format!("<r{attrs}/>")),
            Err(Refused::Cost(
                "an element with more than 10000 attributes".to_owned()
            ))
        );
        let fewer: String = (0..MAX_ATTRIBUTES).map(|i| format!(" a{i}=v")).collect();
        assert_eq!(html(&format!("<p{fewer}>x</p>")), Ok(()));
        assert!(xml(&"<a/>".repeat(MAX_ELEMENTS + 1)).is_err());
    }
}
