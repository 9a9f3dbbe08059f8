//! What every gate of a run shares: the project's directories, the temp dirs, the event sink,
//! the HTTP client and database providers, `--repeat`, and the declared secrets.

use std::path::PathBuf;

use tokio::sync::mpsc;

use super::tmp;
use crate::events::Event;

/// What every gate of a run shares.
pub struct RunContext {
    pub project_root: PathBuf,
    pub gates_dir: PathBuf,
    pub evidence_dir: PathBuf,
    /// Gates' temp directories.
    pub tmp: tmp::TmpDirs,
    pub log_cap: usize,
    pub events: mpsc::UnboundedSender<Event>,
    /// Whether the reporter shows each step as it starts (a progress bar): otherwise no
    /// `StepStarted` is sent, sparing a wake-up of the reporter per step.
    pub step_events: bool,
    pub http: crate::steps::Http,
    pub postgres: crate::database::postgres::Provider,
    /// Issue 18: the templates gates' databases are copied from.
    pub templates: super::templates::Templates,
    pub mysql: crate::database::mysql::Provider,
    /// `--repeat N`: runs of each gate.
    pub repeat: u32,
    /// Every secret any gate of the project declares: the names, kept from the environment of
    /// the gates that do not declare them, and the values set, masked in every gate's output.
    pub secrets: Secrets,
    /// Gates asking for the same fixed port take turns.
    pub fixed_ports: super::fixed_ports::FixedPorts,
    /// Issue 19: the run's headless Chromium, started by the first `browser` step.
    pub browser: crate::steps::browser::Browser,
}

/// The project's declared secrets.
#[derive(Debug, Default, Clone)]
pub struct Secrets {
    pub names: std::collections::BTreeSet<String>,
    pub values: Vec<String>,
}

impl Secrets {
    /// Every `secrets:` name of every gate, with its value from gaterun's environment.
    pub fn declared(stages: &[crate::config::Stage]) -> Secrets {
        let names: std::collections::BTreeSet<String> = stages
            .iter()
            .flat_map(|s| &s.gates)
            .flat_map(|g| g.secrets.iter().cloned())
            .collect();
        let mut values: Vec<String> = names
            .iter()
            .filter_map(|n| std::env::var(n).ok())
            .filter(|v| !v.is_empty())
            .collect();
        // The password of the PostgreSQL or MySQL server gaterun is given is a secret too: it
        // is in every PostgreSQL gate's DATABASE_URL (a MySQL gate's, when that server gives
        // gates no users of their own), which a tool may print.
        use crate::database::{mysql, postgres};
        for password in [postgres::URL_VAR, mysql::URL_VAR]
            .into_iter()
            .filter_map(|var| {
                std::env::var(var)
                    .ok()
                    .and_then(|u| reqwest::Url::parse(&u).ok())
                    .and_then(|u| u.password().map(str::to_owned))
            })
        {
            let decoded = crate::text::percent_decode(&password);
            values.extend([password, decoded].into_iter().filter(|p| !p.is_empty()));
        }
        Secrets { names, values }
    }
}

impl RunContext {
    pub fn send(&self, event: Event) {
        let _ = self.events.send(event);
    }
}
