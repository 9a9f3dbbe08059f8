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

fn token() -> String {
    let seed = format!(
        "{}-{:?}-{:?}",
        std::process::id(),
        std::time::SystemTime::now(),
        std::thread::current().id()
    );
    Sha256::digest(seed.as_bytes())
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub struct Github {
    /// The project root relative to the workspace, so annotation paths are the repo's.
    prefix: PathBuf,
    annotated: usize,
    overflow: Vec<String>,
}

impl Github {
    pub fn new(project_root: &Path) -> Self {
        let prefix = std::env::var_os("GITHUB_WORKSPACE")
            .and_then(|w| {
                project_root
                    .strip_prefix(PathBuf::from(w))
                    .ok()
                    .map(Path::to_path_buf)
            })
            .unwrap_or_default();
        Github {
            prefix,
            annotated: 0,
            overflow: Vec::new(),
        }
    }

    fn out(text: &str) {
        let mut o = std::io::stdout().lock();
        let _ = o.write_all(text.as_bytes());
        let _ = o.flush();
    }

    /// `::add-mask::` for each secret value, before anything could print it.
    pub fn mask(values: &[String]) {
        let mut text = String::new();
        for v in values.iter().filter(|v| !v.is_empty()) {
            text.push_str(&format!("::add-mask::{}\n", escape_data(v)));
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
        let clean = crate::evidence::sanitize(&g.output);
        let lines: Vec<&str> = clean.lines().collect();
        let shown = &lines[lines.len().saturating_sub(GROUP_LINES)..];
        let stop = token();
        let mut text = format!(
            "::group::✗ {stage} {}: {}\n",
            escape_data(&g.id),
            escape_data(&g.title)
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
            text.push_str(l);
            text.push('\n');
        }
        text.push_str(&format!("::{stop}::\n::endgroup::\n"));
        let message = g.message.as_deref().unwrap_or(g.status.as_str());
        if self.annotated < ANNOTATIONS {
            self.annotated += 1;
            let file = self.prefix.join(&g.file);
            text.push_str(&format!(
                "::error file={},line={},title={}::{}\n",
                escape_property(&file.display().to_string()),
                g.line,
                escape_property(&format!("{stage} {}: {}", g.id, g.title)),
                escape_data(&crate::evidence::sanitize(message))
            ));
        } else {
            self.overflow.push(format!("{stage} {}", g.id));
        }
        Self::out(&text);
    }

    /// After the run: one annotation for the failures past the first ten.
    pub fn finish(&mut self) {
        if self.overflow.is_empty() {
            return;
        }
        let n = self.overflow.len();
        let names = self.overflow.join(", ");
        Self::out(&format!(
            "::error title={}::{}\n",
            escape_property(&format!("{n} more failed gates")),
            escape_data(&format!(
                "{n} more gates failed (not annotated: the runner shows {ANNOTATIONS} per step): {names}. See the step summary."
            ))
        ));
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
pub fn write_outputs(result: &str, junit: Option<&Path>, summary: Option<&Path>) {
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
}
