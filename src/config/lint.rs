//! Lint warnings on a valid plan: what the method calls weak gates (a lone word as a substring,
//! a bare test-suite run), and phases whose stages skip numbers.

use std::collections::BTreeMap;

use super::diagnostic::Diagnostic;
use super::model::{Gate, Stage, Step, StepKind};

/// Warnings: what the method calls weak gates, and stages that skip numbers.
pub fn lints(stages: &[Stage]) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut by_phase: BTreeMap<u32, Vec<&Stage>> = BTreeMap::new();
    for s in stages {
        by_phase.entry(s.phase).or_default().push(s);
    }
    for (phase, list) in &by_phase {
        let numbers: std::collections::BTreeSet<u32> = list.iter().map(|s| s.key.number).collect();
        if let (Some(lo), Some(hi)) = (numbers.first(), numbers.last()) {
            for missing in (*lo..*hi).filter(|n| !numbers.contains(n)) {
                let next = list
                    .iter()
                    .find(|s| s.key.number > missing)
                    .expect("hi is above missing");
                out.push(Diagnostic::warning(
                    &next.file,
                    0,
                    0,
                    format!("phase {phase} has no stage {missing}: stages build linearly, one after another"),
                ));
            }
        }
    }
    for s in stages {
        // A matrix gate's combinations share its steps: warned about once.
        let mut seen = std::collections::BTreeSet::new();
        for g in s.gates.iter().filter(|g| seen.insert(&g.base_id)) {
            for step in &g.steps {
                if let Some((what, word)) = lone_word(step) {
                    out.push(
                        Diagnostic::warning(
                            &s.file,
                            step.line,
                            1,
                            format!("`{what}: {word}` passes on any {what} that contains `{word}` (`not {word}` too): write `{what}: {{ equals: {word} }}` for the whole {what}"),
                        )
                        .with_label("a plain pattern is a substring"),
                    );
                }
            }
            for step in &g.steps {
                if let StepKind::Http(h) = &step.kind
                    && h.sign.as_ref().is_some_and(|s| !s.key.contains("${"))
                {
                    out.push(Diagnostic::warning(
                        &s.file,
                        step.line,
                        1,
                        "`sign.hmac_sha256` is written in the file: take the key from `secrets:` (`${NAME}`) so it stays out of the repository",
                    ));
                }
            }
            if let Some(cmd) = bare_test_suite(g) {
                out.push(
                    Diagnostic::warning(
                        &s.file,
                        g.line,
                        g.column,
                        format!("gate `{}` only runs `{cmd}` with nothing named: which tests? Name them, or check their output", g.base_id),
                    )
                    .with_label("\"Tests pass (which tests?)\" is not an acceptance gate"),
                );
            }
        }
    }
    out
}

/// A text check that is one short word as a substring (`body: ok`): most likely meant as the
/// whole text, and a near miss (`not ok`, `unhealthy`) would pass it. A response body of one
/// word is a status; a command's output is often longer, so there only status words count.
fn lone_word(step: &Step) -> Option<(&'static str, &str)> {
    const STATUS_WORDS: &[&str] = &[
        "ok", "OK", "true", "false", "yes", "no", "up", "healthy", "ready", "pong", "PONG", "done",
        "pass", "passed", "success",
    ];
    let (what, patterns, any_word) = match &step.kind {
        StepKind::Run { expect, .. } => ("stdout", &expect.stdout, false),
        StepKind::Http(h) => ("body", &h.expect.body, true),
        _ => return None,
    };
    let [p] = patterns.as_slice() else {
        return None;
    };
    let word = p.source.as_str();
    let lone = !p.whole
        && (1..=12).contains(&word.len())
        && word.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && (any_word || STATUS_WORDS.contains(&word));
    lone.then_some((what, word))
}

/// The command, if every step of the gate is a bare test-suite run with no output checks.
fn bare_test_suite(g: &Gate) -> Option<String> {
    const BARE: &[&str] = &[
        "cargo test",
        "cargo nextest run",
        "npm test",
        "npm run test",
        "yarn test",
        "pnpm test",
        "pytest",
        "python -m pytest",
        "python3 -m pytest",
        "go test ./...",
        "make test",
        "make check",
        "mvn test",
        "gradle test",
        "./gradlew test",
        "bundle exec rspec",
        "rspec",
        "mix test",
    ];
    let mut found = None;
    for step in &g.steps {
        let StepKind::Run { command, expect } = &step.kind else {
            return None;
        };
        let text = command.display();
        let normal = text.split_whitespace().collect::<Vec<_>>().join(" ");
        if !BARE.contains(&normal.as_str())
            || !expect.stdout.is_empty()
            || !expect.stderr.is_empty()
        {
            return None;
        }
        found = Some(normal);
    }
    found
}
