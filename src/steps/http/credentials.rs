//! The credentials a gate sends are secrets of that gate. The log shows a credential header
//! as `Bearer [redacted]` (`redact`), but a server may send the value back (an echo, a debug
//! field, a header): nobody declared it, so it would reach the gate log, its messages and every
//! report in clear. Each credential an `http` step sends is added to the gate's secrets when
//! it is sent, and masked with them (every form and every piece of 8, `crate::mask`) in
//! everything the gate leaves; the checks still see the real values.
//!
//! What is secret in a value: the credentials after the scheme of `Authorization` and
//! `Proxy-Authorization` (and, for `Basic`, the decoded `user:password` and the password),
//! each cookie's value, the whole value of `X-Api-Key` and `Api-Key`, and the password of the
//! URL's userinfo (sent as `Basic`). A part shorter than [`crate::mask::SHORTEST`] is left.
//! A mock's log hides what a request's credential headers carry by the same rule, so this
//! is a leaf: `request` adds the parts to the gate's secrets.

use super::redact::CREDENTIAL_HEADERS;
use crate::mask::SHORTEST;

/// The secret parts of a header's value (none for a header that is no credential), the
/// longest first.
pub(crate) fn parts(name: &str, value: &str) -> Vec<String> {
    let name = name.to_ascii_lowercase();
    if !CREDENTIAL_HEADERS.contains(&name.as_str()) {
        return Vec::new();
    }
    let value = value.trim();
    let mut out: Vec<String> = Vec::new();
    match name.as_str() {
        // A first word that is no known scheme is part of the credential (the log hides it
        // whole by the same rule, `redact::scheme`).
        "authorization" | "proxy-authorization" => match super::redact::scheme(value) {
            Some((scheme, rest)) => {
                out.push(rest.to_owned());
                if scheme.eq_ignore_ascii_case("basic") {
                    out.extend(basic(rest));
                }
            }
            None => out.push(value.to_owned()),
        },
        "cookie" | "set-cookie" => {
            // `Set-Cookie`: the first pair is the cookie, the rest its attributes.
            let pairs = if name == "cookie" {
                value.split(';').collect()
            } else {
                value.split(';').take(1).collect::<Vec<_>>()
            };
            for pair in pairs {
                let v = pair.split_once('=').map_or(pair, |(_, v)| v).trim();
                out.push(v.trim_matches('"').to_owned());
            }
        }
        _ => out.push(value.to_owned()),
    }
    tidy(out)
}

/// The decoded `user:password` of `Basic` credentials, and the password alone.
fn basic(encoded: &str) -> Vec<String> {
    let Some(pair) = crate::text::decode_base64(encoded)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
    else {
        return Vec::new();
    };
    let password = pair.split_once(':').map(|(_, p)| p.to_owned());
    std::iter::once(pair).chain(password).collect()
}

/// The password of a URL's userinfo (reqwest sends it as `Basic`), decoded and as written,
/// with the `user:password` pair the header carries.
pub(super) fn of_url(url: &str) -> Vec<String> {
    // Most URLs have no userinfo: no parse for them (this runs on every request).
    if !url.contains('@') {
        return Vec::new();
    }
    let Ok(parsed) = reqwest::Url::parse(url) else {
        return Vec::new();
    };
    let Some(password) = parsed.password() else {
        return Vec::new();
    };
    let decode = crate::text::percent_decode;
    let (user, plain) = (decode(parsed.username()), decode(password));
    tidy(vec![password.to_owned(), format!("{user}:{plain}"), plain])
}

fn tidy(mut out: Vec<String>) -> Vec<String> {
    out.retain(|p| p.chars().count() >= SHORTEST);
    out.sort_by_key(|p| std::cmp::Reverse(p.len()));
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secret_parts_of_what_a_gate_sends() {
        assert_eq!(
            parts("Authorization", "Bearer Kq7Zp3Wm9Rt5"),
            ["Kq7Zp3Wm9Rt5"]
        );
        // `ana:Pass7` in base64: the credentials, the pair and the password.
        assert_eq!(
            parts("authorization", "Basic YW5hOlBhc3M3"),
            ["YW5hOlBhc3M3", "ana:Pass7", "Pass7"]
        );
        assert_eq!(parts("Proxy-Authorization", "tok3n-alone"), ["tok3n-alone"]);
        // A first word that is no scheme is part of the credential, as the log hides it.
        assert_eq!(
            parts("Authorization", "k3yp4rt rest0fit"),
            ["k3yp4rt rest0fit"]
        );
        assert_eq!(
            parts("Cookie", "sid=Sess1on99; lang=en; csrf=\"Zz9yy8xx\""),
            ["Sess1on99", "Zz9yy8xx"]
        );
        assert_eq!(parts("set-cookie", "sid=Sess1on99; Path=/"), ["Sess1on99"]);
        assert_eq!(parts("X-Api-Key", " k3y-value "), ["k3y-value"]);
        // Near misses: no credential header, or a part too short to mask.
        assert!(parts("X-Request-Id", "Kq7Zp3Wm9Rt5").is_empty());
        assert!(parts("Authorization", "Bearer abc").is_empty());
        assert!(parts("cookie", "a=1; b=22").is_empty());
        assert_eq!(
            of_url("http://ana:pa%40ss@127.0.0.1:5/x"),
            ["ana:pa@ss", "pa%40ss", "pa@ss"]
        );
        assert!(of_url("http://ana@127.0.0.1:5/x").is_empty());
    }
}
