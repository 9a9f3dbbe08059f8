//! Parsing and selecting a body for `expect.xpath` and `expect.css` is synchronous work whose
//! cost a hostile body chooses (html5ever's adoption agency, an element with thousands of
//! attributes). It runs on a thread of its own, not on the runtime's workers (which it would
//! block, so that no deadline or interrupt is noticed) nor in `spawn_blocking` (whose tasks the
//! runtime's shutdown waits for). The step awaits its result against its deadline and the
//! gate's interrupt; when either comes first the thread is abandoned, and the process's exit
//! ends it.

use std::time::Instant;

use tokio::sync::{oneshot, watch};

use crate::steps::outcome::{Deadline, Failure, cancelled};

/// Enough for sxd-xpath's recursive walk of a body nested [`super::nesting::MAX_DEPTH`] deep.
const STACK: usize = 16 << 20;

/// `work`'s result, unless the deadline or an interrupt comes first.
pub(super) async fn off_thread<T: Send + 'static>(
    deadline: &Deadline,
    mut cancel: watch::Receiver<bool>,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Failure> {
    let (tx, rx) = oneshot::channel();
    std::thread::Builder::new()
        .name("gaterun-select".to_owned())
        .stack_size(STACK)
        .spawn(move || {
            let _ = tx.send(work());
        })
        .map_err(|e| Failure::Error(format!("could not start a thread to parse the body: {e}")))?;
    let got = tokio::select! {
        biased;
        () = cancelled(&mut cancel) => return Err(Failure::Interrupted),
        () = tokio::time::sleep_until(deadline.at.into()) => None,
        got = rx => Some(got),
    };
    // A result that comes as the deadline passes is still late.
    match got {
        Some(Ok(value)) if Instant::now() < deadline.at => Ok(value),
        Some(Err(_)) => Err(Failure::Error(
            "internal error: parsing the body failed".to_owned(),
        )),
        _ => Err(Failure::Timeout(deadline.message.clone())),
    }
}

#[cfg(test)]
mod offload_tests {
    use std::time::{Duration, Instant};

    use super::off_thread;
    use crate::steps::outcome::{Deadline, Failure};

    fn deadline(ms: u64) -> Deadline {
        Deadline {
            at: Instant::now() + Duration::from_millis(ms),
            message: "step timed out".to_owned(),
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn slow_work_is_abandoned_at_the_deadline_and_on_interrupt() {
        let (_tx, rx) = tokio::sync::watch::channel(false);
        let started = Instant::now();
        let got = off_thread(&deadline(200), rx.clone(), || {
            std::thread::sleep(Duration::from_secs(30));
        })
        .await;
        assert!(matches!(got, Err(Failure::Timeout(m)) if m == "step timed out"));
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!(off_thread(&deadline(5000), rx, || 7).await.ok(), Some(7));
        let (tx, rx) = tokio::sync::watch::channel(false);
        let long = deadline(30_000);
        let work = off_thread(&long, rx, || {
            std::thread::sleep(Duration::from_secs(30));
        });
        let _ = tx.send(true);
        assert!(matches!(work.await, Err(Failure::Interrupted)));
        let (_tx, rx) = tokio::sync::watch::channel(false);
        let late = off_thread(&deadline(0), rx, || 1).await;
        assert!(matches!(late, Err(Failure::Timeout(_))));
    }
}
