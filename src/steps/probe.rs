//! Reaching an address: the HTTP client a run shares, a TCP connect, and the short reasons
//! they fail with. A leaf, so that both the steps (`http`, `tcp`) and the services' readiness
//! probes use one implementation and neither imports the other.

use std::fmt::Write;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// The HTTP client shared by a run (its connection pool), built on first use. It follows no
/// redirect (the `http` step does, itself, so it can drop the gate's headers across origins),
/// sends no `Referer`, and never goes through a proxy: a CI proxy must not intercept requests
/// to localhost. It speaks HTTP/1 (HTTP/1.1, or 1.0 when a request asks); `client_h2` is its
/// HTTP/2 twin (prior knowledge: h2c on http://, h2 by ALPN on https://), for `version: "2"`.
///
/// A plain `http://` URL goes through a twin built without TLS roots (`plain`): loading the
/// system's roots is most of a client's cost, milliseconds a run of local checks need not pay.
/// It trusts no certificate, so an `https://` URL sent to it could only fail, never pass.
#[derive(Clone, Default)]
pub struct Http {
    client: Arc<OnceLock<Result<reqwest::Client, String>>>,
    plain: Arc<OnceLock<Result<reqwest::Client, String>>>,
    h2: Arc<OnceLock<Result<reqwest::Client, String>>>,
}

impl Http {
    /// The HTTP/1 client for `url`: the one without TLS roots for `http://`.
    pub fn client_for(&self, url: &str) -> Result<&reqwest::Client, String> {
        let plain = url
            .get(..7)
            .is_some_and(|s| s.eq_ignore_ascii_case("http://"));
        if plain {
            Self::built(&self.plain, |b| {
                b.http1_only().tls_certs_only(std::iter::empty())
            })
        } else {
            self.client()
        }
    }

    pub fn client(&self) -> Result<&reqwest::Client, String> {
        Self::built(&self.client, reqwest::ClientBuilder::http1_only)
    }

    pub fn client_h2(&self) -> Result<&reqwest::Client, String> {
        Self::built(&self.h2, reqwest::ClientBuilder::http2_prior_knowledge)
    }

    fn built(
        cell: &OnceLock<Result<reqwest::Client, String>>,
        version: fn(reqwest::ClientBuilder) -> reqwest::ClientBuilder,
    ) -> Result<&reqwest::Client, String> {
        let built = cell.get_or_init(|| {
            version(reqwest::Client::builder())
                .no_proxy()
                .redirect(reqwest::redirect::Policy::none())
                .referer(false)
                // No TCP keepalive or user timeout: steps have their own deadlines, and each
                // option is a system call on every connection (five of seven).
                .tcp_keepalive(None)
                .tcp_keepalive_interval(None)
                .tcp_keepalive_retries(None)
                .tcp_user_timeout(None)
                .user_agent(concat!("gaterun/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| format!("failed to build the HTTP client: {e}"))
        });
        built.as_ref().map_err(Clone::clone)
    }
}

/// `connection refused`, not `Connection refused (os error 111)`.
pub fn io_reason(e: &std::io::Error) -> String {
    let text = e.to_string();
    let text = text.split(" (os error").next().unwrap_or(&text);
    let mut chars = text.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => "an unknown error".to_owned(),
    }
}

/// A reqwest error as a short reason: `connection refused`, `timed out`.
pub fn short_error(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return "timed out".to_owned();
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            return io_reason(io);
        }
        source = s.source();
    }
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let _ = write!(text, ": {s}");
        source = s.source();
    }
    text
}

/// Whether `addr` accepted a TCP connection within `limit`.
pub enum Connect {
    Open,
    /// Refused, unreachable, unresolvable: the reason in [`io_reason`]'s words.
    Failed(String),
    TimedOut,
}

pub async fn tcp_connect(addr: &str, limit: Duration) -> Connect {
    match tokio::time::timeout(limit, tokio::net::TcpStream::connect(addr)).await {
        Ok(Ok(_)) => Connect::Open,
        Ok(Err(e)) => Connect::Failed(io_reason(&e)),
        Err(_) => Connect::TimedOut,
    }
}

/// A `GET` of `url` that must answer 2xx within `limit`; otherwise why not.
pub async fn http_get(http: &Http, url: &str, limit: Duration) -> Result<(), String> {
    let client = http.client_for(url)?;
    match client.get(url).timeout(limit).send().await {
        Ok(resp) if resp.status().is_success() => Ok(()),
        Ok(resp) => Err(format!("GET {url} answered {}", resp.status().as_u16())),
        Err(e) => Err(short_error(&e)),
    }
}

#[cfg(test)]
mod tests {
    use super::Http;

    #[test]
    fn only_plain_http_goes_through_the_client_without_tls_roots() {
        let http = Http::default();
        let full = http.client().expect("client") as *const reqwest::Client;
        let of = |url: &str| http.client_for(url).expect("client") as *const reqwest::Client;
        assert_eq!(of("https://127.0.0.1/x"), full);
        assert_eq!(of("HTTPS://example.org"), full);
        assert_eq!(of("httpx://h"), full);
        assert_ne!(of("http://127.0.0.1:8080/x"), full);
        assert_eq!(of("HTTP://127.0.0.1/"), of("http://127.0.0.1/"));
    }
}
