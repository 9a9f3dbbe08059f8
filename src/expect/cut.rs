//! A regex on a part of a text that a cap cut (the head of a body, the head and tail of a
//! command's output): a match holds only if it holds whatever the cut removed. `$` must not
//! match at the end of a kept head, nor `^` at the start of a kept tail, nor a greedy match
//! stop at the cut (a capture would be a truncated value).
//!
//! The part is searched twice, with a word character and then a space beyond its cut edge
//! (neither ends a line, so `$` and `^` do not match there; together they stand for any
//! character the cut removed, as far as `\b` can tell). A match must hold in both and not
//! reach into the character added.

use std::ops::Range;

use regex::Regex;

/// Which edge of a part the cut is at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edge {
    /// A kept head: the text went on after it.
    End,
    /// A kept tail: the text began before it.
    Start,
}

const STAND_INS: [&str; 2] = ["a", " "];

/// The groups (the whole match first) of the first match of `re` in `part` that holds
/// whatever was cut at `edge`, as ranges of `part`.
pub fn captures(re: &Regex, part: &str, edge: Edge) -> Option<Vec<Option<Range<usize>>>> {
    let mut first = None;
    for stand_in in STAND_INS {
        let (hay, from) = match edge {
            Edge::End => (format!("{part}{stand_in}"), 0),
            Edge::Start => (format!("{stand_in}{part}"), stand_in.len()),
        };
        let caps = re.captures_at(&hay, from)?;
        if caps.get(0)?.end() > from + part.len() {
            return None;
        }
        let ranges = caps
            .iter()
            .map(|g| g.map(|g| g.start() - from..g.end() - from))
            .collect();
        first.get_or_insert(ranges);
    }
    first
}

#[cfg(test)]
mod cut_tests {
    use super::{Edge, captures};

    fn holds(re: &str, part: &str, edge: Edge) -> bool {
        captures(&regex::Regex::new(re).expect("regex"), part, edge).is_some()
    }

    #[test]
    fn anchors_do_not_match_at_the_cut() {
        let head = "status: AAAA";
        assert!(!holds("^status: A+$", head, Edge::End));
        assert!(!holds(r"(?m)A$", head, Edge::End));
        assert!(!holds(r"A\z", head, Edge::End));
        assert!(!holds(r"AAAA\b", head, Edge::End));
        assert!(holds("^status: A+", head, Edge::End));
        assert!(holds("^status", head, Edge::End));
        assert!(holds(r"(?m)^x$", "x\nstatus", Edge::End));
        let tail = "AAAA done";
        assert!(!holds("^A+ done", tail, Edge::Start));
        assert!(!holds(r"\bAAAA", tail, Edge::Start));
        assert!(!holds(r"(?m)^A", tail, Edge::Start));
        assert!(holds("A+ done$", tail, Edge::Start));
        assert!(holds("done$", tail, Edge::Start));
        // A value running into the cut would be a truncated capture.
        let re = regex::Regex::new(r"token=(\w+)").expect("regex");
        assert_eq!(captures(&re, "x token=abc", Edge::End), None);
        let got = captures(&re, "token=abc; x", Edge::End).expect("a match");
        assert_eq!(got[1], Some(6..9));
    }
}
