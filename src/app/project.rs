//! Where the project is when the stage files need not be valid (`verify`, `merge`, `init`,
//! the GitHub step's outputs): `gaterun.yaml` read leniently, the directories resolved by the
//! one rule `config::project_at` gives `load` too.

use std::path::Path;

use crate::config::{self, Project};
use crate::files::{self, Links};

pub(super) fn locate(cwd: &Path, gates: Option<&Path>, evidence: Option<&Path>) -> Project {
    let root = config::find_root(cwd).unwrap_or_else(|| cwd.to_owned());
    // Never waits on a FIFO or reads a device: a regular file, capped, or nothing.
    let text = files::read(&root.join(config::PROJECT_FILE), 16 << 20, Links::Follow)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .unwrap_or_default();
    let configured: config::raw::RawProject = config::yaml::parse::<Option<_>>(&text)
        .ok()
        .flatten()
        .unwrap_or_default();
    config::project_at(root, cwd, gates, evidence, &configured)
}
