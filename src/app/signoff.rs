//! `gaterun signoff --phase N`: the phase's exit criteria checked, SIGNOFF.md written (or, run
//! by a gate of the run holding the evidence, only checked), and what is unmet listed.

use crate::config::Loaded;
use crate::evidence;
use crate::exit::{self, Error};
use crate::signoff;
use crate::text;

/// `gaterun signoff`. `nested`: run by a gate of the run holding the evidence (stage 10), whose
/// evidence it must not write: it checks the criteria, and that run writes SIGNOFF.md itself
/// once the stage passes.
pub(super) fn command(loaded: &Loaded, phase: u32, nested: Option<i32>) -> Result<i32, Error> {
    let project = &loaded.project;
    if !loaded.stages.iter().any(|s| s.phase == phase) {
        return Err(crate::plan::no_such_phase(loaded, phase));
    }
    let outcome = match nested {
        Some(pid) => signoff::criteria(project, &loaded.stages, phase).map(|r| {
            out!(
                "phase {phase} signed off: {} stages passed; SIGNOFF.md is written by the gaterun run this gate is part of (pid {pid}) once its stage passes",
                r.len()
            );
        }),
        None => signoff::write(project, &loaded.stages, phase)?.map(|(path, n)| {
            let mut m = evidence::manifest::Manifest::load_or_new(&project.evidence_dir);
            for rel in signoff::files(phase) {
                m.record_file(&project.evidence_dir, &rel);
            }
            if let Err(e) = m.write(project, None) {
                errln!("warning: {e}");
            }
            let shown = path.strip_prefix(&project.root).unwrap_or(&path);
            out!(
                "phase {phase} signed off: {n} stages passed; {}",
                shown.display()
            );
        }),
    };
    match outcome {
        Ok(()) => Ok(exit::PASSED),
        Err(problems) => {
            errln!("phase {phase} cannot be signed off; unmet:");
            for p in &problems {
                errln!("  - {}", text::shown(p));
            }
            Ok(exit::FAILED)
        }
    }
}
