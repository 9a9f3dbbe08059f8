//! The page's small charts, inline SVG with no script and no external reference: a gate's pass
//! rate over its latest stage runs (a sparkline: one point per run, red where a run did not
//! pass every time) and a stage's duration over its latest full runs (a trend line).

use std::fmt::Write;

const W: f64 = 120.0;
const H: f64 = 24.0;
const PAD: f64 = 3.0;

/// x of point `i` of `n`, spread over the width (one point in the middle).
fn x(i: usize, n: usize) -> f64 {
    if n <= 1 {
        W / 2.0
    } else {
        PAD + (W - 2.0 * PAD) * i as f64 / (n - 1) as f64
    }
}

/// y of a value in 0..=1 (1 at the top).
fn y(v: f64) -> f64 {
    PAD + (H - 2.0 * PAD) * (1.0 - v.clamp(0.0, 1.0))
}

fn open(class: &str, title: &str) -> String {
    format!(
        "<svg class=\"{class}\" role=\"img\" viewBox=\"0 0 {W} {H}\" width=\"{W}\" height=\"{H}\" xmlns=\"http://www.w3.org/2000/svg\"><title>{}</title>",
        super::escape::text(title)
    )
}

/// A gate's pass rate per stage run, oldest first: `(passes, runs)` of each.
pub fn sparkline(points: &[(u32, u32)]) -> String {
    let (passes, runs) = points.iter().fold((0u64, 0u64), |(p, r), &(a, b)| {
        (p + u64::from(a), r + u64::from(b))
    });
    let mut o = open(
        "spark",
        &format!(
            "{passes} of {runs} runs passed over the last {} stage runs, oldest first",
            points.len()
        ),
    );
    let n = points.len();
    let coords: Vec<(f64, f64, bool)> = points
        .iter()
        .enumerate()
        .map(|(i, &(p, r))| {
            let rate = if r == 0 {
                0.0
            } else {
                f64::from(p) / f64::from(r)
            };
            (x(i, n), y(rate), p == r && r > 0)
        })
        .collect();
    if n > 1 {
        let line: Vec<String> = coords
            .iter()
            .map(|(a, b, _)| format!("{a:.1},{b:.1}"))
            .collect();
        let _ = write!(
            o,
            "<polyline class=\"line\" points=\"{}\"/>",
            line.join(" ")
        );
    }
    for (a, b, ok) in coords {
        let _ = write!(
            o,
            "<circle class=\"{}\" cx=\"{a:.1}\" cy=\"{b:.1}\" r=\"2\"/>",
            if ok { "ok" } else { "bad" }
        );
    }
    o.push_str("</svg>");
    o
}

/// A stage's duration per full run, oldest first, scaled to the longest.
pub fn trend(durations_ms: &[u64]) -> String {
    let max = durations_ms.iter().copied().max().unwrap_or(0).max(1);
    let min = durations_ms.iter().copied().min().unwrap_or(0);
    let show = |ms: u64| crate::text::human_duration(std::time::Duration::from_millis(ms));
    let mut o = open(
        "trend",
        &format!(
            "duration of the last {} full runs, oldest first: {} to {}",
            durations_ms.len(),
            show(min),
            show(max)
        ),
    );
    let n = durations_ms.len();
    let line: Vec<String> = durations_ms
        .iter()
        .enumerate()
        .map(|(i, &d)| format!("{:.1},{:.1}", x(i, n), y(d as f64 / max as f64)))
        .collect();
    if n > 1 {
        let _ = write!(
            o,
            "<polyline class=\"line\" points=\"{}\"/>",
            line.join(" ")
        );
    }
    if let Some(last) = line.last() {
        let (a, b) = last.split_once(',').unwrap_or(("0", "0"));
        let _ = write!(o, "<circle class=\"last\" cx=\"{a}\" cy=\"{b}\" r=\"2\"/>");
    }
    o.push_str("</svg>");
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sparkline_marks_the_runs_that_did_not_all_pass() {
        let s = sparkline(&[(1, 1), (0, 1), (2, 3)]);
        assert!(s.starts_with("<svg class=\"spark\""), "{s}");
        assert_eq!(s.matches("class=\"bad\"").count(), 2, "{s}");
        assert_eq!(s.matches("class=\"ok\"").count(), 1, "{s}");
        assert!(s.contains("3 of 5 runs passed"), "{s}");
        assert!(!sparkline(&[(1, 1)]).contains("polyline"));
        assert!(trend(&[10, 20, 0]).contains("<polyline"));
        assert!(trend(&[]).ends_with("</svg>"));
    }
}
