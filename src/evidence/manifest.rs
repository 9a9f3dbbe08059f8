//! `evidence/MANIFEST.json`: the sha256 of each evidence file gaterun wrote, the commit, and
//! the stage files each stage's evidence was written from — what `gaterun verify` and the
//! prerequisite check hold the evidence to.
//!
//! It covers every regular file under the evidence directory except itself, the in-toto
//! Statement (`attestation.intoto.json`, which names the manifest among its subjects), the lock
//! (`.gaterun.lock`) and names starting with a dot (files being written aside).
//!
//! The manifest records what gaterun wrote, never what it finds: a command loads it once,
//! under the evidence lock, then re-hashes only the files and directories it has just written;
//! every other entry keeps its hash. A file someone else changed meanwhile (a gate writing
//! into evidence/ during the run, a hand edit between runs) keeps its old hash in the manifest
//! and is named by `verify`; a file someone else added is not listed, and named too.
//! The manifest is no signature: whoever can write evidence/ can rewrite all of it
//! consistently. The signed Statement (the action's `attest: true`) is what holds then.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::read::ReadError;
use super::write::EvidenceError;
use crate::config::{Project, Stage};
use crate::results::{StageResult, Status};

pub const MANIFEST: &str = "MANIFEST.json";
pub const ATTESTATION: &str = "attestation.intoto.json";
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
pub const PREDICATE_TYPE: &str = "https://in-toto.io/attestation/test-result/v0.1";

/// The largest evidence file hashed: the history's cap, the largest evidence file the ledger
/// reads (gate logs are capped at 8 MiB, `verify` holds them to that).
pub const HASH_CAP: u64 = super::history::CAP;
/// What the manifest itself may weigh.
const MANIFEST_CAP: u64 = 64 << 20;

/// What the manifest covers, written into it for a reader who finds it alone.
const COVERS: &str = "every regular file under the evidence directory except MANIFEST.json, \
attestation.intoto.json, .gaterun.lock and names starting with a dot";

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub gaterun_version: String,
    pub written_at: String,
    /// The commit of the run that wrote the manifest last (`+dirty` if so).
    pub commit: Option<String>,
    pub covers: String,
    /// Path relative to the evidence directory (`/`-separated) → `sha256:<hex>`.
    pub files: BTreeMap<String, String>,
    /// `phase-1/stage-02` → the stage file its evidence was written from.
    pub stages: BTreeMap<String, StageEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StageEntry {
    /// The stage file, from the repository's top.
    pub file: String,
    /// `sha256:<hex>` of the stage file's bytes, when it was readable.
    pub file_sha256: Option<String>,
    /// The stage's definition hash (of its parsed content), as in results.json.
    pub definition_hash: String,
}

/// `sha256:<hex>` of bytes.
pub fn digest(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(7 + bytes.len() * 2);
    s.push_str("sha256:");
    for b in bytes {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// `sha256:<hex>` of a regular evidence file, read in pieces, at most `HASH_CAP`.
pub fn hash_file(path: &Path) -> Result<String, ReadError> {
    hash_file_within(path, HASH_CAP)
}

/// `hash_file` of a file refused unread past `cap` bytes.
pub fn hash_file_within(path: &Path, cap: u64) -> Result<String, ReadError> {
    let mut file = super::read::open_regular(path, cap)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 << 10];
    loop {
        let n = file.read(&mut buf).map_err(|source| ReadError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

/// Whether the manifest lists `rel` (a `/`-separated path under the evidence directory).
pub fn covered(rel: &str) -> bool {
    rel != MANIFEST
        && rel != ATTESTATION
        && !rel
            .split('/')
            .any(|part| part.starts_with('.') || part.is_empty())
}

/// An entry found by `walk`: a covered regular file, or something that is not one.
pub enum Found {
    File(String),
    /// A symbolic link, FIFO, socket or device under evidence/: never read, always named.
    Other(String, &'static str),
}

/// Every covered path under `dir/rel` (a directory), no symbolic link followed, deterministic
/// order. Names starting with a dot are skipped (files aside, the lock).
pub fn walk(dir: &Path, rel: &str, out: &mut Vec<Found>) {
    let at = if rel.is_empty() {
        dir.to_path_buf()
    } else {
        dir.join(rel)
    };
    let entries = match std::fs::read_dir(&at) {
        Ok(entries) => entries,
        // Gone (a stage directory just discarded): nothing there.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
        // Unreadable (no permission; nested past the longest path): whatever it holds is
        // unknown, so it is named rather than passed over as empty.
        Err(_) => {
            if !rel.is_empty() {
                out.push(Found::Other(
                    rel.to_owned(),
                    "a directory that cannot be read",
                ));
            }
            return;
        }
    };
    let mut names: Vec<(Result<String, String>, std::fs::FileType)> = entries
        .flatten()
        .filter_map(|e| {
            let name = e
                .file_name()
                .into_string()
                .map_err(|n| n.to_string_lossy().into_owned());
            Some((name, e.file_type().ok()?))
        })
        .collect();
    names.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, kind) in names {
        let join = |name: &str| {
            if rel.is_empty() {
                name.to_owned()
            } else {
                format!("{rel}/{name}")
            }
        };
        // gaterun never writes such a name, and no manifest could list it: named, not skipped
        // (skipped, `verify` would say `ok` beside it).
        let name = match name {
            Ok(name) => name,
            Err(lossy) => {
                out.push(Found::Other(
                    join(&lossy),
                    "a name that is not UTF-8 (gaterun never writes one)",
                ));
                continue;
            }
        };
        let child = join(&name);
        if name.starts_with('.') || (rel.is_empty() && (name == MANIFEST || name == ATTESTATION)) {
            continue;
        }
        if kind.is_symlink() {
            out.push(Found::Other(
                child,
                "a symbolic link (evidence never holds one)",
            ));
        } else if kind.is_dir() {
            walk(dir, &child, out);
        } else if kind.is_file() {
            out.push(Found::File(child));
        } else {
            out.push(Found::Other(
                child,
                "not a regular file (a FIFO, a device or a socket)",
            ));
        }
    }
}

/// `phase-1/stage-02` for a stage.
pub fn stage_rel(phase: u32, stage: &str) -> String {
    format!("phase-{phase}/{}", super::paths::stage_dir_name(stage))
}

impl Manifest {
    /// The manifest on disk: `Ok(None)` when there is none.
    pub fn load(dir: &Path) -> Result<Option<Manifest>, ReadError> {
        let path = dir.join(MANIFEST);
        let bytes = match super::read::read_regular(&path, MANIFEST_CAP) {
            Ok(b) => b,
            Err(e) if e.not_found() => return Ok(None),
            Err(e) => return Err(e),
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| ReadError::Refused {
                path,
                why: format!("not a gaterun manifest: {e}"),
            })
    }

    /// The manifest to update: the one on disk, or a new one when it is missing or unreadable
    /// (what it listed is then unlisted, and `verify` names it).
    pub fn load_or_new(dir: &Path) -> Manifest {
        Manifest::load(dir).ok().flatten().unwrap_or_default()
    }

    /// `rel` (a file gaterun has just written, or removed) hashed anew.
    pub fn record_file(&mut self, dir: &Path, rel: &str) {
        // gaterun names only files a manifest can list (never itself, the Statement, or a
        // dot name): one it could not would make every `verify` fail.
        debug_assert!(covered(rel), "{rel} is not a file the manifest lists");
        self.files.remove(rel);
        if let Ok(h) = hash_file(&dir.join(rel)) {
            self.files.insert(rel.to_owned(), h);
        }
    }

    /// Every file under `rel` (a directory gaterun has just replaced, or removed) hashed anew:
    /// what was listed under it and is gone is dropped.
    pub fn record_tree(&mut self, dir: &Path, rel: &str) {
        let prefix = format!("{rel}/");
        self.files.retain(|k, _| !k.starts_with(&prefix));
        let mut found = Vec::new();
        walk(dir, rel, &mut found);
        for f in found {
            if let Found::File(f) = f {
                self.record_file(dir, &f);
            }
        }
    }

    /// A stage's evidence directory just written (or removed), with the stage file it ran.
    pub fn record_stage(&mut self, project: &Project, r: &StageResult, stage: Option<&Stage>) {
        let rel = stage_rel(r.phase, &r.stage);
        if r.partial {
            self.record_tree(
                &project.evidence_dir,
                &format!("{rel}/{}", super::paths::PARTIAL_DIR),
            );
            return;
        }
        self.record_tree(&project.evidence_dir, &rel);
        self.record_stage_file(project, &rel, &r.definition_hash, stage);
    }

    fn record_stage_file(
        &mut self,
        project: &Project,
        rel: &str,
        definition_hash: &str,
        stage: Option<&Stage>,
    ) {
        let file = stage
            .map(|s| s.file.display().to_string())
            .unwrap_or_default();
        let file_sha256 = stage.and_then(|s| {
            let bytes = super::read::read_regular(&stage_file_path(project, s), 16 << 20).ok()?;
            Some(digest(&bytes))
        });
        self.stages.insert(
            rel.to_owned(),
            StageEntry {
                file,
                file_sha256,
                definition_hash: definition_hash.to_owned(),
            },
        );
    }

    /// Entries of stage directories that are gone (a stage discarded after a failed write).
    pub fn forget_stage(&mut self, project: &Project, phase: u32, stage: &str, partial: bool) {
        let rel = stage_rel(phase, stage);
        if partial {
            self.record_tree(
                &project.evidence_dir,
                &format!("{rel}/{}", super::paths::PARTIAL_DIR),
            );
        } else {
            self.record_tree(&project.evidence_dir, &rel);
            self.stages.remove(&rel);
        }
    }

    /// Write the manifest, then the in-toto Statement over the evidence it lists, each atomically.
    /// On failure neither is left stale: both are removed (verify then says they are missing).
    pub fn write(
        &mut self,
        project: &Project,
        commit: Option<String>,
    ) -> Result<(), EvidenceError> {
        let dir = &project.evidence_dir;
        self.gaterun_version = crate::about::VERSION.to_owned();
        self.written_at =
            humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
        if commit.is_some() || self.commit.is_none() {
            self.commit = commit;
        }
        self.covers = COVERS.to_owned();
        let json = serde_json::to_string_pretty(&*self).expect("the manifest serializes");
        let written =
            super::write::write_file(&dir.join(MANIFEST), json.as_bytes()).and_then(|()| {
                let statement = statement(dir, self, &digest(json.as_bytes()));
                let text =
                    serde_json::to_string_pretty(&statement).expect("the statement serializes");
                super::write::write_file(&dir.join(ATTESTATION), text.as_bytes())
            });
        if written.is_err() {
            let _ = std::fs::remove_file(dir.join(MANIFEST));
            let _ = std::fs::remove_file(dir.join(ATTESTATION));
        }
        written
    }
}

/// A stage file's path on disk (`Stage::file` is from the repository's top).
pub fn stage_file_path(project: &Project, s: &Stage) -> PathBuf {
    let prefix = crate::config::repo_prefix(&project.root);
    let mut top = project.root.clone();
    for _ in prefix.components() {
        top.pop();
    }
    top.join(&s.file)
}

/// The in-toto Statement (v1) with the test-result predicate: the evidence files (and the
/// manifest) as subjects, the stage files as configuration, each gate of each stage's last
/// full run as a test.
pub fn statement(dir: &Path, m: &Manifest, manifest_digest: &str) -> serde_json::Value {
    use serde_json::json;
    let sha = |h: &str| h.strip_prefix("sha256:").unwrap_or(h).to_owned();
    let mut subject: Vec<serde_json::Value> = m
        .files
        .iter()
        .map(|(name, h)| json!({"name": name, "digest": {"sha256": sha(h)}}))
        .collect();
    subject.push(json!({"name": MANIFEST, "digest": {"sha256": sha(manifest_digest)}}));
    let configuration: Vec<serde_json::Value> = m
        .stages
        .iter()
        .filter(|(_, e)| !e.file.is_empty())
        .map(|(rel, e)| {
            let mut d = json!({
                "name": e.file,
                "annotations": {"evidence": rel, "definitionHash": e.definition_hash},
            });
            // A ResourceDescriptor needs a digest (or a uri): the file's, else the definition's.
            let digest = e.file_sha256.as_deref().unwrap_or(&e.definition_hash);
            d["digest"] = json!({"sha256": sha(digest)});
            d
        })
        .collect();
    let (mut passed, mut warned, mut failed) = (Vec::new(), Vec::new(), Vec::new());
    for (rel, hash) in &m.files {
        let Some(stage) = rel.strip_suffix("/results.json") else {
            continue;
        };
        if stage.ends_with(&format!("/{}", super::paths::PARTIAL_DIR)) {
            continue;
        }
        let Ok(bytes) =
            super::read::read_confined(dir, &dir.join(rel), super::read::RESULTS_CAP, "evidence")
        else {
            failed.push(format!("{stage}: unreadable results.json"));
            continue;
        };
        // The results gaterun wrote, never what is there now: a results.json flipped since
        // (a gate writing by the evidence's real path) is no pass to sign.
        if digest(&bytes) != *hash {
            failed.push(format!(
                "{stage}: results.json changed after gaterun wrote it"
            ));
            continue;
        }
        let Ok(r) = serde_json::from_slice::<StageResult>(&bytes) else {
            failed.push(format!("{stage}: unreadable results.json"));
            continue;
        };
        for g in &r.gates {
            let name = format!("{stage}/{}", g.id);
            match g.status {
                Status::Passed if g.flaky => warned.push(name),
                Status::Passed if r.status == Status::Passed => passed.push(name),
                // A gate that passed in a stage that did not (blocked by an earlier one) is no
                // pass of the phase.
                Status::Passed => warned.push(name),
                _ => failed.push(name),
            }
        }
    }
    // Nothing run is no pass.
    let result = if !failed.is_empty() || passed.is_empty() && warned.is_empty() {
        "FAILED"
    } else if !warned.is_empty() {
        "WARNED"
    } else {
        "PASSED"
    };
    let mut predicate = json!({
        "result": result,
        "configuration": configuration,
        "passedTests": passed,
        "warnedTests": warned,
        "failedTests": failed,
    });
    if let Some(url) = run_url() {
        predicate["url"] = json!(url);
    }
    json!({
        "_type": STATEMENT_TYPE,
        "subject": subject,
        "predicateType": PREDICATE_TYPE,
        "predicate": predicate,
    })
}

/// The CI run, when under GitHub Actions.
fn run_url() -> Option<String> {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let server = var("GITHUB_SERVER_URL")?;
    let repo = var("GITHUB_REPOSITORY")?;
    let run = var("GITHUB_RUN_ID")?;
    let ok = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._/:".contains(&b))
    };
    (ok(&server) && ok(&repo) && ok(&run))
        .then(|| format!("{}/{repo}/actions/runs/{run}", server.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::covered;

    #[test]
    fn what_the_manifest_covers() {
        for (rel, want) in [
            ("junit.xml", true),
            ("phase-1/stage-02/results.json", true),
            ("phase-1/stage-02/logs/a.log", true),
            ("MANIFEST.json", false),
            ("attestation.intoto.json", false),
            ("phase-1/MANIFEST.json", true),
            (".gaterun.lock", false),
            ("phase-1/.stage-02.new-12/results.json", false),
            (".junit.xml.new-3", false),
        ] {
            assert_eq!(covered(rel), want, "{rel}");
        }
    }
}
