//! The project on disk: its root (where `gaterun.yaml` is), its place in the git repository,
//! and the stage files below the gates directory, each read only if it is a regular file of a
//! sane size in UTF-8.

use std::path::{Path, PathBuf};

use super::diagnostic::Diagnostic;
use super::model::Project;
use super::raw::RawProject;

pub const PROJECT_FILE: &str = "gaterun.yaml";

/// The project root relative to the top of its git repository (`sub/dir`), or nothing when
/// it is the top or in no repository. Asked of git once per root in a process (loading the
/// project and writing the manifest both need it).
pub fn repo_prefix(root: &Path) -> PathBuf {
    static KNOWN: std::sync::Mutex<Vec<(PathBuf, PathBuf)>> = std::sync::Mutex::new(Vec::new());
    let mut known = KNOWN.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, prefix)) = known.iter().find(|(r, _)| r == root) {
        return prefix.clone();
    }
    let prefix = ask_repo_prefix(root);
    known.push((root.to_path_buf(), prefix.clone()));
    prefix
}

fn ask_repo_prefix(root: &Path) -> PathBuf {
    if !may_be_in_git(root) {
        return PathBuf::new();
    }
    std::process::Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["rev-parse", "--show-prefix"])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
        .unwrap_or_default()
}

/// Whether git could find a repository for `root`: an ancestor holds `.git` (or is a bare
/// repository), or the environment names one (`GIT_DIR`, `GIT_WORK_TREE`). Git finds no more
/// than this, so a `false` spares a process that could only fail (milliseconds a run pays
/// twice).
pub fn may_be_in_git(root: &Path) -> bool {
    if ["GIT_DIR", "GIT_WORK_TREE", "GIT_COMMON_DIR"]
        .iter()
        .any(|v| std::env::var_os(v).is_some())
    {
        return true;
    }
    let absolute = std::path::absolute(root).unwrap_or_else(|_| root.to_path_buf());
    absolute.ancestors().any(|d| {
        d.join(".git").symlink_metadata().is_ok()
            || (d.join("HEAD").is_file() && d.join("objects").is_dir())
    })
}

pub fn find_root(cwd: &Path) -> Option<PathBuf> {
    cwd.ancestors()
        .find(|d| d.join(PROJECT_FILE).is_file())
        .map(Path::to_path_buf)
}

/// The project at `root`: its gates and evidence directories are the command line's (relative
/// to the working directory), else `gaterun.yaml`'s (relative to the root), else `gates/` and
/// `evidence/` under the root. The one place they are resolved, for `load` and for the
/// commands that work without valid stage files.
pub fn project_at(
    root: PathBuf,
    cwd: &Path,
    gates: Option<&Path>,
    evidence: Option<&Path>,
    configured: &RawProject,
) -> Project {
    let resolve = |cli: Option<&Path>, file: &Option<String>, default: &str| match (cli, file) {
        (Some(p), _) => cwd.join(p),
        (None, Some(p)) => root.join(p),
        (None, None) => root.join(default),
    };
    Project {
        gates_dir: resolve(gates, &configured.gates, "gates"),
        evidence_dir: resolve(evidence, &configured.evidence, "evidence"),
        current_phase: configured.current_phase.as_ref().map(|p| p.value),
        root,
    }
}

pub fn relative(path: &Path, root: &Path) -> PathBuf {
    path.strip_prefix(root)
        .map(Path::to_path_buf)
        .unwrap_or_else(|_| path.to_path_buf())
}

/// The largest stage file read: far past any real one, and what a parse can take in time.
const FILE_CAP: u64 = 16 << 20;

/// A stage file's bytes: only from a regular file (a FIFO would block, `/dev/zero` never end),
/// at most `FILE_CAP`. A link is followed: stage files are the user's own tree.
fn read_regular(file: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let f = crate::files::open(file, u64::MAX, crate::files::Links::Follow)
        .map_err(|e| std::io::Error::other(e.reason()))?;
    let len = f.metadata()?.len();
    if len > FILE_CAP {
        return Err(std::io::Error::other(format!(
            "the file is {} MiB, more than the {} MiB a stage file may be",
            len >> 20,
            FILE_CAP >> 20
        )));
    }
    let mut data = Vec::new();
    f.take(FILE_CAP).read_to_end(&mut data)?;
    Ok(data)
}

pub fn read(file: &Path, root: &Path, diagnostics: &mut Vec<Diagnostic>) -> Option<String> {
    let shown = relative(file, root);
    match read_regular(file) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => Some(text),
            Err(e) => {
                let offset = e.utf8_error().valid_up_to();
                let before = &e.as_bytes()[..offset];
                let line = before.iter().filter(|b| **b == b'\n').count() as u64 + 1;
                let col = (offset
                    - before
                        .iter()
                        .rposition(|b| *b == b'\n')
                        .map_or(0, |p| p + 1)) as u64
                    + 1;
                diagnostics.push(Diagnostic::error(
                    &shown,
                    line,
                    col,
                    "the file is not valid UTF-8",
                ));
                None
            }
        },
        Err(e) => {
            diagnostics.push(Diagnostic::error(
                &shown,
                0,
                0,
                format!("failed to read: {e}"),
            ));
            None
        }
    }
}

/// Every `*.yaml` / `*.yml` below the gates root, recursively, in a stable order. Hidden
/// directories are skipped.
pub fn discover(dir: &Path) -> Result<Vec<PathBuf>, String> {
    if !dir.is_dir() {
        return Err(format!(
            "no gates directory here: create {} (`gaterun init` writes a skeleton) or pass --gates DIR",
            dir.display()
        ));
    }
    use std::os::unix::fs::MetadataExt;
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    // Each directory once, however many links lead to it: a symlink loop ends here.
    let mut seen: std::collections::HashSet<(u64, u64)> = std::collections::HashSet::new();
    while let Some(d) = pending.pop() {
        match std::fs::metadata(&d) {
            Ok(m) if seen.insert((m.dev(), m.ino())) => {}
            _ => continue,
        }
        let entries =
            std::fs::read_dir(&d).map_err(|e| format!("failed to read {}: {e}", d.display()))?;
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            if name.to_string_lossy().starts_with('.') {
                continue;
            }
            let ty = entry
                .file_type()
                .map_err(|e| format!("failed to read {}: {e}", path.display()))?;
            if ty.is_dir() || (ty.is_symlink() && path.is_dir()) {
                pending.push(path);
            } else if matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("yaml" | "yml")
            ) {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn git_is_asked_only_where_a_repository_could_be() {
        if ["GIT_DIR", "GIT_WORK_TREE", "GIT_COMMON_DIR"]
            .iter()
            .any(|v| std::env::var_os(v).is_some())
        {
            errln!("skipping: the environment names a git repository");
            return;
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let project = dir.path().join("a/b");
        std::fs::create_dir_all(&project).expect("mkdir");
        // A temp dir may itself sit inside a repository: only judge below a known root.
        if super::may_be_in_git(dir.path()) {
            errln!("skipping: the temp directory is inside a git repository");
            return;
        }
        assert!(!super::may_be_in_git(&project));
        // A work tree (`.git` directory, or a worktree's `.git` file) above the project.
        std::fs::write(dir.path().join("a/.git"), "gitdir: /elsewhere\n").expect("write");
        assert!(super::may_be_in_git(&project));
        std::fs::remove_file(dir.path().join("a/.git")).expect("rm");
        // A bare repository: HEAD and objects/.
        std::fs::write(dir.path().join("a/HEAD"), "ref: refs/heads/main\n").expect("write");
        assert!(
            !super::may_be_in_git(&project),
            "HEAD alone is no repository"
        );
        std::fs::create_dir(dir.path().join("a/objects")).expect("mkdir");
        assert!(super::may_be_in_git(&project));
    }
}
