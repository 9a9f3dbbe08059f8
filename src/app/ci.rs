//! What a CI runner reads besides the evidence: stderr made inert under GitHub Actions (an
//! error may quote a crafted shard or file), config errors as annotations at their lines, and
//! the step's outputs.

use std::path::Path;

use crate::config;
use crate::exit;
use crate::reporter::github;
use crate::text;

/// Text for stderr: under GitHub Actions, every line made inert for the runner.
pub(super) fn for_runner(text: &str, github: bool) -> String {
    if !github {
        return text.to_owned();
    }
    text.split('\n')
        .map(github::inert)
        .collect::<Vec<_>>()
        .join("\n")
}

/// An error's lines, each made safe for a terminal: an error may quote a crafted shard or
/// evidence file (its own line breaks are kept, the quoted text's escaped).
pub(super) fn for_terminal(text: &str) -> String {
    text.split('\n')
        .map(text::shown)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Config errors as annotations at their lines, the file named from the repository's top as
/// in the evidence.
pub(super) fn annotate(diags: &[config::Diagnostic]) {
    use github::{escape_data, escape_property};
    let cwd = std::env::current_dir().unwrap_or_default();
    let prefix = config::repo_prefix(&config::find_root(&cwd).unwrap_or(cwd));
    for d in diags.iter().take(10) {
        out!(
            "::error file={},line={},col={},title=invalid gate file::{}",
            escape_property(&prefix.join(&d.file).display().to_string()),
            d.line.max(1),
            d.column.max(1),
            escape_data(&with_notes(d))
        );
    }
}

/// A diagnostic's message and where its notes are (a `use`'s template in gaterun.yaml): an
/// annotation has one location, so the others go into its text.
fn with_notes(d: &config::Diagnostic) -> String {
    let mut text = d.message.clone();
    for n in &d.notes {
        text.push_str(&format!(
            " (note: {}:{}: {})",
            n.file.display(),
            n.line,
            n.message
        ));
    }
    text
}

/// The step's outputs: the result, and the evidence files when this run wrote them.
pub(super) fn outputs(code: i32, dir: &Path) {
    let existing = |name: &str| Some(dir.join(name)).filter(|p| p.is_file());
    let ran = matches!(code, exit::PASSED | exit::FAILED | exit::INTERRUPTED);
    let (junit, summary, attestation) = if ran {
        (
            existing("junit.xml"),
            existing("summary.md"),
            existing(crate::evidence::manifest::ATTESTATION),
        )
    } else {
        (None, None, None)
    };
    github::write_outputs(
        github::result_word(code),
        junit.as_deref(),
        summary.as_deref(),
        attestation.as_deref(),
    );
}
