//! `phase-N/signoff.json`: the phase sign-off ledger, beside SIGNOFF.md. Phases build on each
//! other: a stage of phase N runs only when every earlier phase is signed off with the
//! definitions it has now, and this file is what says so — when the phase was signed off and a
//! digest of its definitions then (every stage of the phase, by its definition hash).
//!
//! It is written atomically like every evidence file and listed in MANIFEST.json; read, it is
//! untrusted: a regular file inside the evidence, of a sane size, every field known, the phase
//! its own, its digest the one its stage list gives. Anything else is an error that names it,
//! never a sign-off.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::read::read_confined;
use super::write::EvidenceError;
use crate::config::{Project, Stage};

/// The ledger's name, in the phase's evidence directory.
pub const FILE: &str = "signoff.json";

/// What a ledger may weigh (a line per stage).
const CAP: u64 = 1 << 20;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhaseSignoff {
    pub gaterun_version: String,
    pub phase: u32,
    /// RFC 3339, seconds.
    pub signed_off_at: String,
    pub commit: Option<String>,
    /// `sha256:<hex>` over the stages below: what "its current definitions" is compared by.
    pub definitions: String,
    pub stages: Vec<StageDefinition>,
}

/// One stage of the phase as it was defined when the phase was signed off.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageDefinition {
    pub stage: String,
    /// The stage file, from the repository's top (for messages; not part of the digest: a file
    /// moved unchanged is the same definition).
    pub file: String,
    /// The stage's definition hash, as in its results.json.
    pub definition_hash: String,
}

/// Why a ledger does not count, in words that follow "the sign-off ledger … is".
#[derive(Debug, thiserror::Error)]
pub enum PhaseSignoffError {
    #[error("unreadable ({0})")]
    Read(String),
    #[error("not a gaterun sign-off ledger ({0})")]
    Malformed(String),
}

/// `phase-1/signoff.json`, relative to the evidence directory.
pub fn rel(phase: u32) -> String {
    format!("phase-{phase}/{FILE}")
}

fn path(project: &Project, phase: u32) -> PathBuf {
    super::paths::phase_dir(project, phase).join(FILE)
}

/// The phase's definitions now: its digest and its stages in order.
pub fn definitions(stages: &[Stage], phase: u32) -> (String, Vec<StageDefinition>) {
    let mut list: Vec<&Stage> = stages.iter().filter(|s| s.phase == phase).collect();
    list.sort_by_key(|s| s.key);
    let defs: Vec<StageDefinition> = list
        .iter()
        .map(|s| StageDefinition {
            stage: s.key.to_string(),
            file: s.file.display().to_string(),
            definition_hash: s.definition_hash.clone(),
        })
        .collect();
    (digest(phase, &defs), defs)
}

/// The digest of a phase's stage list: which stages it has (one added or removed changes it)
/// and each one's definition hash.
fn digest(phase: u32, defs: &[StageDefinition]) -> String {
    let mut text = format!("gaterun phase definitions v1\nphase {phase}\n");
    for d in defs {
        text.push_str(&format!("stage {} {}\n", d.stage, d.definition_hash));
    }
    super::manifest::digest(text.as_bytes())
}

/// The ledger for the phase as it is defined now.
pub fn new(stages: &[Stage], phase: u32, commit: Option<String>) -> PhaseSignoff {
    let (definitions, stages) = definitions(stages, phase);
    PhaseSignoff {
        gaterun_version: crate::about::VERSION.to_owned(),
        phase,
        signed_off_at: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        commit,
        definitions,
        stages,
    }
}

/// Write the ledger aside and rename it over the old one.
pub fn write(project: &Project, ledger: &PhaseSignoff) -> Result<(), EvidenceError> {
    let json = serde_json::to_string_pretty(ledger).expect("the sign-off ledger serializes");
    super::write::write_file(&path(project, ledger.phase), json.as_bytes())
}

/// Remove the ledger (the phase no longer stands signed off); a link is removed, never
/// followed.
pub fn remove(project: &Project, phase: u32) {
    let _ = std::fs::remove_file(path(project, phase));
}

/// The phase's ledger: `None` when there is none, `Err` when it is there but does not count.
pub fn read(project: &Project, phase: u32) -> Option<Result<PhaseSignoff, PhaseSignoffError>> {
    let p = path(project, phase);
    match read_confined(&project.evidence_dir, &p, CAP, "evidence") {
        Err(e) if e.not_found() => None,
        Err(e) => Some(Err(PhaseSignoffError::Read(e.reason()))),
        Ok(bytes) => Some(parse(&bytes, phase)),
    }
}

/// A ledger's bytes, held to what gaterun writes: every field known, its own phase, a digest
/// its stage list gives.
pub fn parse(bytes: &[u8], phase: u32) -> Result<PhaseSignoff, PhaseSignoffError> {
    let bad = |why: String| Err(PhaseSignoffError::Malformed(why));
    let l: PhaseSignoff = match serde_json::from_slice(bytes) {
        Ok(l) => l,
        Err(e) => return bad(e.to_string()),
    };
    if l.phase != phase {
        return bad(format!("it is the ledger of phase {}", l.phase));
    }
    if humantime::parse_rfc3339(&l.signed_off_at).is_err() {
        return bad(format!(
            "signed_off_at is no RFC 3339 time: {}",
            serde_json::Value::from(l.signed_off_at.as_str())
        ));
    }
    if l.stages.is_empty() {
        return bad("it lists no stage".to_owned());
    }
    if digest(phase, &l.stages) != l.definitions {
        return bad("its definitions digest is not the one its stage list gives".to_owned());
    }
    Ok(l)
}

/// How the phase's definitions differ from the ledger's, stage by stage
/// (`stage 3 changed in gates/phase-1/03.yaml, stage 4b added in …`).
pub fn changes(ledger: &PhaseSignoff, now: &[StageDefinition]) -> String {
    let mut out = Vec::new();
    for d in now {
        match ledger.stages.iter().find(|s| s.stage == d.stage) {
            None => out.push(format!("stage {} added in {}", d.stage, d.file)),
            Some(s) if s.definition_hash != d.definition_hash => {
                out.push(format!("stage {} changed in {}", d.stage, d.file));
            }
            Some(_) => {}
        }
    }
    for s in &ledger.stages {
        if !now.iter().any(|d| d.stage == s.stage) {
            out.push(format!("stage {} removed", crate::text::shown(&s.stage)));
        }
    }
    if out.is_empty() {
        // Equal stage lists under another digest: only a ledger of another gaterun.
        return "its digest".to_owned();
    }
    out.join(", ")
}
