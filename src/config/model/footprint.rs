//! What a gate reaches outside gaterun's own process: processes it starts (a command, a
//! service, a database's init command, the browser; not a mock, which is gaterun's) and files
//! it reads by a path the gate names. A gate with neither needs no containment (no cgroup, no proof that one can be
//! joined) and no copy of the evidence: the run skips both, which is most of what a run of
//! plain `http` checks costs beyond its requests.

use super::{Gate, HttpBody, MultipartPart, Stage, Step, StepKind};

impl Step {
    /// Whether the step starts a process: `run`, a `service` step, `browser` (the run's
    /// Chromium), or a `use` of a template that does.
    pub fn starts_processes(&self) -> bool {
        match &self.kind {
            StepKind::Run { .. } | StepKind::Service { .. } | StepKind::Browser(_) => true,
            StepKind::Use { steps, .. } => steps.iter().any(Step::starts_processes),
            StepKind::Http(_) | StepKind::Tcp { .. } | StepKind::Sql { .. } => false,
            // A mock runs in gaterun's own process.
            StepKind::File { .. } | StepKind::Received(_) => false,
        }
    }

    /// Whether the step reads a file named in the gate: `file`, an `http` body or multipart
    /// part from a file, or a `use` of a template that does.
    pub fn reads_files(&self) -> bool {
        match &self.kind {
            StepKind::File { .. } => true,
            StepKind::Http(h) => match &h.body {
                Some(HttpBody::File(_)) => true,
                Some(HttpBody::Multipart(parts)) => parts
                    .iter()
                    .any(|(_, p)| matches!(p, MultipartPart::File { .. })),
                _ => false,
            },
            StepKind::Use { steps, .. } => steps.iter().any(Step::reads_files),
            _ => false,
        }
    }
}

impl Gate {
    /// Whether the gate starts a process: a service, a database (its server or init
    /// command), or a step (its `finally` steps too) that does.
    pub fn starts_processes(&self) -> bool {
        !self.services.is_empty()
            || self.database.is_some()
            || !self.databases.is_empty()
            || self.all_steps().any(Step::starts_processes)
    }

    /// Whether the gate can see the evidence: a process it starts, or a file it reads (by
    /// `${GATERUN_EVIDENCE}`). Only such a gate gets a copy of it made.
    pub fn reads_evidence(&self) -> bool {
        self.starts_processes() || self.all_steps().any(Step::reads_files)
    }

    fn all_steps(&self) -> impl Iterator<Item = &Step> {
        self.steps.iter().chain(&self.finally)
    }
}

impl Stage {
    /// Whether running the stage starts a process: its own setup, services or database, or
    /// one of its gates'.
    pub fn starts_processes(&self) -> bool {
        !self.scope.is_empty() || self.gates.iter().any(Gate::starts_processes)
    }
}
