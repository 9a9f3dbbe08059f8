//! A byte buffer with a cap: keeps the head and the tail, counts what was cut in between, so
//! memory never grows with what a process prints.

use std::collections::VecDeque;

#[derive(Debug)]
pub struct CappedBuffer {
    head_cap: usize,
    tail_cap: usize,
    head: Vec<u8>,
    tail: VecDeque<u8>,
    cut: u64,
}

impl CappedBuffer {
    /// Keeps at most `cap` bytes: half from the start, half from the end.
    pub fn new(cap: usize) -> Self {
        CappedBuffer {
            head_cap: cap / 2,
            tail_cap: cap - cap / 2,
            head: Vec::new(),
            tail: VecDeque::new(),
            cut: 0,
        }
    }

    pub fn push(&mut self, mut data: &[u8]) {
        if self.head.len() < self.head_cap {
            let n = data.len().min(self.head_cap - self.head.len());
            self.head.extend_from_slice(&data[..n]);
            data = &data[n..];
        }
        if data.is_empty() {
            return;
        }
        if data.len() >= self.tail_cap {
            self.cut += (self.tail.len() + data.len() - self.tail_cap) as u64;
            self.tail.clear();
            self.tail.extend(&data[data.len() - self.tail_cap..]);
            return;
        }
        let overflow = (self.tail.len() + data.len()).saturating_sub(self.tail_cap);
        if overflow > 0 {
            self.tail.drain(..overflow);
            self.cut += overflow as u64;
        }
        self.tail.extend(data);
    }

    pub fn cut_bytes(&self) -> u64 {
        self.cut
    }

    pub fn len(&self) -> usize {
        self.head.len() + self.tail.len()
    }

    pub fn ends_with_newline(&self) -> bool {
        match self.tail.back() {
            Some(b) => *b == b'\n',
            None => self.head.last() == Some(&b'\n'),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The kept bytes as text, the cut marked on a line of its own.
    pub fn to_text(&self) -> String {
        self.to_text_masked(&[])
    }

    /// [`to_text`](Self::to_text) with every secret replaced by `***`: whole occurrences
    /// anywhere, and, where the cap cut the output, the piece of a secret the cut left at the
    /// end of the head or the start of the tail.
    pub fn to_text_masked(&self, secrets: &[String]) -> String {
        // Masked after the control characters and ANSI escapes are gone, as every writer
        // shows the text: a secret split by `\x1b[0m` or a NUL must not reappear whole.
        let masker = crate::mask::Masker::new(secrets);
        let clean = |b: &[u8]| crate::text::sanitize(&String::from_utf8_lossy(b)).into_bytes();
        let (head, tail) = self.parts();
        let Some(tail) = tail else {
            return String::from_utf8_lossy(&masker.mask(&clean(&head), false, false)).into_owned();
        };
        let head = masker.mask(&clean(&head), false, true);
        let tail = masker.mask(&clean(&tail), true, false);
        let mut out = String::from_utf8_lossy(&head).into_owned();
        if !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(&format!(
            "[... gaterun cut {} bytes of output here ...]\n",
            self.cut
        ));
        out.push_str(&String::from_utf8_lossy(&tail));
        out
    }

    /// The kept bytes: all of them, or the head and the tail when the middle was cut.
    fn parts(&self) -> (Vec<u8>, Option<Vec<u8>>) {
        let (a, b) = self.tail.as_slices();
        let mut tail = Vec::with_capacity(a.len() + b.len());
        tail.extend_from_slice(a);
        tail.extend_from_slice(b);
        if self.cut == 0 {
            let mut all = self.head.clone();
            all.extend_from_slice(&tail);
            return (all, None);
        }
        (self.head.clone(), Some(tail))
    }

    /// What was kept as text, without a marker: the whole output, or its head and its tail
    /// when the cap cut the middle (so a check never reads the marker as output, nor a match
    /// across the cut).
    pub fn segments(&self) -> (String, Option<String>) {
        let (head, tail) = self.parts();
        (
            String::from_utf8_lossy(&head).into_owned(),
            tail.map(|t| String::from_utf8_lossy(&t).into_owned()),
        )
    }

    /// The last `n` lines of what was kept.
    pub fn tail_lines(&self, n: usize) -> String {
        let text = self.to_text();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }
}

/// Replace each secret in `data` by `***` (see [`crate::mask`]); with `cut_before` /
/// `cut_after`, also a secret's tail at the very start / head at the very end (what a cut left
/// of it).
pub fn mask_bytes(data: &[u8], secrets: &[String], cut_before: bool, cut_after: bool) -> Vec<u8> {
    crate::mask::Masker::new(secrets).mask(data, cut_before, cut_after)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_everything_under_the_cap() {
        let mut b = CappedBuffer::new(10);
        b.push(b"abc");
        b.push(b"de");
        assert_eq!(b.to_text(), "abcde");
        assert_eq!(b.cut_bytes(), 0);
    }

    #[test]
    fn keeps_head_and_tail_and_marks_the_cut() {
        let mut b = CappedBuffer::new(8);
        for chunk in [&b"0123"[..], b"4567", b"89ab", b"cdef"] {
            b.push(chunk);
        }
        assert_eq!(b.len(), 8);
        assert_eq!(b.cut_bytes(), 8);
        assert_eq!(
            b.to_text(),
            "0123\n[... gaterun cut 8 bytes of output here ...]\ncdef"
        );
    }

    #[test]
    fn one_huge_write() {
        let mut b = CappedBuffer::new(4);
        b.push(&[b'x'; 1000]);
        b.push(b"yz");
        assert_eq!(b.cut_bytes(), 998);
        assert!(b.to_text().starts_with("xx\n[... gaterun cut 998 bytes"));
        assert!(b.to_text().ends_with("\nyz"));
        assert_eq!(b.len(), 4);
    }
}
