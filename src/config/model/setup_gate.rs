//! A stage's scope as the gate that runs it: its `setup` steps, shared services, mocks and
//! database, with the stage's defaults. The runner runs it as a gate of its own
//! (runner/scope.rs), and `check` resolves its `${…}` the same way (config/undefined.rs).

use super::{Gate, StageScope};

impl StageScope {
    /// The gate that brings the scope up, named `id`.
    pub fn as_gate(&self, id: &str) -> Gate {
        Gate {
            id: id.to_owned(),
            base_id: id.to_owned(),
            matrix: Vec::new(),
            retries: 0,
            databases: Vec::new(),
            title: "stage setup".to_owned(),
            tags: Vec::new(),
            timeout: self.timeout,
            grace: self.grace,
            workdir: ".".into(),
            env: self.env.clone(),
            secrets: Vec::new(),
            database: self.database.clone(),
            services: self.services.clone(),
            mocks: self.mocks.clone(),
            steps: self.setup.clone(),
            finally: Vec::new(),
            line: 1,
            column: 1,
        }
    }
}
