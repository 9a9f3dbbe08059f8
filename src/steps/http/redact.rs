//! What the gate log may show of a request or response: credential headers without their
//! value, URLs without their password, bodies capped.

/// How much of a body the log shows.
pub(crate) const LOG_BODY_CAP: usize = 64 * 1024;

pub(crate) fn capped(text: &str, cap: usize) -> String {
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
pub(crate) const CREDENTIAL_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-api-key",
    "api-key",
];

/// Authorization schemes the log names (IANA's registry and common ones): only a word from
/// this list is shown before `[redacted]`, so a credential with no scheme (`k3yp4rt=rest`) or
/// an API key shows nothing of itself.
const SCHEMES: &[&str] = &[
    "basic",
    "bearer",
    "digest",
    "dpop",
    "gnap",
    "hoba",
    "mutual",
    "negotiate",
    "ntlm",
    "privatetoken",
    "scram-sha-1",
    "scram-sha-256",
    "token",
    "vapid",
    "aws4-hmac-sha256",
    "hmac",
    "apikey",
];

/// An `Authorization` value's known scheme and the credentials after it; `None` when its
/// first word is no scheme of [`SCHEMES`] (the whole value is then the credential).
pub(crate) fn scheme(value: &str) -> Option<(&str, &str)> {
    let (k, rest) = value.trim().split_once([' ', '\t'])?;
    SCHEMES
        .contains(&k.to_ascii_lowercase().as_str())
        .then(|| (k, rest.trim()))
}

pub(crate) fn redact_header(name: &str, value: &str) -> String {
    let name = name.to_ascii_lowercase();
    if !CREDENTIAL_HEADERS.contains(&name.as_str()) {
        return redact_userinfo(value);
    }
    // The scheme (`Bearer`) or the cookie's name help a reader; the rest is the secret.
    let keep = match name.as_str() {
        "authorization" | "proxy-authorization" => scheme(value).map(|(k, _)| k),
        "cookie" | "set-cookie" => value
            .split_once('=')
            .map(|(k, _)| k.trim())
            .filter(|k| k.len() <= 32 && !k.contains([' ', ';'])),
        _ => None,
    }
    .unwrap_or("");
    format!("{keep}{}[redacted]", if keep.is_empty() { "" } else { " " })
}

#[cfg(test)]
mod tests {
    use super::redact_header;

    #[test]
    fn only_a_scheme_or_a_cookie_name_is_shown() {
        assert_eq!(
            redact_header("Authorization", "Bearer abc.def"),
            "Bearer [redacted]"
        );
        assert_eq!(
            redact_header("authorization", "k3yp4rt=rest0fit"),
            "[redacted]"
        );
        assert_eq!(
            redact_header("Authorization", "s3cr3tpart rest"),
            "[redacted]"
        );
        assert_eq!(redact_header("X-Api-Key", "Ab1/+=xy"), "[redacted]");
        assert_eq!(redact_header("api-key", "s3cr tval"), "[redacted]");
        assert_eq!(
            redact_header("Cookie", "sid=abc123; lang=en"),
            "sid [redacted]"
        );
        assert_eq!(redact_header("Accept", "text/html"), "text/html");
    }
}

/// A text with the password of every URL in it replaced (`Location: http://ana:***@h/`,
/// `Link: <ftp://u:***@h/x>`): a header value may carry a URL anywhere in it.
pub(super) fn redact_userinfo(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (head, tail) = rest.split_at(at + 3);
        out.push_str(head);
        let end = tail
            .find(|c: char| matches!(c, '/' | '?' | '#' | '<' | '>' | '"') || c.is_whitespace())
            .unwrap_or(tail.len());
        let authority = &tail[..end];
        match authority
            .rfind('@')
            .and_then(|a| Some((authority[..a].split_once(':')?.0, &authority[a..])))
        {
            Some((user, host)) => {
                out.push_str(user);
                out.push_str(":***");
                out.push_str(host);
            }
            None => out.push_str(authority),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
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
        assert_eq!(
            redact_header("Location", "http://ana:Pass77@h:5/x?u=a:b@c"),
            "http://ana:***@h:5/x?u=a:b@c"
        );
        assert_eq!(
            redact_header("link", "<https://u:p;w@h/a>; rel=next, <http://h/b>"),
            "<https://u:***@h/a>; rel=next, <http://h/b>"
        );
        // Near misses: no password, or an `@` past the authority, stay as they are.
        for same in ["http://ana@h/x", "http://h/a@b:c", "mailto:a:b@c", "x://"] {
            assert_eq!(redact_header("location", same), same);
        }
    }
}
