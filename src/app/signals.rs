//! Signals: one listener counts SIGINT, SIGTERM and SIGHUP for the whole run; the first stops
//! the gates gracefully, the second kills at once.

use tokio::sync::watch;

use crate::process;

/// How many SIGINT, SIGTERM and SIGHUP gaterun got, counted by one listener from its first
/// call (before a run seeks the evidence lock) to the end. One for the whole run: a tokio signal stream
/// sees only what comes after it is made, so a signal between the lock and the start of the
/// gates (the sweep of dead runs, which can take seconds) was swallowed and the run went on.
pub(super) fn signals() -> watch::Receiver<usize> {
    static COUNT: std::sync::OnceLock<watch::Receiver<usize>> = std::sync::OnceLock::new();
    COUNT
        .get_or_init(|| {
            use tokio::signal::unix::{SignalKind, signal};
            let (tx, rx) = watch::channel(0);
            // SIGHUP too: a closed terminal or a CI runner's cancel must stop the gates and
            // write the evidence, not kill gaterun with its processes left running.
            if let (Ok(mut int), Ok(mut term), Ok(mut hup)) = (
                signal(SignalKind::interrupt()),
                signal(SignalKind::terminate()),
                signal(SignalKind::hangup()),
            ) {
                tokio::spawn(async move {
                    loop {
                        tokio::select! {
                            Some(()) = int.recv() => {}
                            Some(()) = term.recv() => {}
                            Some(()) = hup.recv() => {}
                            else => return,
                        }
                        tx.send_modify(|n| *n += 1);
                    }
                });
            }
            rx
        })
        .clone()
}

/// First SIGINT/SIGTERM/SIGHUP (also one that came before the gates started): stop the gates
/// gracefully (the reporter, watching `cancel`, clears the bar and says so). Second: SIGKILL
/// at once.
pub(super) async fn watch_signals(cancel: watch::Sender<bool>) {
    let mut count = signals();
    let mut seen = 0;
    loop {
        let now = *count.borrow_and_update();
        if seen == 0 && now >= 1 {
            let _ = cancel.send(true);
        }
        if now >= 2 {
            process::force_kill();
        }
        seen = now;
        if count.changed().await.is_err() {
            return;
        }
    }
}
