//! What a mock was sent, in arrival order: each request, the route that took it (none: it
//! was unexpected) and the status it got. `received` steps read a snapshot.

use std::sync::{Arc, Mutex};

use super::request::Request;

#[derive(Debug, Clone)]
pub struct Exchange {
    /// 1 for the mock's first request.
    pub seq: usize,
    pub request: Arc<Request>,
    /// The index of the route that answered; `None`: no route matched (unexpected).
    pub route: Option<usize>,
    /// `None`: the connection was dropped.
    pub status: Option<u16>,
    /// When it arrived (read and matched).
    pub at: std::time::Instant,
}

/// How many bytes of requests (bodies and headers) a mock keeps in all: past it, a request is
/// recorded without its body and headers, marked cut (its `json`, `body` and `headers` checks
/// fail, never pass on a part).
const BODIES_CAP: usize = 64 << 20;

/// How many bytes of one request's headers are kept; the rest are left out, marked cut.
const HEADERS_CAP: usize = 64 << 10;

#[derive(Debug, Default)]
pub struct Journal(Mutex<(Vec<Exchange>, usize)>);

impl Journal {
    /// Record a request; its sequence number.
    pub fn record(
        &self,
        request: Arc<Request>,
        route: Option<usize>,
        status: Option<u16>,
    ) -> usize {
        let mut guard = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let (list, kept) = &mut *guard;
        let headers = request.header_bytes().min(HEADERS_CAP);
        let request = if *kept + headers + request.body.len() > BODIES_CAP {
            Arc::new(request.trimmed(0, false))
        } else {
            *kept += headers + request.body.len();
            if headers < request.header_bytes() {
                Arc::new(request.trimmed(HEADERS_CAP, true))
            } else {
                request
            }
        };
        let seq = list.len() + 1;
        list.push(Exchange {
            seq,
            request,
            route,
            status,
            at: std::time::Instant::now(),
        });
        seq
    }

    pub fn snapshot(&self) -> Vec<Exchange> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).0.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Headers count toward the record's cap, and one request keeps 64 KiB of them at most:
    /// 1,100 requests with 100 KB of headers each keep about 64 MiB, not 110 MB.
    #[test]
    fn headers_count_toward_the_cap_and_are_kept_to_64_kib_each() {
        let journal = Journal::default();
        let headers: Vec<(String, String)> = (0..10)
            .map(|i| (format!("x-{i}"), "h".repeat(10_000)))
            .collect();
        for _ in 0..1100 {
            let r = Request::new(
                "GET".into(),
                "/".into(),
                String::new(),
                headers.clone(),
                Vec::new(),
                false,
            );
            journal.record(Arc::new(r), None, Some(200));
        }
        let list = journal.snapshot();
        let kept: usize = list.iter().map(|e| e.request.header_bytes()).sum();
        assert!(kept <= BODIES_CAP, "{kept}");
        assert!(list[0].request.headers_cut && list[0].request.headers.len() == 6);
        assert!(list[1099].request.headers_cut && list[1099].request.headers.is_empty());
    }
}
