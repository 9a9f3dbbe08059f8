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

/// How many bytes of request bodies a mock keeps in all: past it, a request is recorded
/// without its body, marked cut (its `json` and `body` checks fail, never pass on a part).
const BODIES_CAP: usize = 64 << 20;

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
        let request = if *kept + request.body.len() > BODIES_CAP {
            Arc::new(request.without_body())
        } else {
            *kept += request.body.len();
            request
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
