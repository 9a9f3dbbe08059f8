//! The gate log: one capped buffer that everything a gate's processes print and gaterun's own
//! `──` lines go into. Steps, services and the gate executor all write to it, so it is a leaf.

use std::sync::{Arc, Mutex, MutexGuard};

use crate::process::CappedBuffer;

#[derive(Clone)]
pub struct GateLog(Arc<Mutex<CappedBuffer>>);

impl GateLog {
    pub fn new(cap: usize) -> GateLog {
        GateLog(Arc::new(Mutex::new(CappedBuffer::new(cap))))
    }

    fn lock(&self) -> MutexGuard<'_, CappedBuffer> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// One line of gaterun's own, on a line of its own.
    pub fn line(&self, line: &str) {
        let mut log = self.lock();
        if !log.is_empty() && !log.ends_with_newline() {
            log.push(b"\n");
        }
        log.push(line.as_bytes());
        log.push(b"\n");
    }

    /// Bytes as a process printed them.
    pub fn push(&self, bytes: &[u8]) {
        self.lock().push(bytes);
    }

    /// Several pieces kept together (a prefixed line of a service).
    pub fn push_all(&self, pieces: &[&[u8]]) {
        let mut log = self.lock();
        for p in pieces {
            log.push(p);
        }
    }

    pub fn to_text_masked(&self, secrets: &[String]) -> String {
        self.lock().to_text_masked(secrets)
    }
}
