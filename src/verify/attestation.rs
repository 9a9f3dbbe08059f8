//! The in-toto Statement beside the manifest: its subjects are the manifest's files with the
//! digests they have now.

use std::collections::BTreeMap;
use std::path::Path;

use super::problem::{Problem, problem, read_text};
use crate::evidence::manifest;

/// The in-toto Statement: its subjects are the manifest's files (and the manifest), with the
/// digests they have now.
pub(super) fn attestation_problems(dir: &Path, listed: &BTreeMap<String, String>) -> Vec<Problem> {
    let file = manifest::ATTESTATION;
    let text = match read_text(dir, file) {
        Ok(Some(t)) => t,
        Ok(None) => return vec![problem(file, "missing")],
        Err(p) => return vec![p],
    };
    let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) else {
        return vec![problem(file, "not JSON")];
    };
    let mut out = Vec::new();
    if v["_type"] != manifest::STATEMENT_TYPE || v["predicateType"] != manifest::PREDICATE_TYPE {
        out.push(problem(file, "not an in-toto test-result Statement"));
    }
    let mut subjects = BTreeMap::new();
    for s in v["subject"].as_array().into_iter().flatten() {
        if let (Some(n), Some(d)) = (s["name"].as_str(), s["digest"]["sha256"].as_str()) {
            subjects.insert(n.to_owned(), format!("sha256:{d}"));
        }
    }
    let mut want = listed.clone();
    match manifest::hash_file(&dir.join(manifest::MANIFEST)) {
        Ok(h) => {
            want.insert(manifest::MANIFEST.to_owned(), h);
        }
        Err(e) => out.push(problem(manifest::MANIFEST, e.reason())),
    }
    for (name, h) in &want {
        match subjects.get(name) {
            None => out.push(problem(
                file,
                format!("names no subject `{name}` (the manifest lists it)"),
            )),
            Some(d) if d != h => out.push(problem(
                name,
                format!("its sha256 differs from the subject's in {file}"),
            )),
            Some(_) => {}
        }
    }
    for name in subjects.keys() {
        if !want.contains_key(name) {
            out.push(problem(
                file,
                format!("names a subject `{name}` the manifest does not list"),
            ));
        }
    }
    out
}
