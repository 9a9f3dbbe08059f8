//! `gaterun init`: the method's stage list for a phase as stage files, each with a placeholder
//! gate that fails until it is replaced — a skeleton never passes by accident.

use std::path::Path;

use crate::exit::Error;

/// (stage name, goal, acceptance gate as the method words it, if it does)
type StageText = (&'static str, &'static str, Option<&'static str>);

const BACKEND: &[StageText] = &[
    (
        "Foundation Lock",
        "Confirm stack, contracts, policies. No unresolved architecture decisions.",
        None,
    ),
    (
        "Project Skeleton",
        "Create repo structure. Add dependency management. Health endpoint.",
        Some("Process starts, /healthz returns ok."),
    ),
    (
        "Database + Migrations",
        "Implement schema. Create baseline migration. Add constraints.",
        Some("Fresh DB bootstrap succeeds. Invalid transitions rejected."),
    ),
    (
        "Primary Resource API",
        "CRUD endpoints for main resource. State transitions. Audit logging.",
        Some("Can create resource and move through allowed states only."),
    ),
    (
        "Supporting APIs",
        "Secondary resources (handoffs, escalations, etc.). Cross-resource rules.",
        Some("Supporting resources enforce their constraints."),
    ),
    (
        "Background Workers",
        "Queue table, job claim, retry/backoff, dead-letter.",
        Some("Worker processes jobs reliably. Duplicates prevented."),
    ),
    (
        "Policy Enforcement",
        "Merge gates, cost controls, guardrail breach handling.",
        Some("Policy violations are caught and blocked at runtime."),
    ),
    (
        "Evidence Assembly",
        "Aggregate outputs into structured evidence packages.",
        Some("One real task produces complete evidence."),
    ),
    (
        "Operational Reliability",
        "Local isolation, restart recovery, startup verification.",
        Some("System restarts cleanly without state corruption."),
    ),
    (
        "Pilot Trial",
        "Run 3+ real tasks at different risk levels through the system.",
        Some("All tasks complete with full lifecycle artifacts."),
    ),
    (
        "Phase Sign-Off",
        "Metrics captured. Gaps documented for next phase.",
        Some("System runs end-to-end without ad-hoc decisions."),
    ),
];

const UI: &[StageText] = &[
    (
        "Pre-flight Verification",
        "Backend running, UI scaffold builds.",
        None,
    ),
    (
        "API Client / SDK Layer",
        "A typed client for the backend's API.",
        None,
    ),
    (
        "Status / Dashboard Page",
        "The status page shows the system's state.",
        None,
    ),
    (
        "Primary Resource Page",
        "List and create the main resource.",
        None,
    ),
    ("Detail Page", "View a resource and act on it.", None),
    (
        "Evidence / Export Page",
        "View and export a resource's evidence.",
        None,
    ),
    (
        "Auth / Security Hardening",
        "Authentication, authorization, secure defaults.",
        None,
    ),
    (
        "Error Handling and UX Polish",
        "Every failure has a clear message and a way forward.",
        None,
    ),
    (
        "End-to-End Smoke Tests",
        "The main journeys pass end to end.",
        None,
    ),
    ("Real User Testing", "Real users complete real tasks.", None),
    (
        "Phase Sign-Off",
        "Metrics captured. Gaps documented for next phase.",
        None,
    ),
];

const INTEGRATIONS: &[StageText] = &[
    (
        "Pre-flight",
        "Phase 2 complete, credentials configured.",
        None,
    ),
    (
        "External API Adapter",
        "An adapter for the external API (e.g. OpenAI, GitHub).",
        None,
    ),
    ("Webhook Ingestion", "Receive and verify webhooks.", None),
    ("Outbound Operations", "Create branches, open PRs.", None),
    (
        "Agent Role Execution",
        "Planner, implementer and the other roles run.",
        None,
    ),
    ("Cost Tracking", "Cost tracked on real API calls.", None),
    (
        "End-to-End Integration Test",
        "The whole integration runs end to end.",
        None,
    ),
    (
        "Error Recovery and Retry Paths",
        "Failures of the external side are recovered from.",
        None,
    ),
    (
        "Rate Limiting and Safety",
        "Limits are respected; unsafe operations are refused.",
        None,
    ),
    (
        "Pilot: Real External Operation",
        "One real external operation through the system.",
        None,
    ),
    (
        "Phase Sign-Off",
        "Metrics captured. Gaps documented for next phase.",
        None,
    ),
];

pub fn template(name: &str) -> Option<(u32, &'static [StageText])> {
    match name {
        "backend" => Some((1, BACKEND)),
        "ui" => Some((2, UI)),
        "integrations" => Some((3, INTEGRATIONS)),
        _ => None,
    }
}

fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_owned()
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn stage_file(phase: u32, number: usize, (name, goal, gate): StageText) -> String {
    let acceptance = gate.unwrap_or("Write this stage's objective, reproducible acceptance gate.");
    let mut out = format!(
        "# yaml-language-server: $schema=../../gaterun.schema.json\n\
         # Stage {number} of phase {phase}, from the method. Replace the placeholder gate with real checks:\n\
         # `run`, `http`, `tcp`, `sql`, `file`, services and databases — see docs/gates.md.\n\
         phase: {phase}\nstage: {number}\nname: {}\ngoal: {}\n",
        quote(name),
        quote(goal)
    );
    out.push_str("risk: 'Not assessed yet: what could go wrong, and how to roll back?'\nopen_questions: []\ngates:\n");
    // The text inside the shell's double quotes: an apostrophe stays, what the shell would
    // expand there goes.
    let say = format!(
        "echo \"not written yet: {}\" >&2; exit 1",
        acceptance.replace(['"', '$', '`', '\\'], "")
    );
    out.push_str(&format!(
        "  - id: placeholder\n    title: {}\n    # Fails until replaced: a skeleton never passes by accident.\n    run: {}\n",
        quote(acceptance),
        quote(&say)
    ));
    if number == 10 {
        out.push_str(&format!(
            "  - id: signoff\n    title: Every earlier stage passed with its current definition\n    run: [\"${{GATERUN}}\", signoff, --phase, \"{phase}\"]\n"
        ));
    }
    out
}

/// `gaterun init`: the skeleton written, each file named, and what to do next — the phase it
/// wrote named, since a project with several phases needs it.
pub(super) fn command(
    root: &Path,
    gates_dir: &Path,
    template_name: &str,
    phase: Option<u32>,
) -> Result<i32, Error> {
    let (phase, written) = run(root, gates_dir, template_name, phase)?;
    for path in written {
        out!(
            "wrote {}",
            path.strip_prefix(root).unwrap_or(&path).display()
        );
    }
    out!(
        "next: replace each placeholder gate with real checks, then `gaterun check` and `gaterun stage 0 --phase {phase}`"
    );
    Ok(crate::exit::PASSED)
}

/// The phases the gates root defines already: every stage file's `phase:` (1 when absent), and
/// every `phase-N/` directory holding a YAML file (a stage file that does not parse still
/// claims its directory's phase).
fn existing_phases(gates_dir: &Path) -> std::collections::BTreeSet<u32> {
    #[derive(serde::Deserialize)]
    struct PhaseOnly {
        phase: Option<u32>,
    }
    let mut out = std::collections::BTreeSet::new();
    for file in crate::config::discover_files(gates_dir).unwrap_or_default() {
        let in_dir: Option<u32> = file
            .strip_prefix(gates_dir)
            .ok()
            .and_then(|rel| rel.components().next())
            .and_then(|c| c.as_os_str().to_str()?.strip_prefix("phase-")?.parse().ok());
        out.extend(in_dir);
        // Only a regular file of a sane size is read (a FIFO named `x.yaml` is no wait).
        let text = crate::config::read_stage_file(&file, gates_dir, &mut Vec::new());
        if let Some(Ok(p)) = text.map(|t| crate::config::yaml::parse::<PhaseOnly>(&t)) {
            out.insert(p.phase.unwrap_or(1));
        }
    }
    out
}

/// Write the skeleton under `gates/phase-N/` (N: `--phase`, else the template's phase); never
/// a second copy of a phase that exists, never over a file. The phase written, and the files.
fn run(
    root: &Path,
    gates_dir: &Path,
    template_name: &str,
    phase: Option<u32>,
) -> Result<(u32, Vec<std::path::PathBuf>), Error> {
    let (default_phase, stages) = template(template_name).ok_or_else(|| {
        Error::Usage(format!(
            "unknown template `{template_name}`: use backend, ui or integrations"
        ))
    })?;
    let phase = phase.unwrap_or(default_phase);
    let existing = existing_phases(gates_dir);
    if existing.contains(&phase) {
        let free = (phase + 1..)
            .find(|p| !existing.contains(p))
            .unwrap_or(phase);
        return Err(Error::Usage(format!(
            "phase {phase} already has stage files under {}: not writing a second copy; to write the {template_name} template as another phase, `gaterun init --template {template_name} --phase {free}`",
            crate::config::relative(gates_dir, root).display()
        )));
    }
    let dir = gates_dir.join(format!("phase-{phase}"));
    let files: Vec<(std::path::PathBuf, String)> = stages
        .iter()
        .enumerate()
        .map(|(n, s)| {
            (
                dir.join(format!("{n:02}-{}.yaml", slug(s.0))),
                stage_file(phase, n, *s),
            )
        })
        .collect();
    let existing: Vec<String> = files
        .iter()
        .filter(|(p, _)| p.exists())
        .map(|(p, _)| p.display().to_string())
        .collect();
    if !existing.is_empty() {
        return Err(Error::Usage(format!(
            "not overwriting existing stage files: {}",
            existing.join(", ")
        )));
    }
    std::fs::create_dir_all(&dir)
        .map_err(|e| Error::Internal(format!("failed to create {}: {e}", dir.display())))?;
    let mut written = Vec::new();
    for (path, text) in files {
        std::fs::write(&path, text)
            .map_err(|e| Error::Internal(format!("failed to write {}: {e}", path.display())))?;
        written.push(path);
    }
    let config = root.join(crate::config::PROJECT_FILE);
    if !config.exists() {
        let text = format!(
            "# gaterun project settings: see docs/gates.md\ngates: gates\nevidence: evidence\ncurrent_phase: {phase}\n"
        );
        std::fs::write(&config, text)
            .map_err(|e| Error::Internal(format!("failed to write {}: {e}", config.display())))?;
        written.push(config);
    }
    let schema = root.join("gaterun.schema.json");
    if !schema.exists() {
        let text = crate::schema::json();
        std::fs::write(&schema, text)
            .map_err(|e| Error::Internal(format!("failed to write {}: {e}", schema.display())))?;
        written.push(schema);
    }
    Ok((phase, written))
}

#[cfg(test)]
mod tests {
    #[test]
    fn slugs() {
        assert_eq!(super::slug("Database + Migrations"), "database-migrations");
        assert_eq!(
            super::slug("API Client / SDK Layer"),
            "api-client-sdk-layer"
        );
    }
}
