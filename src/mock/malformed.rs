//! A request a mock could not read: hyper refused its head (a header with a control byte, a
//! bad request line, a head over its limit, a head the client cut short) and answered it
//! itself, or its body broke its own framing. Such a request is recorded all the same, marked
//! malformed, so that `received` never passes over it (`unexpected: 0` counts it, a step that
//! could select it fails). What is known of it comes from the bytes the connection read
//! (`tap`): the method and path when its request line is whole and sound, and the first thing
//! wrong with it in words. The bytes are hostile: nothing of them is kept but the method, the
//! path and query (control and format characters escaped, `text::shown`) and header names in
//! the words; no header value is ever shown.

use super::request::Request;

/// How many characters of a raw piece (a method, a header name, a request line) the words quote.
const QUOTED: usize = 40;
/// How many characters of a path (with its query) are kept.
const TARGET: usize = 200;

/// The request as far as known from the bytes read, marked malformed with why. `served`: the
/// connection handed requests to the mock since these bytes began (the broken one came
/// pipelined after them, and its start is not known).
pub fn request(raw: &[u8], served: usize, error: &hyper::Error) -> Request {
    let mut method = String::new();
    let mut target = String::new();
    let why = if served > 0 {
        format!("a request pipelined after another: {}", hyper_words(error))
    } else {
        let (m, t, found) = diagnose(raw);
        (method, target) = (m, t);
        found.unwrap_or_else(|| {
            if error.is_incomplete_message() {
                "the client closed the connection before the request's head was whole".to_owned()
            } else if error.is_parse_too_large() {
                "its head is larger than the mock reads (hyper's limit)".to_owned()
            } else {
                hyper_words(error)
            }
        })
    };
    let (path, query) = target
        .split_once('?')
        .map_or((target.clone(), String::new()), |(p, q)| {
            (p.to_owned(), q.to_owned())
        });
    let mut r = Request::new(method, path, query, Vec::new(), Vec::new(), false);
    r.malformed = Some(why);
    r
}

fn hyper_words(error: &hyper::Error) -> String {
    format!(
        "hyper could not parse it ({})",
        crate::text::error_chain(error)
    )
}

/// The method and target when the request line is sound (else empty), and the first thing
/// wrong with the head, if one is found.
fn diagnose(raw: &[u8]) -> (String, String, Option<String>) {
    let mut lines = raw.split(|&b| b == b'\n');
    let first = lines.next().unwrap_or_default();
    let whole_line = raw.contains(&b'\n');
    let first = first.strip_suffix(b"\r").unwrap_or(first);
    let parts: Vec<&[u8]> = first.split(|&b| b == b' ').collect();
    let method = parts[0];
    if method.is_empty() || !method.iter().all(|&b| tchar(b)) {
        return (
            String::new(),
            String::new(),
            Some(format!(
                "its request line does not start with a method: `{}`",
                quoted(first)
            )),
        );
    }
    let method = String::from_utf8_lossy(method).into_owned();
    let Some(target) = parts.get(1).filter(|t| !t.is_empty()) else {
        let why =
            whole_line.then(|| format!("its request line has no target: `{}`", quoted(first)));
        return (method, String::new(), why);
    };
    if let Some(b) = target.iter().find(|&&b| b <= b' ' || b >= 0x7f) {
        return (
            method,
            String::new(),
            Some(format!(
                "its target has {} (0x{b:02X})",
                if *b < 0x80 {
                    "a control character"
                } else {
                    "a byte that is not ASCII"
                }
            )),
        );
    }
    let shown = crate::text::shown(&String::from_utf8_lossy(target))
        .chars()
        .take(TARGET)
        .collect();
    if !whole_line {
        return (method, shown, None);
    }
    match parts.get(2..) {
        Some([v]) if matches!(*v, b"HTTP/1.1" | b"HTTP/1.0") => {}
        Some([b"HTTP/2.0"]) => {
            return (
                method,
                shown,
                Some("it is HTTP/2 (prior knowledge); a mock speaks HTTP/1.1".to_owned()),
            );
        }
        _ => {
            return (
                method,
                shown,
                Some(format!(
                    "its request line does not end in HTTP/1.1: `{}`",
                    quoted(first)
                )),
            );
        }
    }
    // Whole lines only: the last piece of a head cut short is no line yet.
    let whole = raw.split(|&b| b == b'\n').count() - 1;
    for (n, line) in lines.take(whole.saturating_sub(1)).enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            break;
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            return (
                method,
                shown,
                Some(format!("its header line {} has no `:`", n + 1)),
            );
        };
        let name = &line[..colon];
        if name.is_empty() || !name.iter().all(|&b| tchar(b)) {
            return (
                method,
                shown,
                Some(format!("its header name `{}` is not a token", quoted(name))),
            );
        }
        let name = String::from_utf8_lossy(name).to_ascii_lowercase();
        if let Some(b) = line[colon + 1..]
            .iter()
            .find(|&&b| (b < b' ' && b != b'\t') || b == 0x7f)
        {
            return (
                method,
                shown,
                Some(format!(
                    "its header `{name}` has a control character (0x{b:02X}) in its value"
                )),
            );
        }
    }
    (method, shown, None)
}

/// A character of a token (RFC 9110: a method, a header name).
fn tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// A raw piece as the words may quote it: escaped, one line, cut.
fn quoted(raw: &[u8]) -> String {
    let text = crate::text::shown(&String::from_utf8_lossy(raw)).replace('`', "'");
    if text.chars().count() > QUOTED {
        format!("{}…", text.chars().take(QUOTED).collect::<String>())
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::diagnose;

    #[track_caller]
    fn check(raw: &str, method: &str, target: &str, why: Option<&str>) {
        let (m, t, w) = diagnose(raw.as_bytes());
        assert_eq!(
            (m.as_str(), t.as_str(), w.as_deref()),
            (method, target, why)
        );
    }

    #[test]
    fn what_is_wrong_with_a_head_in_words() {
        check(
            "POST /hook HTTP/1.1\r\nHost: a\r\nX-Bad: a\x1bb\r\n\r\n",
            "POST",
            "/hook",
            Some("its header `x-bad` has a control character (0x1B) in its value"),
        );
        check(
            "GET /a?b=1 HTTP/1.1\r\nX Y: 1\r\n\r\n",
            "GET",
            "/a?b=1",
            Some("its header name `X Y` is not a token"),
        );
        check(
            "GET /a HTTP/1.1\r\nnocolon\r\n\r\n",
            "GET",
            "/a",
            Some("its header line 1 has no `:`"),
        );
        check(
            "\x16\x03\x01\x02\x00\x01\x00",
            "",
            "",
            Some(
                "its request line does not start with a method: `\\u{16}\\u{3}\\u{1}\\u{2}\\u{0}\\u{1}\\u{0}`",
            ),
        );
        check(
            "GET /a\x1b[31m HTTP/1.1\r\n\r\n",
            "GET",
            "",
            Some("its target has a control character (0x1B)"),
        );
        check(
            "GET /a HTTP/9\r\n\r\n",
            "GET",
            "/a",
            Some("its request line does not end in HTTP/1.1: `GET /a HTTP/9`"),
        );
        check(
            "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
            "PRI",
            "*",
            Some("it is HTTP/2 (prior knowledge); a mock speaks HTTP/1.1"),
        );
        // A head cut short: what is known, and nothing found wrong (the caller says why).
        check("POST /hook HTT", "POST", "/hook", None);
        check("POST /hook HTTP/1.1\r\nHos", "POST", "/hook", None);
        // A sound head: nothing found (hyper's own words then).
        check(
            "GET /a HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            "GET",
            "/a",
            None,
        );
        // Header values are never quoted; a name is quoted escaped, inside the words' line.
        let (_, _, w) = diagnose(b"GET /a HTTP/1.1\r\n##[error]x\x07: y\r\n\r\n");
        assert_eq!(
            w.as_deref(),
            Some("its header name `##[error]x\\u{7}` is not a token")
        );
    }
}
