//! One mock's server: the accept loop (a task; each connection a task of a `JoinSet` it owns,
//! so ending the loop ends every connection), and each request read, matched against the
//! routes in order, answered from the route's sequence, recorded, and written to the gate log
//! (credential headers redacted; masked and sanitized with the rest of the log).

use std::fmt::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinSet;

use super::journal::Journal;
use super::judge::judge;
use super::malformed;
use super::request::{BODY_CAP, Request};
use super::tap::{self, Tap};
use super::target::Resolved;
use super::template::Source;
use crate::config::{MockBody, MockResponse, RequestMatch};
use crate::expect::value::{Bindings, Typed};
use crate::steps::http::credentials::parts;
use crate::steps::http::redact::{LOG_BODY_CAP, capped, redact_header};
use crate::steps::log::GateLog;
use crate::steps::outcome::Failure;
use crate::vars::Vars;

/// What a running mock shares with its connections and with `received` steps.
pub struct Shared {
    pub name: String,
    pub routes: Vec<LiveRoute>,
    pub unmatched: MockResponse,
    /// The gate's variables when the mock started: what its matchers' `${VAR}` read.
    pub vars: Vars,
    pub typed: Typed,
    pub journal: Journal,
    pub log: GateLog,
    /// When it started: the log gives each request's arrival from here (the gaps between
    /// retries show whether they waited, as `Retry-After` asked).
    pub started: std::time::Instant,
}

pub struct LiveRoute {
    pub target: Resolved,
    pub matchers: RequestMatch,
    pub respond: Vec<MockResponse>,
    /// How many requests this route took: which response of the sequence is next.
    pub taken: AtomicUsize,
    pub line: u64,
}

impl Shared {
    pub fn bindings(&self) -> Bindings<'_> {
        Bindings {
            text: &self.vars,
            typed: &self.typed,
        }
    }
}

/// The accept loop; it runs until its task is aborted.
pub async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    let shared = shared.clone();
                    connections.spawn(async move {
                        let (stream, seen) = Tap::new(stream);
                        let (to_service, to_record) = (shared.clone(), seen.clone());
                        let service = service_fn(move |req| {
                            tap::lock(&seen).served += 1;
                            answer(to_service.clone(), req)
                        });
                        let served = http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                        if let Err(e) = served {
                            unreadable(&shared, &to_record, &e);
                        }
                    });
                }
                // Out of descriptors, or a connection reset before it was taken: try again.
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(5)).await,
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// A connection that ended in an error hyper met reading a request (not the service's own
/// `drop`, nor a connection reset while answering): the request it could not read is recorded
/// as malformed and logged, with the answer hyper gave it.
fn unreadable(shared: &Shared, seen: &tap::Shared, e: &hyper::Error) {
    let seen = tap::lock(seen);
    let cut = e.is_incomplete_message() && seen.served == 0 && !seen.read.is_empty();
    if !(e.is_parse() || cut) {
        return;
    }
    let request = Arc::new(malformed::request(&seen.read, seen.served, e));
    let status = seen.status();
    drop(seen);
    let seq = shared.journal.record(request.clone(), None, status);
    let answered = status.map_or("no answer".to_owned(), |s| format!("answered {s}"));
    let at = shared.started.elapsed().as_millis();
    shared.log.line(&format!(
        "── mock {} #{seq} at +{}.{:03}s: {} → malformed, {answered}: {}",
        shared.name,
        at / 1000,
        at % 1000,
        request.line(),
        request.malformed.as_deref().unwrap_or_default()
    ));
}

/// `drop: true`: the service fails, and hyper closes the connection without an answer.
#[derive(Debug)]
struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by the mock")
    }
}

impl std::error::Error for Dropped {}

async fn answer(
    shared: Arc<Shared>,
    req: hyper::Request<Incoming>,
) -> Result<hyper::Response<Full<Bytes>>, Dropped> {
    let request = Arc::new(read(req).await);
    let b = shared.bindings();
    if !request.readable() {
        // No request: the client is gone or its body broke its framing; nothing answers it,
        // and no route takes it.
        let seq = shared.journal.record(request.clone(), None, None);
        let at = shared.started.elapsed().as_millis();
        let what = match &request.malformed {
            Some(why) => format!("malformed, no answer: {why}"),
            None => format!("incomplete: {}", request.closed_early()),
        };
        shared.log.line(&format!(
            "── mock {} #{seq} at +{}.{:03}s: {} → {what}",
            shared.name,
            at / 1000,
            at % 1000,
            request.line(),
        ));
        return Err(Dropped);
    }
    let mut notes = Vec::new();
    let chosen = shared.routes.iter().enumerate().find(|(_, r)| {
        r.target.matches(&request.method, &request.path)
            && match judge(&r.matchers, &request, b) {
                Ok(()) => true,
                Err(Failure::Check(_)) => false,
                Err(e) => {
                    notes.push(format!("route at line {}: {}", r.line, e.message()));
                    false
                }
            }
    });
    let (route, response, groups) = match chosen {
        Some((i, r)) => {
            let n = r.taken.fetch_add(1, Ordering::Relaxed);
            let response = &r.respond[n.min(r.respond.len().saturating_sub(1))];
            (Some(i), response, r.target.groups(&request.path))
        }
        None => (None, &shared.unmatched, Vec::new()),
    };
    let status = (!response.drop).then_some(response.status);
    let seq = shared.journal.record(request.clone(), route, status);
    let source = Source {
        request: &request,
        groups: &groups,
        bindings: b,
    };
    let (head, body) = build(response, &source, &mut notes);
    log(
        &shared, seq, &request, route, response, &head, &body, &notes,
    );
    if let Some(delay) = response.delay {
        tokio::time::sleep(delay).await;
    }
    if response.drop {
        return Err(Dropped);
    }
    let mut out = hyper::Response::new(Full::new(Bytes::from(body)));
    *out.status_mut() =
        hyper::StatusCode::from_u16(response.status).unwrap_or(hyper::StatusCode::OK);
    for (name, value) in head {
        if let (Ok(n), Ok(v)) = (
            hyper::header::HeaderName::from_bytes(name.as_bytes()),
            hyper::header::HeaderValue::from_str(&value),
        ) {
            out.headers_mut().append(n, v);
        }
    }
    Ok(out)
}

/// The request, its body kept up to [`BODY_CAP`] (the rest read and dropped).
async fn read(req: hyper::Request<Incoming>) -> Request {
    let (parts, mut body) = req.into_parts();
    let mut kept = Vec::new();
    let mut cut = false;
    let mut seen: u64 = 0;
    let mut incomplete = None;
    let mut malformed = None;
    while let Some(frame) = body.frame().await {
        let frame = match frame {
            Ok(frame) => frame,
            // A body that breaks its own framing (a chunk size that is no number); not one
            // the client stopped sending.
            Err(e) if !ended_early(&e) => {
                malformed = Some(format!(
                    "its body is malformed ({})",
                    crate::text::error_chain(&e)
                ));
                cut = true;
                break;
            }
            Err(_) => {
                // The client went away mid-body: what was read is not the body.
                let announced = parts
                    .headers
                    .get(hyper::header::CONTENT_LENGTH)
                    .and_then(|v| v.to_str().ok()?.trim().parse().ok());
                incomplete = Some((seen, announced));
                cut = true;
                break;
            }
        };
        if let Ok(data) = frame.into_data() {
            seen += data.len() as u64;
            let room = BODY_CAP.saturating_sub(kept.len());
            kept.extend_from_slice(&data[..data.len().min(room)]);
            cut |= data.len() > room;
        }
    }
    let headers = parts
        .headers
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let mut request = Request::new(
        parts.method.as_str().to_owned(),
        parts.uri.path().to_owned(),
        parts.uri.query().unwrap_or_default().to_owned(),
        headers,
        kept,
        cut,
    );
    request.incomplete = incomplete;
    request.malformed = malformed;
    request
}

/// The client closed the connection before the body was whole (hyper says so as an
/// incomplete message, or as an unexpected end of file under a body error).
fn ended_early(e: &hyper::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if s.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::UnexpectedEof)
        {
            return true;
        }
        source = s.source();
    }
    e.is_incomplete_message()
}

/// The response's headers and body, templates filled in. A header whose value a request
/// made invalid (a line break) is left out, with a note.
fn build(
    response: &MockResponse,
    source: &Source,
    notes: &mut Vec<String>,
) -> (Vec<(String, String)>, Vec<u8>) {
    let mut head: Vec<(String, String)> = Vec::new();
    for (name, value) in &response.headers {
        let value = source.text(value);
        if hyper::header::HeaderValue::from_str(&value).is_err() {
            notes.push(format!(
                "header {name} left out: its value is not a valid header value"
            ));
            continue;
        }
        head.push((name.clone(), value));
    }
    let has =
        |head: &[(String, String)], n: &str| head.iter().any(|(k, _)| k.eq_ignore_ascii_case(n));
    let body = match &response.body {
        MockBody::Empty => Vec::new(),
        MockBody::Text(t) => source.text(t).into_bytes(),
        MockBody::Json(v) => {
            if !has(&head, "content-type") {
                head.push(("content-type".to_owned(), "application/json".to_owned()));
            }
            serde_json::to_vec(&source.json(v)).unwrap_or_default()
        }
    };
    (head, body)
}

/// One exchange in the gate log, in one piece (requests arrive concurrently).
#[allow(clippy::too_many_arguments)]
fn log(
    shared: &Shared,
    seq: usize,
    request: &Request,
    route: Option<usize>,
    response: &MockResponse,
    head: &[(String, String)],
    body: &[u8],
    notes: &[String],
) {
    let taken = match route {
        Some(i) => format!("route {} (line {})", i + 1, shared.routes[i].line),
        None => "no route: unexpected".to_owned(),
    };
    let n = &shared.name;
    let at = shared.started.elapsed().as_millis();
    let mut text = format!(
        "── mock {n} #{seq} at +{}.{:03}s: {} → {taken}\n",
        at / 1000,
        at % 1000,
        request.line()
    );
    for (name, value) in &request.headers {
        let _ = writeln!(text, "{n}> {name}: {}", redact_header(name, value));
    }
    if !request.body.is_empty() {
        let _ = writeln!(text, "{n}>\n{}", capped(&request.text(), LOG_BODY_CAP));
        if request.cut {
            let _ = writeln!(text, "{n}> [body cut at {} MiB]", BODY_CAP >> 20);
        }
    }
    for note in notes {
        let _ = writeln!(text, "[{note}]");
    }
    if let Some(d) = response.delay {
        let _ = writeln!(text, "{n}< [after {}]", humantime::format_duration(d));
    }
    // A response may echo a credential the request's log line redacted: redact it there too.
    let hidden = credentials(request);
    let hide = |t: &str| {
        hidden
            .iter()
            .fold(t.to_owned(), |t, c| t.replace(c.as_str(), "[redacted]"))
    };
    if response.drop {
        let _ = writeln!(text, "{n}< [connection dropped, no answer]");
    } else {
        let _ = writeln!(text, "{n}< {}", response.status);
        for (name, value) in head {
            let _ = writeln!(text, "{n}< {name}: {}", hide(&redact_header(name, value)));
        }
        if !body.is_empty() {
            let _ = writeln!(
                text,
                "{n}<\n{}",
                capped(&hide(&String::from_utf8_lossy(body)), LOG_BODY_CAP)
            );
        }
    }
    shared.log.line(text.trim_end());
}

/// The secret parts of the request's credential headers (`steps::http::credentials`), the
/// longest first.
fn credentials(request: &Request) -> Vec<String> {
    let mut out: Vec<String> = request
        .headers
        .iter()
        .flat_map(|(name, value)| parts(name, value))
        .collect();
    out.sort_by_key(|c| std::cmp::Reverse(c.len()));
    out.dedup();
    out
}
