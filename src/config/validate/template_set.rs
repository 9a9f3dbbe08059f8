//! The templates a file's steps may `use`, validated: gaterun.yaml's, then the file's own.
//! A leaf, so the file context can carry them and `template` (which defines them) and `uses`
//! (which checks each `use`) can both read them without importing each other.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use crate::config::model::Step;

/// One validated template, and where it is written (for the notes of a `use`'s errors).
#[derive(Debug)]
pub struct Template {
    pub params: Vec<String>,
    pub outputs: Vec<String>,
    pub steps: Arc<Vec<Step>>,
    /// The file that defines it, as diagnostics name it, and its text.
    pub file: PathBuf,
    pub text: Arc<str>,
    /// Where the template's definition starts (its first key), and its `params:`.
    pub at: (u64, u64),
    pub params_at: (u64, u64),
    /// Where each param is written, in the order of `params`.
    pub param_at: Vec<(u64, u64)>,
    /// Its definition as canonical JSON when gaterun.yaml defines it: a stage that uses it
    /// folds it into its definition hash, so a changed template makes its results stale.
    pub project: Option<String>,
    /// What its steps (and the templates they use) need of a gate that uses it.
    pub needs: Needs,
    /// How deeply templates nest in it: 1 when it uses none.
    pub depth: usize,
}

/// What a template's steps need of the gate that uses it, each with the step that needs it:
/// checked at every `use`, since only the gate knows its services and database.
#[derive(Debug, Clone, Default)]
pub struct Needs {
    /// A service each `start`/`stop`/`restart` step names, the first step naming it.
    pub services: Vec<(String, Origin)>,
    /// The first `sql` step.
    pub database: Option<Origin>,
    /// A mock each `received` step names, the first step naming it (issue 20).
    pub mocks: Vec<(String, Origin)>,
}

impl Needs {
    /// Add a service the step at `origin` names, unless a step before named it.
    pub fn service(&mut self, name: &str, origin: impl FnOnce() -> Origin) {
        if !self.services.iter().any(|(n, _)| n == name) {
            self.services.push((name.to_owned(), origin()));
        }
    }

    /// Add what a template used by a step needs.
    pub fn extend(&mut self, inner: &Needs) {
        for (name, origin) in &inner.services {
            self.service(name, || origin.clone());
        }
        if self.database.is_none() {
            self.database.clone_from(&inner.database);
        }
        for (name, origin) in &inner.mocks {
            if !self.mocks.iter().any(|(n, _)| n == name) {
                self.mocks.push((name.clone(), origin.clone()));
            }
        }
    }
}

/// A step of a template, for a note: where it is and what it is.
#[derive(Debug, Clone)]
pub struct Origin {
    pub template: String,
    pub label: String,
    pub file: PathBuf,
    pub text: Arc<str>,
    pub line: u64,
}

#[derive(Debug, Clone, Default)]
pub struct Templates {
    pub defined: BTreeMap<String, Arc<Template>>,
    /// Templates whose own errors are reported already (a `use` of one adds none), and the
    /// file of each.
    pub broken: BTreeMap<String, PathBuf>,
}

impl Templates {
    /// The file that defines `name`, valid or not.
    pub fn file_of(&self, name: &str) -> Option<&std::path::Path> {
        match self.defined.get(name) {
            Some(t) => Some(&t.file),
            None => self.broken.get(name).map(PathBuf::as_path),
        }
    }

    pub fn names(&self) -> Vec<&str> {
        self.defined
            .keys()
            .chain(self.broken.keys())
            .map(String::as_str)
            .collect()
    }
}
