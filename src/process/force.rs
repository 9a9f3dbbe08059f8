//! The second interrupt: every grace period is cut, those being waited out included.
//!
//! Global because an interrupt is: it reaches the process, not a gate, and every gate's
//! teardown (and a service's `stop`) must see it at once, wherever it is waiting. Set only by
//! [`force_kill`]; read with [`is_forced`] or awaited with [`forced`].

use std::sync::atomic::{AtomicBool, Ordering};

/// Set by a second interrupt: stop waiting for grace periods, SIGKILL at once. Read it with
/// [`is_forced`].
static FORCE_KILL: AtomicBool = AtomicBool::new(false);

static FORCE_NEWS: tokio::sync::Notify = tokio::sync::Notify::const_new();

/// The second interrupt: every grace is cut, those being waited out included.
pub fn force_kill() {
    FORCE_KILL.store(true, Ordering::Relaxed);
    FORCE_NEWS.notify_waiters();
}

/// Whether [`force_kill`] was called.
pub fn is_forced() -> bool {
    FORCE_KILL.load(Ordering::Relaxed)
}

/// Resolves once [`force_kill`] was called (at once if it was already): a wait for a grace
/// period races this.
pub async fn forced() {
    loop {
        let news = FORCE_NEWS.notified();
        tokio::pin!(news);
        // Registered before the flag is read: a call in between is not missed.
        news.as_mut().enable();
        if FORCE_KILL.load(Ordering::Relaxed) {
            return;
        }
        news.await;
    }
}
