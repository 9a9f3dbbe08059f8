//! A request a mock was sent, as recorded: method, path and query as sent, headers (names in
//! lower case), and the body up to a cap. Read by the routes' judges, the templates and the
//! `received` step alike.

use std::borrow::Cow;
use std::sync::OnceLock;

/// How much of a request body is kept; the rest is read and dropped.
pub const BODY_CAP: usize = 4 << 20;

#[derive(Debug)]
pub struct Request {
    pub method: String,
    /// The path as sent, percent-encoding kept, without the query.
    pub path: String,
    /// The query as sent, without `?`; empty when none.
    pub query: String,
    /// In the order sent; names in lower case, values read as UTF-8 (lossy).
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The body was not kept whole: longer than [`BODY_CAP`], past the journal's cap, or
    /// never finished.
    pub cut: bool,
    /// The client closed the connection before the body was whole: how many bytes came, and
    /// how many its `Content-Length` announced (`None`: chunked). Such a request is no request:
    /// no route takes it, and `received` counts it only as unexpected.
    pub incomplete: Option<(u64, Option<u64>)>,
    /// Headers past the journal's share were left out (their checks fail, never pass on a part).
    pub headers_cut: bool,
    /// The mock could not read it (`malformed`): why, in words. Its method and path are what
    /// was known of them (empty: not known); no route takes it, and `received` never passes
    /// over it.
    pub malformed: Option<String>,
    json: OnceLock<Result<serde_json::Value, String>>,
}

impl Request {
    pub fn new(
        method: String,
        path: String,
        query: String,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
        cut: bool,
    ) -> Request {
        Request {
            method,
            path,
            query,
            headers,
            body,
            cut,
            incomplete: None,
            headers_cut: false,
            malformed: None,
            json: OnceLock::new(),
        }
    }

    /// The bytes of its headers (names and values).
    pub fn header_bytes(&self) -> usize {
        self.headers.iter().map(|(n, v)| n.len() + v.len()).sum()
    }

    /// The same request as the journal keeps it: its headers up to `header_room` bytes (the
    /// rest left out, marked cut), its body only if `keep_body` (else marked cut).
    pub fn trimmed(&self, header_room: usize, keep_body: bool) -> Request {
        let mut room = header_room;
        let mut headers = Vec::new();
        for (n, v) in &self.headers {
            let size = n.len() + v.len();
            if size > room {
                break;
            }
            room -= size;
            headers.push((n.clone(), v.clone()));
        }
        let mut out = Request::new(
            self.method.clone(),
            self.path.clone(),
            self.query.clone(),
            Vec::new(),
            if keep_body {
                self.body.clone()
            } else {
                Vec::new()
            },
            self.cut || (!keep_body && !self.body.is_empty()),
        );
        out.headers_cut = self.headers_cut || headers.len() < self.headers.len();
        out.headers = headers;
        out.incomplete = self.incomplete;
        out.malformed = self.malformed.clone();
        out
    }

    /// Why its body cannot be judged: it was not kept whole.
    pub fn not_whole(&self) -> Option<String> {
        match self.incomplete {
            Some(_) => Some(self.closed_early()),
            None if self.cut => Some(format!(
                "over {} MiB, or past the mock's record of 64 MiB",
                BODY_CAP >> 20
            )),
            None => None,
        }
    }

    /// `the client closed the connection after 6 of 12 bytes` (of an incomplete request).
    pub fn closed_early(&self) -> String {
        match self.incomplete {
            Some((got, Some(of))) => {
                format!("the client closed the connection after {got} of {of} bytes")
            }
            Some((got, None)) => {
                format!("the client closed the connection after {got} bytes of a chunked body")
            }
            None => String::new(),
        }
    }

    /// Every value of header `name` (lower case).
    pub fn header_values(&self, name: &str) -> Vec<String> {
        self.headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// Every value of query parameter `name`, decoded.
    pub fn query_values(&self, name: &str) -> Vec<String> {
        url::form_urlencoded::parse(self.query.as_bytes())
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.into_owned())
            .collect()
    }

    pub fn text(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.body)
    }

    /// The body as JSON (parsed once), as the `http` step reads a response's.
    pub fn json(&self) -> Result<&serde_json::Value, String> {
        self.json
            .get_or_init(|| {
                if let Some(why) = self.not_whole() {
                    return Err(format!("the body was not kept whole: {why}"));
                }
                crate::steps::http::json::parse_json(&self.body)
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// A request a route could take: neither abandoned nor malformed.
    pub fn readable(&self) -> bool {
        self.incomplete.is_none() && self.malformed.is_none()
    }

    /// `POST /x?y=1`, for the log and messages (of a malformed one, what is known).
    pub fn line(&self) -> String {
        if self.method.is_empty() {
            "an unreadable request".to_owned()
        } else if self.path.is_empty() {
            format!("{} (target unreadable)", self.method)
        } else if self.query.is_empty() {
            format!("{} {}", self.method, self.path)
        } else {
            format!("{} {}?{}", self.method, self.path, self.query)
        }
    }
}
