//! The DevTools protocol over Chromium's `--remote-debugging-pipe`: JSON messages separated
//! by NUL bytes, gaterun writing to the browser's fd 3 and reading its fd 4. No port is
//! opened, so no other process (another run's browser, a page) can ever answer or listen.
//!
//! One reader task hands each reply to the call waiting for its `id`, and each event of a page
//! session to that session's channel; when the browser goes, every waiting call fails at once.

use std::collections::HashMap;
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};

/// The largest message read (a screenshot is a few MiB of base64); a longer one is skipped.
const MESSAGE_CAP: usize = 64 << 20;

/// An event of a page session: its method and parameters.
pub struct Event {
    pub method: String,
    pub params: Value,
}

type Reply = Result<Value, String>;

#[derive(Default)]
struct Routes {
    pending: HashMap<u64, oneshot::Sender<Reply>>,
    sessions: HashMap<String, mpsc::UnboundedSender<Event>>,
    /// Why the connection is gone, once it is.
    closed: Option<String>,
}

pub struct Conn {
    next: AtomicU64,
    routes: Arc<Mutex<Routes>>,
    out: mpsc::UnboundedSender<Vec<u8>>,
}

fn lock(routes: &Mutex<Routes>) -> MutexGuard<'_, Routes> {
    routes.lock().unwrap_or_else(|e| e.into_inner())
}

impl Conn {
    /// Speak over the two pipe ends (the one the browser reads, the one it writes).
    pub fn new(to_browser: OwnedFd, from_browser: OwnedFd) -> std::io::Result<Conn> {
        let mut writer = tokio::net::unix::pipe::Sender::from_owned_fd(to_browser)?;
        let reader = tokio::net::unix::pipe::Receiver::from_owned_fd(from_browser)?;
        let routes: Arc<Mutex<Routes>> = Default::default();
        let (out, mut queue) = mpsc::unbounded_channel::<Vec<u8>>();
        tokio::spawn(async move {
            while let Some(msg) = queue.recv().await {
                if writer.write_all(&msg).await.is_err() {
                    return;
                }
            }
        });
        tokio::spawn(read_loop(reader, routes.clone()));
        Ok(Conn {
            next: AtomicU64::new(1),
            routes,
            out,
        })
    }

    /// One command; its result, or the browser's error message.
    pub async fn call(&self, method: &str, params: Value, session: Option<&str>) -> Reply {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let mut msg = json!({ "id": id, "method": method, "params": params });
        if let Some(s) = session {
            msg["sessionId"] = json!(s);
        }
        let (tx, rx) = oneshot::channel();
        {
            let mut routes = lock(&self.routes);
            if let Some(why) = &routes.closed {
                return Err(why.clone());
            }
            routes.pending.insert(id, tx);
        }
        let mut bytes = serde_json::to_vec(&msg).map_err(|e| e.to_string())?;
        bytes.push(0);
        if self.out.send(bytes).is_err() {
            lock(&self.routes).pending.remove(&id);
            return Err("the browser's connection is closed".to_owned());
        }
        // Dropped before the reply (a deadline): its entry goes when the reply comes.
        rx.await
            .unwrap_or_else(|_| Err("the browser's connection is closed".to_owned()))
    }

    /// The events of a page session, from now on.
    pub fn subscribe(&self, session: &str) -> mpsc::UnboundedReceiver<Event> {
        let (tx, rx) = mpsc::unbounded_channel();
        lock(&self.routes).sessions.insert(session.to_owned(), tx);
        rx
    }

    pub fn unsubscribe(&self, session: &str) {
        lock(&self.routes).sessions.remove(session);
    }

    /// Why the connection is gone, if it is.
    pub fn closed(&self) -> Option<String> {
        lock(&self.routes).closed.clone()
    }
}

async fn read_loop(mut reader: tokio::net::unix::pipe::Receiver, routes: Arc<Mutex<Routes>>) {
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = vec![0u8; 64 << 10];
    // A message over the cap (a page logging 100 MB) is skipped to its end, not kept: the
    // browser stays usable; a call whose reply it was runs into its deadline.
    let mut skipping = false;
    let why = loop {
        let n = match reader.read(&mut chunk).await {
            Ok(0) => break "the browser closed its connection".to_owned(),
            Ok(n) => n,
            Err(e) => break format!("reading from the browser failed: {e}"),
        };
        let mut new = &chunk[..n];
        if skipping {
            match new.iter().position(|&b| b == 0) {
                Some(i) => {
                    skipping = false;
                    new = &new[i + 1..];
                }
                None => continue,
            }
        }
        let start = buf.len();
        buf.extend_from_slice(new);
        let mut from = 0;
        let mut scan = start;
        while let Some(i) = buf[scan..].iter().position(|&b| b == 0) {
            let end = scan + i;
            dispatch(&buf[from..end], &routes);
            from = end + 1;
            scan = from;
        }
        buf.drain(..from);
        if buf.len() > MESSAGE_CAP {
            buf.clear();
            skipping = true;
        }
    };
    let mut r = lock(&routes);
    r.closed = Some(why.clone());
    for (_, tx) in r.pending.drain() {
        let _ = tx.send(Err(why.clone()));
    }
    r.sessions.clear();
}

fn dispatch(raw: &[u8], routes: &Mutex<Routes>) {
    let Ok(mut msg) = serde_json::from_slice::<Value>(raw) else {
        return;
    };
    if let Some(id) = msg.get("id").and_then(Value::as_u64) {
        let reply = match msg.get_mut("error") {
            Some(e) => Err(e
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("unknown error")
                .to_owned()),
            None => Ok(msg
                .get_mut("result")
                .map(Value::take)
                .unwrap_or(Value::Null)),
        };
        if let Some(tx) = lock(routes).pending.remove(&id) {
            let _ = tx.send(reply);
        }
        return;
    }
    let (Some(session), Some(method)) = (
        msg.get("sessionId")
            .and_then(Value::as_str)
            .map(str::to_owned),
        msg.get("method").and_then(Value::as_str).map(str::to_owned),
    ) else {
        return;
    };
    let event = Event {
        method,
        params: msg
            .get_mut("params")
            .map(Value::take)
            .unwrap_or(Value::Null),
    };
    if let Some(tx) = lock(routes).sessions.get(&session) {
        let _ = tx.send(event);
    }
}

#[cfg(test)]
mod tests {
    use std::os::fd::{FromRawFd, OwnedFd};

    use serde_json::json;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::unix::pipe;

    use super::{Conn, MESSAGE_CAP};

    /// (read end, write end)
    fn fifo() -> (OwnedFd, OwnedFd) {
        let mut fds = [0; 2];
        // SAFETY: a valid array of two fds, owned by the result.
        unsafe {
            assert_eq!(libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC), 0);
            (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1]))
        }
    }

    #[tokio::test]
    async fn a_reply_finds_its_call_past_an_oversize_message_and_a_closed_pipe_fails_calls() {
        let (browser_reads, to_browser) = fifo();
        let (from_browser, browser_writes) = fifo();
        let conn = Conn::new(to_browser, from_browser).expect("conn");
        let fake = tokio::spawn(async move {
            let mut input = pipe::Receiver::from_owned_fd(browser_reads).expect("receiver");
            let mut output = pipe::Sender::from_owned_fd(browser_writes).expect("sender");
            let mut got = Vec::new();
            while !got.contains(&0) {
                let mut b = [0u8; 4096];
                let n = input.read(&mut b).await.expect("read");
                got.extend_from_slice(&b[..n]);
            }
            let end = got.iter().position(|&b| b == 0).expect("NUL");
            let call: serde_json::Value = serde_json::from_slice(&got[..end]).expect("json");
            assert_eq!(call["method"], "Page.navigate");
            // A message too long to keep, then the reply: the reply still arrives.
            let mut junk = vec![b'x'; MESSAGE_CAP + 10];
            junk.push(0);
            output.write_all(&junk).await.expect("junk");
            let reply = json!({ "id": call["id"], "result": { "frameId": "F" } });
            let mut bytes = serde_json::to_vec(&reply).expect("reply");
            bytes.push(0);
            output.write_all(&bytes).await.expect("write");
            // Then the browser goes.
        });
        let reply = conn
            .call("Page.navigate", json!({ "url": "about:blank" }), Some("S"))
            .await;
        assert_eq!(reply.expect("reply")["frameId"], "F");
        fake.await.expect("fake browser");
        let failed = conn.call("Browser.getVersion", json!({}), None).await;
        assert_eq!(
            failed.expect_err("a closed pipe"),
            "the browser closed its connection"
        );
        assert!(conn.closed().is_some());
    }
}
