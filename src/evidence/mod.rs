//! Evidence: `results.json` (the prerequisite ledger), JUnit, markdown and logs per stage, and
//! the invocation's `junit.xml` and `summary.md`.
//!
//! A stage's directory is built aside and swapped in with one atomic rename (`RENAME_EXCHANGE`),
//! so a crash or kill leaves either the old complete evidence or the new complete evidence,
//! never half of either. Single files are written aside and renamed over.

pub mod history;
pub mod junit;
pub mod lock;
pub mod log;
pub mod markdown;

use std::io;
use std::path::{Path, PathBuf};

use crate::config::{Project, StageKey};
use crate::results::StageResult;

#[derive(Debug, thiserror::Error)]
#[error("failed to write evidence to {path}: {source}")]
pub struct EvidenceError {
    pub path: PathBuf,
    #[source]
    pub source: io::Error,
}

fn err(path: &Path) -> impl FnOnce(io::Error) -> EvidenceError + '_ {
    move |source| EvidenceError {
        path: path.to_path_buf(),
        source,
    }
}

pub fn phase_dir(project: &Project, phase: u32) -> PathBuf {
    project.evidence_dir.join(format!("phase-{phase}"))
}

pub fn stage_dir(project: &Project, phase: u32, key: StageKey) -> PathBuf {
    phase_dir(project, phase).join(key.dir_name())
}

/// Write a stage's whole evidence directory, replacing the previous one atomically.
pub fn write_stage(project: &Project, result: &StageResult) -> Result<(), EvidenceError> {
    let (aside, target) = stage_paths(project, result);
    let written = build_stage(project, result, &aside).and_then(|()| swap_in(&aside, &target));
    if written.is_err() {
        // A full disk or a read-only directory: leave no partial directory behind.
        let _ = std::fs::remove_dir_all(&aside);
    }
    written
}

fn stage_paths(project: &Project, result: &StageResult) -> (PathBuf, PathBuf) {
    let parent = phase_dir(project, result.phase);
    let name = StageKey::parse(&result.stage)
        .map(|k| k.dir_name())
        .unwrap_or_else(|| format!("stage-{}", result.stage));
    let target = parent.join(&name);
    let aside = parent.join(format!(".{name}.new-{}", std::process::id()));
    (aside, target)
}

fn build_stage(project: &Project, result: &StageResult, aside: &Path) -> Result<(), EvidenceError> {
    let _ = std::fs::remove_dir_all(aside);
    let logs = aside.join("logs");
    std::fs::create_dir_all(&logs).map_err(err(&logs))?;

    let json = serde_json::to_string_pretty(result).expect("results serialize");
    write_file(&aside.join("results.json"), json.as_bytes())?;
    let suite = junit::stage_suite(result);
    let mut report = quick_junit::Report::new(format!("gaterun {}", result.name));
    report.add_test_suite(suite);
    write_file(&aside.join("junit.xml"), junit::to_xml(&report).as_bytes())?;
    write_file(
        &aside.join("report.md"),
        markdown::stage_report(
            result,
            &history::pass_rates(project, result.phase, &result.stage),
        )
        .as_bytes(),
    )?;
    for g in &result.gates {
        if g.status != crate::results::Status::Blocked && g.attempts > 0 {
            write_file(&aside.join(&g.log), g.output.as_bytes())?;
        }
    }
    Ok(())
}

fn swap_in(aside: &Path, target: &Path) -> Result<(), EvidenceError> {
    if target.exists() {
        let exchanged = rustix::fs::renameat_with(
            rustix::fs::CWD,
            aside,
            rustix::fs::CWD,
            target,
            rustix::fs::RenameFlags::EXCHANGE,
        );
        match exchanged {
            Ok(()) => {
                let _ = std::fs::remove_dir_all(aside);
                return Ok(());
            }
            Err(_) => {
                // No RENAME_EXCHANGE on this filesystem: move the old one away first.
                let old = aside.with_extension("old");
                let _ = std::fs::remove_dir_all(&old);
                std::fs::rename(target, &old).map_err(err(target))?;
                std::fs::rename(aside, target).map_err(err(target))?;
                let _ = std::fs::remove_dir_all(&old);
                return Ok(());
            }
        }
    }
    std::fs::rename(aside, target).map_err(err(target))
}

/// Write a file aside and rename it over the target.
pub fn write_file(path: &Path, data: &[u8]) -> Result<(), EvidenceError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(err(dir))?;
    }
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let aside = path.with_file_name(format!(".{file_name}.new-{}", std::process::id()));
    let written = std::fs::write(&aside, data)
        .map_err(err(&aside))
        .and_then(|()| std::fs::rename(&aside, path).map_err(err(path)));
    if written.is_err() {
        let _ = std::fs::remove_file(&aside);
    }
    written
}

/// The invocation's `junit.xml` and `summary.md` at the evidence root.
pub fn write_invocation(project: &Project, results: &[StageResult]) -> Result<(), EvidenceError> {
    let mut report = quick_junit::Report::new("gaterun");
    for r in results {
        report.add_test_suite(junit::stage_suite(r));
    }
    write_file(
        &project.evidence_dir.join("junit.xml"),
        junit::to_xml(&report).as_bytes(),
    )?;
    write_file(
        &project.evidence_dir.join("summary.md"),
        markdown::summary(results).as_bytes(),
    )
}

/// The last recorded result of a stage: `None` if never run, `Err` if unreadable.
pub fn read_stage(
    project: &Project,
    phase: u32,
    key: StageKey,
) -> Option<Result<StageResult, String>> {
    let path = stage_dir(project, phase, key).join("results.json");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return None,
        Err(e) => return Some(Err(format!("failed to read {}: {e}", path.display()))),
    };
    Some(
        serde_json::from_str(&text).map_err(|e| format!("failed to parse {}: {e}", path.display())),
    )
}

/// Remove what a killed earlier run may have left aside: `.stage-02.new-<pid>` directories,
/// `.junit.xml.new-<pid>` files, `.stage-02.new-<pid>.old` directories, at the evidence root
/// and in each phase directory. Called with the evidence lock held.
pub fn sweep_leftovers(project: &Project) {
    let mut dirs = vec![project.evidence_dir.clone()];
    if let Ok(entries) = std::fs::read_dir(&project.evidence_dir) {
        dirs.extend(
            entries
                .flatten()
                .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                .map(|e| e.path()),
        );
    }
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let Some((_, rest)) = name.rsplit_once(".new-") else {
                continue;
            };
            if !name.starts_with('.') {
                continue;
            }
            let pid = rest.trim_end_matches(".old").parse::<i32>().ok();
            let alive = pid.is_some_and(|p| {
                p != std::process::id() as i32 && Path::new(&format!("/proc/{p}")).exists()
            });
            if !alive {
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    let _ = std::fs::remove_dir_all(e.path());
                } else {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
    }
}

/// Text safe for XML 1.0 and for markdown: ANSI escape sequences removed, and every character
/// XML 1.0 forbids (control characters but tab, newline and carriage return; U+FFFE, U+FFFF).
pub fn sanitize(text: &str) -> String {
    static ANSI: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")
            .expect("static regex")
    });
    let stripped = ANSI.replace_all(text, "");
    stripped
        .chars()
        .filter(|&c| {
            matches!(c, '\t' | '\n' | '\r')
                || !(c.is_control() || c == '\u{FFFE}' || c == '\u{FFFF}')
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn sanitize_strips_ansi_and_xml_invalid_characters() {
        assert_eq!(
            super::sanitize("\x1b[31mred\x1b[0m ok\x00\x07\x1b]0;title\x07 ]]> \u{FFFE}é\n"),
            "red ok ]]> é\n"
        );
    }
}
