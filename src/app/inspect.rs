//! The commands that read and tell, run nothing: `check`, `list`, `report` (the implementation
//! log rebuilt from evidence) and `verify`.

use std::path::Path;

use crate::config::Loaded;
use crate::evidence;
use crate::exit::{self, Error};
use crate::plan;
use crate::results::{self, Status};
use crate::text::{self, plural};
use crate::verify;

use super::ci::for_runner;

/// `gaterun verify [DIR]`: one line per disagreement, exit 0 when none, 1 otherwise.
pub(super) fn verify(
    dir: &Path,
    cwd: &Path,
    loaded: Option<&Loaded>,
    github: bool,
) -> Result<i32, Error> {
    let shown = match dir.strip_prefix(cwd).unwrap_or(dir).display().to_string() {
        s if s.is_empty() => ".".to_owned(),
        s => s,
    };
    match std::fs::symlink_metadata(dir) {
        Ok(m) if m.is_dir() => {}
        Ok(m) if m.file_type().is_symlink() => {
            return Err(Error::Usage(format!(
                "{shown} is a symbolic link: give the directory it leads to (evidence is never read through a link)"
            )));
        }
        _ => {
            return Err(Error::Usage(format!(
                "{shown} is not an evidence directory (give DIR, or run from the project)"
            )));
        }
    }
    let problems = verify::all(dir, loaded);
    for p in &problems {
        // A line starts with a file name found in the evidence: never a workflow command.
        out!("{}", for_runner(&p.to_string(), github));
    }
    if problems.is_empty() {
        out!(
            "ok: the evidence in {shown} agrees with itself, its manifest{}",
            if loaded.is_some() {
                " and the stage files"
            } else {
                " (stage files not checked: none loaded)"
            }
        );
        Ok(exit::PASSED)
    } else {
        errln!(
            "{} disagreement{} in {shown}",
            problems.len(),
            plural(problems.len())
        );
        Ok(exit::FAILED)
    }
}

pub(super) fn check(loaded: &Loaded) -> i32 {
    let gates: usize = loaded.stages.iter().map(|s| s.gates.len()).sum();
    let phases = plan::phases(loaded);
    out!(
        "ok: {} stage file{}, {gates} gate{}, {} phase{}{}",
        loaded.stages.len(),
        plural(loaded.stages.len()),
        plural(gates),
        phases.len(),
        plural(phases.len()),
        if loaded.warnings.is_empty() {
            String::new()
        } else {
            format!(
                ", {} warning{}",
                loaded.warnings.len(),
                plural(loaded.warnings.len())
            )
        }
    );
    exit::PASSED
}

/// A phase's standing for `list`: signed off (when), or blocked by an earlier phase that is not.
fn phase_note(loaded: &Loaded, phase: u32) -> String {
    let (project, stages) = (&loaded.project, &loaded.stages);
    if let Some(Ok(l)) = evidence::phase_signoff::read(project, phase)
        && verify::phases::not_signed_off(project, stages, phase).is_none()
    {
        return format!(" (signed off at {})", l.signed_off_at);
    }
    match verify::phases::unmet_phases(project, stages, phase).first() {
        Some((p, _)) => format!(" (blocked: phase {p} is not signed off)"),
        None => String::new(),
    }
}

pub(super) fn list(loaded: &Loaded, only: Option<u32>) -> Result<i32, Error> {
    let phases = plan::phases(loaded);
    if let Some(p) = only
        && !phases.contains(&p)
    {
        return Err(plan::no_such_phase(loaded, p));
    }
    for phase in phases {
        if only.is_some_and(|p| p != phase) {
            continue;
        }
        out!("phase {phase}{}", phase_note(loaded, phase));
        for s in plan::stages_of(loaded, phase) {
            let full = evidence::read_stage(&loaded.project, phase, s.key);
            let partial = evidence::read_partial(&loaded.project, phase, s.key);
            let line = |r: &results::StageResult| {
                let stale = if r.definition_hash != s.definition_hash {
                    ", stale: the stage file changed"
                } else {
                    ""
                };
                format!(
                    "{} {}/{} at {}{stale}",
                    r.status.as_str(),
                    r.passed_count(),
                    r.gates.len(),
                    r.started_at
                )
            };
            let last_full = match &full {
                None => "not run".to_owned(),
                Some(Err(_)) => "unreadable evidence".to_owned(),
                // A pass the rest of the evidence contradicts is shown as what it is.
                Some(Ok(r))
                    if r.status == Status::Passed
                        && r.definition_hash == s.definition_hash
                        && verify::not_passed(&loaded.project, s).is_some() =>
                {
                    format!(
                        "{}, not counted: its evidence does not agree (`gaterun verify`)",
                        line(r)
                    )
                }
                Some(Ok(r)) => line(r),
            };
            // The full run stays the stage's result, shown first: a partial one comes after it.
            let last = match &partial {
                None => last_full,
                Some(p) => format!(
                    "{}; partial run: {}{}",
                    if full.is_none() {
                        "no full run"
                    } else {
                        &last_full
                    },
                    line(p),
                    p.selection_note()
                ),
            };
            // The stage file's name and the evidence's values: one inert line each.
            out!(
                "{}",
                text::shown(&format!(
                    "  stage {:<4} {:<36} {last}",
                    s.key.to_string(),
                    s.name
                ))
            );
            let full = full.and_then(Result::ok);
            for g in &s.gates {
                // Each gate's latest result: from the partial run if it ran there.
                let status = [partial.as_ref(), full.as_ref()]
                    .into_iter()
                    .flatten()
                    .find_map(|r| r.gates.iter().find(|x| x.id == g.id))
                    .map(|x| match x.flaky {
                        true => format!("{} (flaky)", x.status.as_str()),
                        false => x.status.as_str().to_owned(),
                    })
                    .unwrap_or_else(|| "-".to_owned());
                let tags = if g.tags.is_empty() {
                    String::new()
                } else {
                    format!(" [{}]", g.tags.join(", "))
                };
                out!(
                    "{}",
                    text::shown(&format!("    {status:<16} {}: {}{tags}", g.id, g.title))
                );
            }
        }
    }
    Ok(exit::PASSED)
}

pub(super) fn report(loaded: &Loaded, only: Option<u32>) -> Result<i32, Error> {
    let phases: Vec<u32> = match only {
        Some(p) => vec![p],
        None => plan::phases(loaded).into_iter().collect(),
    };
    for phase in phases {
        let stages = plan::stages_of(loaded, phase);
        if stages.is_empty() {
            return Err(plan::no_such_phase(loaded, phase));
        }
        let rel = format!("phase-{phase}/IMPLEMENTATION_LOG.md");
        let written = evidence::log::write(&loaded.project, phase, &stages);
        let mut manifest = evidence::manifest::Manifest::load_or_new(&loaded.project.evidence_dir);
        manifest.record_file(&loaded.project.evidence_dir, &rel);
        let recorded = manifest.write(&loaded.project, None);
        let path = written?;
        recorded?;
        out!(
            "wrote {}",
            path.strip_prefix(&loaded.project.root)
                .unwrap_or(&path)
                .display()
        );
    }
    // The page of the whole evidence, rebuilt with the logs it links to.
    let dir = &loaded.project.evidence_dir;
    let written = evidence::html::write(&loaded.project);
    let mut manifest = evidence::manifest::Manifest::load_or_new(dir);
    manifest.record_file(dir, evidence::html::INDEX);
    let recorded = manifest.write(&loaded.project, None);
    written?;
    recorded?;
    let page = dir.join(evidence::html::INDEX);
    out!(
        "wrote {}",
        page.strip_prefix(&loaded.project.root)
            .unwrap_or(&page)
            .display()
    );
    Ok(exit::PASSED)
}
