//! The method's Stage 10, its rule: every earlier stage of the phase passed with its current
//! definition, and every earlier phase stands signed off; open questions are gathered as
//! documented gaps; the next phase's stage files, if any, are valid. Writes `SIGNOFF.md` and
//! the ledger later phases are held to (`signoff.json`), or says what is unmet
//! (`app::signoff` is the command that prints it).

use std::fmt::Write;

use crate::config::{Project, Stage};
use crate::evidence::{self, history, markdown, phase_signoff};
use crate::exit::Error;
use crate::results::{StageResult, Status};
use crate::verify;

pub use crate::verify::SIGNOFF_STAGE;

/// What keeps a stage from counting, with the command that fixes it.
pub fn unmet(project: &Project, s: &Stage) -> Option<String> {
    let why = verify::not_passed(project, s)?;
    Some(format!(
        "stage {} ({}) has not passed: {why}; run `gaterun stage {} --phase {}`",
        s.key, s.name, s.key, s.phase
    ))
}

/// Whether phase `phase` meets its exit criteria: its passed criteria stages' results, or what
/// is unmet.
pub fn criteria<'a>(
    project: &Project,
    stages: &'a [Stage],
    phase: u32,
) -> Result<Vec<(&'a Stage, StageResult)>, Vec<String>> {
    let criteria: Vec<&Stage> = stages
        .iter()
        .filter(|s| s.phase == phase && s.key.number < SIGNOFF_STAGE)
        .collect();
    let mut problems: Vec<String> = verify::phases::unmet_phases(project, stages, phase)
        .into_iter()
        .map(|(p, why)| {
            format!(
                "phase {p}, which phase {phase} builds on, is not signed off: {why}; run `{}`",
                verify::phases::signoff_command(stages, p)
            )
        })
        .collect();
    problems.extend(criteria.iter().filter_map(|s| unmet(project, s)));
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(criteria
        .into_iter()
        .filter_map(|s| Some((s, evidence::read_stage(project, s.phase, s.key)?.ok()?)))
        .collect())
}

/// The files a sign-off writes (or removes), relative to the evidence directory.
pub fn files(phase: u32) -> Vec<String> {
    vec![
        format!("phase-{phase}/SIGNOFF.md"),
        phase_signoff::rel(phase),
    ]
}

/// The phase no longer stands signed off: both files go, the ledger first (a kill between
/// leaves a SIGNOFF.md that counts for nothing, never a ledger without its page).
fn withdraw(project: &Project, phase: u32) {
    phase_signoff::remove(project, phase);
    let _ = std::fs::remove_file(evidence::phase_dir(project, phase).join("SIGNOFF.md"));
}

/// Write the phase's SIGNOFF.md and then its ledger, signoff.json, if its criteria are met
/// (else what is unmet): the path of SIGNOFF.md and how many stages passed. Whatever could not
/// be written takes the other with it.
pub fn write(
    project: &Project,
    stages: &[Stage],
    phase: u32,
) -> Result<Result<(std::path::PathBuf, usize), Vec<String>>, Error> {
    let results = match criteria(project, stages, phase) {
        Ok(r) => r,
        Err(unmet) => return Ok(Err(unmet)),
    };
    let text = render(project, stages, phase, &results);
    let path = evidence::phase_dir(project, phase).join("SIGNOFF.md");
    let commit = results.iter().rev().find_map(|(_, r)| r.commit.clone());
    let ledger = phase_signoff::new(stages, phase, commit);
    let written = evidence::write_file(&path, text.as_bytes())
        .and_then(|()| phase_signoff::write(project, &ledger));
    if let Err(e) = written {
        withdraw(project, phase);
        return Err(e.into());
    }
    Ok(Ok((path, results.len())))
}

/// The sign-off follows the ledger: a criteria stage that no longer passes takes the phase's
/// SIGNOFF.md and signoff.json with it; the sign-off stage passing writes them — by gaterun,
/// from the evidence, never by a gate (a gate's `gaterun signoff` only checks the criteria).
/// Whether it wrote or removed them, as the files to re-hash (the runner calls it after each
/// full stage run).
pub fn follow(
    project: &Project,
    all_stages: &[Stage],
    stage: &Stage,
    result: &StageResult,
) -> Vec<String> {
    let wrote = files(result.phase);
    let key = stage.key;
    if key.number < SIGNOFF_STAGE {
        if result.status != Status::Passed {
            withdraw(project, result.phase);
            return wrote;
        }
        return Vec::new();
    }
    if key.number != SIGNOFF_STAGE || result.status != Status::Passed {
        return Vec::new();
    }
    match write(project, all_stages, result.phase) {
        Ok(Ok(_)) => {}
        Ok(Err(unmet)) => {
            withdraw(project, result.phase);
            errln!(
                "warning: stage {} passed, but phase {} cannot be signed off: {}",
                result.stage,
                result.phase,
                unmet.join("; ")
            );
        }
        Err(e) => {
            withdraw(project, result.phase);
            errln!("warning: {e}");
        }
    }
    wrote
}

fn render(
    project: &Project,
    stages: &[Stage],
    phase: u32,
    results: &[(&Stage, StageResult)],
) -> String {
    let now = humantime::format_rfc3339_seconds(std::time::SystemTime::now());
    let commit = results.iter().rev().find_map(|(_, r)| r.commit.clone());
    let mut o = format!("# Phase {phase} sign-off\n\n");
    let _ = writeln!(
        o,
        "- Signed off: {now} · commit {} · gaterun {}",
        commit
            .map(|c| format!("`{c}`"))
            .unwrap_or_else(|| "none".to_owned()),
        crate::about::VERSION
    );
    let _ = writeln!(
        o,
        "- Exit criteria: every stage before stage {SIGNOFF_STAGE} passed with its current definition ({} stages).",
        results.len()
    );

    let _ = writeln!(
        o,
        "\n## Metrics\n\n| Stage | Name | Gates | Passed | Duration | Last run | Pass rate (last {} runs) |\n|---|---|---|---|---|---|---|",
        history::WINDOW
    );
    let (mut gates, mut duration, mut flaky) = (0, 0, Vec::new());
    for (s, r) in results {
        let rates = history::pass_rates(project, r.phase, &r.stage);
        let (p, n) = rates.values().fold((0, 0), |(a, b), (p, n)| (a + p, b + n));
        let rate = if n > 0 {
            format!("{}% ({p}/{n})", u64::from(p) * 100 / u64::from(n))
        } else {
            "—".to_owned()
        };
        gates += r.gates.len();
        duration += r.duration_ms;
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} | {} | {rate} |",
            s.key,
            markdown::cell(&s.name),
            r.gates.len(),
            r.passed_count(),
            markdown::ms(r.duration_ms),
            r.started_at
        );
        for (id, (p, n)) in rates {
            if p > 0 && p < n {
                flaky.push(format!(
                    "stage {} `{id}`: passed {p} of its last {n} runs",
                    s.key
                ));
            }
        }
        flaky.extend(
            r.gates
                .iter()
                .filter(|g| g.flaky)
                .map(|g| format!("stage {} `{}`: flaky in its last run", s.key, g.id)),
        );
    }
    let _ = writeln!(
        o,
        "\nTotal: {gates} gates in {} stages, {} of gate time in the last runs.",
        results.len(),
        markdown::ms(duration)
    );
    stage_sizes(&mut o, project, phase, results);
    flaky.sort();
    flaky.dedup();
    let _ = writeln!(o, "\n## Flaky gates\n");
    if flaky.is_empty() {
        let _ = writeln!(o, "None seen in the history.");
    }
    for f in flaky {
        let _ = writeln!(o, "- {f}");
    }
    let _ = writeln!(o, "\n## Documented gaps for the next phase\n");
    let mut any = false;
    for s in stages.iter().filter(|s| s.phase == phase) {
        for q in &s.open_questions {
            any = true;
            let _ = writeln!(
                o,
                "- Stage {} ({}): {}",
                s.key,
                markdown::cell(&s.name),
                markdown::cell(q)
            );
        }
    }
    if !any {
        let _ = writeln!(o, "No open questions recorded in the stage files.");
    }
    let next: Vec<&Stage> = stages.iter().filter(|s| s.phase == phase + 1).collect();
    let _ = writeln!(o, "\n## Next phase\n");
    if next.is_empty() {
        let _ = writeln!(
            o,
            "No stage files for phase {} yet: write its checklist with acceptance gates before it starts.",
            phase + 1
        );
    } else {
        let gates: usize = next.iter().map(|s| s.gates.len()).sum();
        let _ = writeln!(
            o,
            "Phase {}: {} stage files with {gates} gates, all valid (`gaterun check`).",
            phase + 1,
            next.len()
        );
    }
    o
}

/// Each stage's size from the history (first run to first pass, runs), those over the method's
/// 4 hours flagged with the advice to split them.
fn stage_sizes(o: &mut String, project: &Project, phase: u32, results: &[(&Stage, StageResult)]) {
    let sizes = evidence::stage_size::sizes(project, phase);
    let _ = writeln!(
        o,
        "\n## Stage size\n\nFrom history.jsonl: wall-clock time from each stage's first run to its first pass, and the runs it took (the method: 1–4 hours a stage).\n"
    );
    let mut over = 0;
    for (s, _) in results {
        let text = match sizes.get(&s.key) {
            Some(size) => {
                over += usize::from(size.over());
                size.describe(s.key)
            }
            None => "no run in history.jsonl".to_owned(),
        };
        let _ = writeln!(o, "- Stage {} ({}): {text}", s.key, markdown::cell(&s.name));
    }
    let _ = writeln!(
        o,
        "\n{over} of {} stages over the method's 4 hours.",
        results.len()
    );
}
