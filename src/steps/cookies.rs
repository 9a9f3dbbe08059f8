//! A gate's cookie jar: what `Set-Cookie` headers stored (from any response of the gate's
//! `http` steps, redirect hops included), sent back on the gate's later requests that match
//! each cookie's domain, path, `Secure` and expiry (RFC 6265, by the `cookie_store` crate). It
//! lives in the gate context, so it starts empty with every gate and never outlives it; the
//! run's HTTP client, shared by all gates, holds none. A leaf, so the gate context can own one.

use cookie_store::{CookieStore, RawCookie};

#[derive(Default)]
pub struct CookieJar {
    store: CookieStore,
}

impl std::fmt::Debug for CookieJar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the values: they are credentials.
        write!(
            f,
            "CookieJar({} cookies)",
            self.store.iter_unexpired().count()
        )
    }
}

impl CookieJar {
    /// The `Cookie` header for a request to `url`: every stored cookie that matches it, longer
    /// paths first (RFC 6265 5.4), then by name, so that the header is the same every run.
    pub fn header_for(&self, url: &url::Url) -> Option<String> {
        let mut cookies = self.store.matches(url);
        cookies.sort_by(|a, b| {
            let len = |c: &&cookie_store::Cookie| c.path().map_or(0, str::len);
            len(b).cmp(&len(a)).then_with(|| a.name().cmp(b.name()))
        });
        let pairs: Vec<String> = cookies
            .iter()
            .map(|c| format!("{}={}", c.name(), c.value()))
            .collect();
        (!pairs.is_empty()).then(|| pairs.join("; "))
    }

    /// Stores the `Set-Cookie` values of a response from `url`. A cookie the rules refuse
    /// (a `Domain` the host is not in, `Secure` from plain http) is dropped, as a browser
    /// drops it; so is one whose `Domain` is a single label other than the host itself
    /// (`Domain=com`): gaterun has no public-suffix list, and such a cookie would go to every
    /// site under that label.
    pub fn store<'a>(&mut self, set_cookies: impl Iterator<Item = &'a str>, url: &url::Url) {
        let host = url.host_str().unwrap_or("").to_ascii_lowercase();
        for text in set_cookies {
            let Ok(cookie) = RawCookie::parse(text) else {
                continue;
            };
            if let Some(domain) = cookie.domain() {
                let domain = domain.trim_start_matches('.').to_ascii_lowercase();
                if !domain.contains('.') && domain != host {
                    continue;
                }
            }
            let _ = self.store.insert_raw(&cookie, url);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> url::Url {
        url::Url::parse(s).expect("url")
    }

    #[test]
    fn a_cookie_goes_back_only_where_it_matches() {
        let mut jar = CookieJar::default();
        let from = url("http://app.example.test/login");
        jar.store(
            [
                "session=s1; Path=/",
                "scoped=p1; Path=/admin",
                "wide=w1; Domain=example.test; Path=/",
                "tld=t1; Domain=test; Path=/",
                "safe=x1; Path=/; Secure",
                "gone=g1; Path=/; Max-Age=0",
            ]
            .into_iter(),
            &from,
        );
        let sent = |u: &str| jar.header_for(&url(u)).unwrap_or_default();
        assert_eq!(sent("http://app.example.test/x"), "session=s1; wide=w1");
        assert_eq!(
            sent("http://app.example.test/admin/users"),
            "scoped=p1; session=s1; wide=w1"
        );
        assert!(sent("https://app.example.test/").contains("safe=x1"));
        // Near misses: a sibling host gets only the Domain cookie; another site and a path
        // that merely starts with the same letters get nothing of the others.
        assert_eq!(sent("http://api.example.test/"), "wide=w1");
        assert_eq!(sent("http://example.org/"), "");
        assert_eq!(sent("http://other.test/"), "");
        assert!(!sent("http://app.example.test/administrator").contains("scoped"));
    }

    #[test]
    fn the_debug_form_shows_no_value() {
        let mut jar = CookieJar::default();
        jar.store(["k=secret-value"].into_iter(), &url("http://h.test/"));
        assert_eq!(format!("{jar:?}"), "CookieJar(1 cookies)");
    }
}
