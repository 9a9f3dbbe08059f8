//! Where the project is, resolved once for every command: the root (the nearest directory up
//! holding `gaterun.yaml` or `gates/`, else the working directory), the gates and evidence
//! directories (the command line's, else `gaterun.yaml`'s, else `gates/` and `evidence/`).
//! Read leniently: commands that work without valid stage files (`verify`, `merge`, `init`,
//! the GitHub step's outputs) still find the configured directories.

use std::path::Path;

use crate::config::{self, Project};

pub(super) fn locate(cwd: &Path, gates: Option<&Path>, evidence: Option<&Path>) -> Project {
    let root = config::find_root(cwd).unwrap_or_else(|| cwd.to_owned());
    // Never waits on a FIFO or reads a device: a regular file, capped, or nothing.
    let text = crate::evidence::read_regular(&root.join(config::PROJECT_FILE), 1 << 20)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .unwrap_or_default();
    let configured: Option<config::raw::RawProject> =
        config::yaml::parse::<Option<_>>(&text).ok().flatten();
    let (gates_file, evidence_file) = configured.map_or((None, None), |c| (c.gates, c.evidence));
    let resolve = |cli: Option<&Path>, file: Option<String>, default: &str| match (cli, file) {
        (Some(p), _) => cwd.join(p),
        (None, Some(p)) => root.join(p),
        (None, None) => root.join(default),
    };
    Project {
        gates_dir: resolve(gates, gates_file, "gates"),
        evidence_dir: resolve(evidence, evidence_file, "evidence"),
        current_phase: None,
        root,
    }
}
