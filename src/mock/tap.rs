//! What a mock's connection read and wrote since its last answer, for a request hyper could
//! not parse: hyper answers it (400, 414, 431) and ends the connection with an error, but
//! says nothing of the request. The tap keeps the bytes read since the last answer (the
//! request that broke, capped) and the head of the last answer written after them (the status
//! hyper answered), so the request can still be recorded as malformed (`malformed`).

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// How much of a request's bytes the tap keeps: its request line and headers to diagnose.
const READ_CAP: usize = 16 << 10;
/// How much of an answer it keeps: its status line.
const WRITE_CAP: usize = 64;

#[derive(Default)]
pub struct Seen {
    /// What was read since the last answer began, up to [`READ_CAP`].
    pub read: Vec<u8>,
    /// The head of the last answer written after it.
    wrote: Vec<u8>,
    /// Requests the service was handed since `read` began: the bytes are theirs, or a pipelined
    /// request's after them.
    pub served: usize,
    writing: bool,
}

impl Seen {
    /// An answer's head is written in one piece: the last one written is the one that
    /// counts (of pipelined requests, the answer to the last).
    fn wrote(&mut self, data: &[u8]) {
        self.writing = true;
        if data.starts_with(b"HTTP/1.") {
            self.wrote = data[..data.len().min(WRITE_CAP)].to_vec();
        }
    }

    /// The status of the last answer written since the bytes read, if any (`HTTP/1.1 400 …`).
    pub fn status(&self) -> Option<u16> {
        let code = self.wrote.get(9..12)?;
        std::str::from_utf8(code).ok()?.parse().ok()
    }
}

pub type Shared = Arc<Mutex<Seen>>;

pub fn lock(seen: &Shared) -> std::sync::MutexGuard<'_, Seen> {
    seen.lock().unwrap_or_else(|e| e.into_inner())
}

/// A stream that tells [`Seen`] what passes through it.
pub struct Tap<S> {
    inner: S,
    seen: Shared,
}

impl<S> Tap<S> {
    pub fn new(inner: S) -> (Tap<S>, Shared) {
        let seen = Shared::default();
        (
            Tap {
                inner,
                seen: seen.clone(),
            },
            seen,
        )
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Tap<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        let new = &buf.filled()[before..];
        if !new.is_empty() {
            let mut seen = lock(&self.seen);
            // The first bytes after an answer begin the next request.
            if seen.writing {
                seen.read.clear();
                seen.wrote.clear();
                seen.served = 0;
                seen.writing = false;
            }
            let room = READ_CAP.saturating_sub(seen.read.len());
            seen.read.extend_from_slice(&new[..new.len().min(room)]);
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Tap<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, data);
        if let Poll::Ready(Ok(n)) = polled {
            lock(&self.seen).wrote(&data[..n]);
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(n)) = polled {
            let first = bufs
                .iter()
                .find(|b| !b.is_empty())
                .map_or(&[][..], |b| &b[..]);
            lock(&self.seen).wrote(&first[..n.min(first.len())]);
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
