//! GitHub Actions: a group with the output of each failed gate (inside `::stop-commands::`, so
//! nothing a gate prints can run a workflow command), an `::error` annotation at the failed
//! gate's line (the runner shows ten per step: the rest are summed up in one), masks for
//! secrets, the step summary and the step's outputs.

use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::results::{GateResult, Status};

/// The runner shows at most this many annotations of a kind per step.
const ANNOTATIONS: usize = 10;
/// GitHub refuses a step summary over 1 MiB.
const SUMMARY_CAP: usize = 1 << 20;
/// Lines of a failed gate's output shown in its group.
const GROUP_LINES: usize = 400;
/// At most this many characters of a line of it.
const GROUP_LINE: usize = 1000;

/// Is this a GitHub Actions run? (`--github`, or `GITHUB_ACTIONS=true`)
pub fn enabled(flag: bool) -> bool {
    flag || std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true")
}

/// Escape workflow command data: `%`, CR and LF.
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escape a workflow command property: data escapes plus `:` and `,`.
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// Text gaterun prints to stderr outside a stop-commands block, made inert for the runner's
/// command parser: it splits lines at CR as well as LF, takes a line whose trimmed start is
/// `::` as a command, and takes the old `##[command]` form anywhere in a line. A gate's output
/// reaches our own lines (a failure message quotes it), so CR becomes a space and both
/// markers are broken with an invisible U+200B, which the parser does not trim.
pub fn inert(line: &str) -> String {
    let text = line.replace('\r', " ").replace("##[", "#\u{200B}#[");
    let body = text.trim_start();
    if body.starts_with("::") {
        let lead = text.len() - body.len();
        format!("{}\u{200B}{body}", &text[..lead])
    } else {
        text
    }
}

/// The stop-commands token: 128 bits from the OS random source, so no gate can print it.
fn token() -> String {
    use std::io::Read;
    let mut bytes = [0u8; 16];
    let random = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes));
    if random.is_err() {
        // No OS random source: a hash of what varies between runs, still never printed
        // before the block closes.
        let seed = format!(
            "{}-{:?}-{:p}",
            std::process::id(),
            std::time::SystemTime::now(),
            &bytes
        );
        bytes.copy_from_slice(&Sha256::digest(seed.as_bytes())[..16]);
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A gate's `file` is already named from the repository's top (`config::repo_prefix`), as
/// in JUnit: an annotation uses it as it is.
#[derive(Default)]
pub struct Github {
    annotated: usize,
    overflow: Vec<(String, GateResult)>,
}

impl Github {
    /// On stderr with the human report: the runner reads workflow commands on stderr as on
    /// stdout, but reads the two pipes apart, so only one stream keeps `::add-mask::` before
    /// what it masks and a `::stop-commands::` block around what it guards.
    fn out(text: &str) {
        let mut o = std::io::stderr().lock();
        let _ = o.write_all(text.as_bytes());
        let _ = o.flush();
    }

    /// `::add-mask::` for each secret value, before anything could print it.
    pub fn mask(values: &[String]) {
        let mut text = String::new();
        // Every form gaterun masks (escaped, encoded, line by line), so the runner's own log
        // hides them too.
        for v in values.iter().filter(|v| !v.is_empty()) {
            for form in crate::mask::forms(v) {
                text.push_str(&format!("::add-mask::{}\n", escape_data(&form)));
            }
        }
        Self::out(&text);
    }

    pub fn gate_finished(&mut self, stage: &str, g: &GateResult) {
        if !matches!(
            g.status,
            Status::Failed | Status::Error | Status::Interrupted
        ) {
            return;
        }
        let clean = crate::text::sanitize(&g.output);
        let lines: Vec<&str> = clean.lines().collect();
        let shown = &lines[lines.len().saturating_sub(GROUP_LINES)..];
        let stop = token();
        let mut text = format!(
            "::group::✗ {stage} {}: {}\n",
            escape_data(&crate::text::shown(&g.id)),
            escape_data(&crate::text::shown(&g.title))
        );
        text.push_str(&format!("::stop-commands::{stop}\n"));
        if shown.len() < lines.len() {
            text.push_str(&format!(
                "[… {} earlier lines in {} …]\n",
                lines.len() - shown.len(),
                g.log
            ));
        }
        for l in shown {
            text.push_str(&crate::text::cut_line(l, GROUP_LINE));
            text.push('\n');
        }
        text.push_str(&format!("::{stop}::\n::endgroup::\n"));
        // The runner keeps ten annotations a step: nine at once, and the tenth either the
        // tenth failure or, when there are more, one that names them all (see `finish`).
        if self.annotated < ANNOTATIONS - 1 {
            self.annotated += 1;
            text.push_str(&self.annotation(stage, g));
        } else {
            self.overflow.push((stage.to_owned(), g.clone()));
        }
        Self::out(&text);
    }

    fn annotation(&self, stage: &str, g: &GateResult) -> String {
        let message = g.message.as_deref().unwrap_or(g.status.as_str());
        format!(
            "::error file={},line={},title={}::{}\n",
            escape_property(&crate::text::shown(&g.file)),
            g.line,
            escape_property(&crate::text::shown(&format!(
                "{stage} {}: {}",
                g.id, g.title
            ))),
            escape_data(&crate::text::sanitize(message))
        )
    }

    /// After the run: the tenth annotation, for the one failure left or for all of them.
    pub fn finish(&mut self) {
        match self.overflow.as_slice() {
            [] => {}
            [(stage, g)] => Self::out(&self.annotation(stage, g)),
            many => {
                let n = many.len();
                let names: Vec<String> =
                    many.iter().map(|(s, g)| format!("{s} {}", g.id)).collect();
                Self::out(&format!(
                    "::error title={}::{}\n",
                    escape_property(&format!("{n} more failed gates")),
                    escape_data(&format!(
                        "{n} more gates failed (not annotated: the runner shows {ANNOTATIONS} per step): {}. See the step summary.",
                        names.join(", ")
                    ))
                ));
            }
        }
    }
}

/// Append the run's summary to `$GITHUB_STEP_SUMMARY`, cut to stay under GitHub's limit.
pub fn append_summary(summary: &str, summary_path: &Path) {
    let Some(target) = std::env::var_os("GITHUB_STEP_SUMMARY") else {
        return;
    };
    let mut text = summary.to_owned();
    if text.len() > SUMMARY_CAP - 4096 {
        let mut cut = SUMMARY_CAP - 4096;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push_str(&format!(
            "\n\n> The summary was cut to stay under GitHub's 1 MiB limit: the whole of it is in `{}`, with `junit.xml` and each stage's `report.md` beside it.\n",
            summary_path.display()
        ));
    }
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(target)
    {
        let _ = f.write_all(text.as_bytes());
        let _ = f.write_all(b"\n");
    }
}

/// `result`, `junit` and `summary` in `$GITHUB_OUTPUT`.
pub fn write_outputs(
    result: &str,
    junit: Option<&Path>,
    summary: Option<&Path>,
    attestation: Option<&Path>,
) {
    let Some(target) = std::env::var_os("GITHUB_OUTPUT") else {
        return;
    };
    let mut text = format!("result={result}\n");
    let shown = |p: &Path| -> String {
        std::env::var_os("GITHUB_WORKSPACE")
            .and_then(|w| {
                p.strip_prefix(PathBuf::from(w))
                    .ok()
                    .map(|r| r.display().to_string())
            })
            .unwrap_or_else(|| p.display().to_string())
    };
    if let Some(j) = junit {
        text.push_str(&format!("junit={}\n", shown(j)));
    }
    if let Some(s) = summary {
        text.push_str(&format!("summary={}\n", shown(s)));
    }
    if let Some(a) = attestation {
        text.push_str(&format!("attestation={}\n", shown(a)));
    }
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(target)
    {
        let _ = f.write_all(text.as_bytes());
    }
}

/// The `result` output for an exit code.
pub fn result_word(code: i32) -> &'static str {
    match code {
        crate::exit::PASSED => "passed",
        crate::exit::FAILED => "failed",
        crate::exit::BLOCKED => "blocked",
        crate::exit::NOTHING_SELECTED => "nothing-selected",
        crate::exit::INTERRUPTED => "interrupted",
        _ => "error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        assert_eq!(escape_data("50%\nnext\r"), "50%25%0Anext%0D");
        assert_eq!(escape_property("a:b,c"), "a%3Ab%2Cc");
    }

    #[test]
    fn inert_text_is_no_command() {
        assert_eq!(
            inert("x\r::set-output name=ok::1"),
            "x ::set-output name=ok::1"
        );
        assert_eq!(inert("a ##[add-mask]gates"), "a #\u{200B}#[add-mask]gates");
        assert_eq!(inert("  ::error::x"), "  \u{200B}::error::x");
        assert_eq!(inert("  \u{2713} ok"), "  \u{2713} ok");
        assert_eq!(token().len(), 32);
        assert_ne!(token(), token());
    }
}
