//! The one writer of a run's evidence, in the order a reader relies on: a stage's directory
//! begun aside (`begin_stage`), each gate's log written into it as the gate ends (the
//! `StageWriter`), the stage finished — its history line, its directory swapped in, the
//! phase's implementation log, the manifest — before the next stage starts (`finish_stage`),
//! and the invocation's junit.xml, summary.md and index.html last (`finish_run`). What could not be
//! written takes the files it would have contradicted with it.

use std::sync::Arc;

use super::manifest::Manifest;
use super::stage::{StageWriter, discard_stage, write_stage};
use super::write::EvidenceError;
use super::{history, invocation, log, paths};
use crate::config::{Project, Stage, StageKey};
use crate::results::{StageNotes, StageResult};

pub struct Recorder<'a> {
    project: &'a Project,
    manifest: Manifest,
    commit: Option<String>,
}

impl<'a> Recorder<'a> {
    /// The run's recorder, with the manifest as the evidence holds it.
    pub fn open(project: &'a Project, commit: Option<String>) -> Self {
        Recorder {
            project,
            manifest: Manifest::load_or_new(&project.evidence_dir),
            commit,
        }
    }

    /// A stage's evidence directory, built aside until `finish_stage` swaps it in.
    pub fn begin_stage(
        &self,
        phase: u32,
        key: StageKey,
        partial: bool,
    ) -> Result<Arc<StageWriter>, EvidenceError> {
        StageWriter::begin(self.project, phase, key.dir_name(), partial).map(Arc::new)
    }

    /// A stage's evidence: the history line, its directory, the phase's implementation log,
    /// then the manifest (the next stage's gates see it in their copy of the evidence).
    /// `after` runs once the stage is written (the phase's sign-off) and names the files it
    /// wrote or removed, re-hashed only then: a file a gate wrote by the evidence's real path
    /// stays unlisted, and `verify` names it.
    pub fn finish_stage(
        &mut self,
        result: &StageResult,
        writer: Option<Arc<StageWriter>>,
        stage: &Stage,
        phase_stages: &[&Stage],
        after: &mut dyn FnMut(&Stage, &StageResult) -> Vec<String>,
    ) -> Result<(), EvidenceError> {
        let (project, dir) = (self.project, &self.project.evidence_dir);
        let log_rel = format!("phase-{}/IMPLEMENTATION_LOG.md", result.phase);
        if let Err(e) = write_evidence(project, result, &stage.notes(), writer, phase_stages) {
            // What this run could not write must not leave the stage's previous evidence
            // claiming a result the history contradicts.
            discard_stage(project, result.phase, &result.stage, result.partial);
            let m = &mut self.manifest;
            m.forget_stage(project, result.phase, &result.stage, result.partial);
            m.record_file(dir, "history.jsonl");
            m.record_file(dir, &log_rel);
            let _ = m.write(project, self.commit.clone());
            return Err(e);
        }
        let m = &mut self.manifest;
        m.record_stage(project, result, Some(stage));
        m.record_file(dir, "history.jsonl");
        m.record_file(dir, &log_rel);
        if !result.partial {
            for rel in after(stage, result) {
                m.record_file(dir, &rel);
            }
        }
        m.write(project, self.commit.clone())
    }

    /// The invocation's junit.xml, summary.md and index.html, and the manifest last. A run that failed to
    /// write its evidence leaves no invocation file of an earlier run standing for it; the
    /// manifest then says what is left.
    pub fn finish_run(
        mut self,
        outcome: Result<Vec<StageResult>, EvidenceError>,
    ) -> Result<Vec<StageResult>, EvidenceError> {
        let project = self.project;
        let written = outcome.and_then(|results| {
            invocation::write_invocation(project, &results)?;
            Ok(results)
        });
        if written.is_err() {
            invocation::discard_invocation(project);
        }
        for name in invocation::INVOCATION_FILES {
            self.manifest.record_file(&project.evidence_dir, name);
        }
        let recorded = self.manifest.write(project, self.commit.clone());
        let results = written?;
        recorded?;
        Ok(results)
    }
}

/// A stage's files: the history line, its directory, the phase's implementation log.
fn write_evidence(
    project: &Project,
    result: &StageResult,
    notes: &StageNotes,
    writer: Option<Arc<StageWriter>>,
    phase_stages: &[&Stage],
) -> Result<(), EvidenceError> {
    history::append(project, result)?;
    // Every gate task has ended, so the writer is ours alone again.
    match writer.and_then(Arc::into_inner) {
        Some(w) => w.finish(project, result, notes)?,
        None => write_stage(project, result, notes)?,
    }
    if let Err(e) = log::write(project, result.phase, phase_stages) {
        let _ = std::fs::remove_file(
            paths::phase_dir(project, result.phase).join("IMPLEMENTATION_LOG.md"),
        );
        return Err(e);
    }
    Ok(())
}
