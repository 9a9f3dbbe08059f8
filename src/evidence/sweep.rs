//! Leftovers of a killed earlier run: directories and files written aside and never swapped
//! in or renamed over.

use std::path::{Path, PathBuf};

use crate::config::Project;

/// Remove what a killed earlier run may have left aside: `.stage-02.new-<pid>` directories,
/// `.junit.xml.new-<pid>` files, `.stage-02.new-<pid>.old` directories, at the evidence root,
/// in each phase directory and in each stage directory (`.partial.new-<pid>`). Called with the
/// evidence lock held.
pub fn sweep_leftovers(project: &Project) {
    let subdirs = |dir: &Path| -> Vec<PathBuf> {
        std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
            .map(|e| e.path())
            .collect()
    };
    let phases = subdirs(&project.evidence_dir);
    let stages: Vec<PathBuf> = phases.iter().flat_map(|p| subdirs(p)).collect();
    let mut dirs = vec![project.evidence_dir.clone()];
    dirs.extend(phases);
    dirs.extend(stages);
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let Some((_, rest)) = name.rsplit_once(".new-") else {
                continue;
            };
            if !name.starts_with('.') {
                continue;
            }
            // `<pid>`, or `<pid>-<n>` for a file (`write_file`).
            let pid = rest
                .trim_end_matches(".old")
                .split('-')
                .next()
                .and_then(|p| p.parse::<i32>().ok());
            let alive = pid.is_some_and(|p| {
                p != std::process::id() as i32 && Path::new(&format!("/proc/{p}")).exists()
            });
            if !alive {
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    let _ = std::fs::remove_dir_all(e.path());
                } else {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
    }
}
