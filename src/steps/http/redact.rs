//! What the gate log may show of a request or response: credential headers without their
//! value, URLs without their password, bodies capped.

/// How much of a body the log shows.
pub(super) const LOG_BODY_CAP: usize = 64 * 1024;

pub(super) fn capped(text: &str, cap: usize) -> String {
    if text.len() <= cap {
        return text.to_owned();
    }
    let mut end = cap;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}\n[... {} more bytes]", &text[..end], text.len() - end)
}

/// Headers that carry credentials: their values never reach the log.
pub(super) const CREDENTIAL_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-api-key",
    "api-key",
];

pub(super) fn redact_header(name: &str, value: &str) -> String {
    if CREDENTIAL_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
        // The scheme (`Bearer`) or the cookie's name help a reader; the rest is the secret.
        let keep = value
            .split_once([' ', '='])
            .map(|(k, _)| k)
            .filter(|k| k.len() <= 32)
            .unwrap_or("");
        format!("{keep}{}[redacted]", if keep.is_empty() { "" } else { " " })
    } else {
        value.to_owned()
    }
}

/// An error text with the request's URL (also as the client percent-encodes it) redacted.
pub(super) fn redact_urls_in(text: &str, url: &str, shown: &str) -> String {
    if url == shown {
        return text.to_owned();
    }
    let mut out = text.replace(url, shown);
    if let Ok(parsed) = reqwest::Url::parse(url) {
        out = out.replace(parsed.as_str(), shown);
        if let Some(p) = parsed.password() {
            out = out.replace(p, "***");
        }
    }
    out
}

#[cfg(test)]
mod redaction_tests {
    use super::*;
    use crate::text::redact_url;

    #[test]
    fn credentials_never_reach_the_log() {
        assert_eq!(
            redact_url("http://ana:pa%40ss@127.0.0.1:5/x?y=1"),
            "http://ana:***@127.0.0.1:5/x?y=1"
        );
        assert_eq!(redact_url("postgresql://u@h/db"), "postgresql://u@h/db");
        assert_eq!(redact_url("http://h/a@b"), "http://h/a@b");
        assert_eq!(
            redact_header("Authorization", "Bearer abc.def"),
            "Bearer [redacted]"
        );
        assert_eq!(redact_header("cookie", "sid=s3cret; x=y"), "sid [redacted]");
        assert_eq!(redact_header("X-Api-Key", "k3y"), "[redacted]");
        assert_eq!(redact_header("accept", "text/plain"), "text/plain");
    }
}
