//! `gaterun verify [DIR]`: do the evidence files agree with each other, with the manifest and
//! with the current stage files? Each disagreement is one line naming the file and the reason.
//!
//! The prerequisite check and `signoff` hold each stage they count to the same per-stage rules
//! (`stage_problems`): a results.json flipped to `passed` by hand, or changed after gaterun
//! wrote it, no longer counts as a pass.
//!
//! Every evidence file is read only as a regular file inside the directory (no symbolic link
//! followed, no FIFO waited on), with a size cap: the evidence under review is untrusted.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::config::{Loaded, StageKey};
use crate::evidence::history::Line;
use crate::evidence::manifest::{self, Found, Manifest};
use crate::evidence::{self, PARTIAL_DIR, RESULTS_CAP};
use crate::results::{StageResult, Status};

/// What a markdown or JUnit file of the evidence may weigh.
const TEXT_CAP: u64 = 64 << 20;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Problem {
    /// Relative to the evidence directory.
    pub file: String,
    pub reason: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Both may quote the evidence under review: one inert line, whatever it holds.
        use crate::text::shown;
        write!(f, "{}: {}", shown(&self.file), shown(&self.reason))
    }
}

fn problem(file: impl Into<String>, reason: impl Into<String>) -> Problem {
    Problem {
        file: file.into(),
        reason: reason.into(),
    }
}

/// The files every stage is checked against, read once.
pub struct Ledger<'a> {
    dir: &'a Path,
    manifest: Result<Option<Manifest>, String>,
    /// The history's lines in order; `Err` when it cannot be read.
    history: Result<Vec<Line>, String>,
}

impl<'a> Ledger<'a> {
    pub fn open(dir: &'a Path) -> Ledger<'a> {
        let manifest = Manifest::load(dir).map_err(|e| e.reason());
        let history = match evidence::read_confined(
            dir,
            &dir.join("history.jsonl"),
            evidence::history::CAP,
            "evidence",
        ) {
            Ok(bytes) => Ok(String::from_utf8_lossy(&bytes)
                .lines()
                // A line cut by a full disk or a kill stays unreadable and is skipped.
                .filter_map(|l| serde_json::from_str::<Line>(l).ok())
                .collect()),
            Err(e) if e.not_found() => Ok(Vec::new()),
            Err(e) => Err(e.reason()),
        };
        Ledger {
            dir,
            manifest,
            history,
        }
    }

    /// The latest history line of a stage's full (or partial) runs.
    pub fn last_run(&self, phase: u32, stage: &str, partial: bool) -> Option<&Line> {
        self.history.as_ref().ok()?.iter().rev().find(|l| {
            l.phase == phase
                && StageKey::parse(&l.stage) == StageKey::parse(stage)
                && l.partial == partial
        })
    }

    /// Whether `rel` has the hash the manifest lists for it.
    fn hash_problem(&self, rel: &str) -> Option<Problem> {
        let m = match &self.manifest {
            Ok(Some(m)) => m,
            Ok(None) => {
                return Some(problem(
                    rel,
                    "no MANIFEST.json lists it (evidence not written by this gaterun, or its manifest removed)",
                ));
            }
            Err(e) => return Some(problem(rel, format!("MANIFEST.json is unreadable ({e})"))),
        };
        let Some(want) = m.files.get(rel) else {
            return Some(problem(
                rel,
                "not listed in MANIFEST.json (gaterun did not write it)",
            ));
        };
        // A gate log larger than gaterun writes one is refused unread: a sparse file of
        // gigabytes is free to plant, and hashing it is not.
        let cap = if rel.split('/').any(|p| p == "logs") {
            crate::merge::LOG_READ_CAP
        } else {
            manifest::HASH_CAP
        };
        match manifest::hash_file_within(&self.dir.join(rel), cap) {
            Err(e) if e.not_found() => Some(problem(rel, "missing, but MANIFEST.json lists it")),
            Err(e) => Some(problem(rel, e.reason())),
            Ok(h) if &h != want => Some(problem(
                rel,
                "its sha256 differs from MANIFEST.json's (changed after gaterun wrote it)",
            )),
            Ok(_) => None,
        }
    }
}

/// Read and parse a stage's results.json (`rel` is its stage directory).
pub fn read_results(dir: &Path, rel: &str) -> Result<Option<StageResult>, Problem> {
    let file = format!("{rel}/results.json");
    match evidence::read_confined(dir, &dir.join(&file), RESULTS_CAP, "evidence") {
        Err(e) if e.not_found() => Ok(None),
        Err(e) => Err(problem(file, e.reason())),
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| problem(file, format!("not a gaterun results.json: {e}"))),
    }
}

/// A stage's evidence directory (`phase-1/stage-02`, or its `partial`): does its results.json
/// agree with itself, its junit.xml and report.md, the history and (with `hashes`) the manifest?
pub fn stage_problems(ledger: &Ledger, rel: &str, r: &StageResult, hashes: bool) -> Vec<Problem> {
    let mut out = Vec::new();
    let results = format!("{rel}/results.json");
    if hashes {
        for name in ["results.json", "junit.xml", "report.md"] {
            out.extend(ledger.hash_problem(&format!("{rel}/{name}")));
        }
    }
    // results.json with itself: a stage passes only when every gate did.
    if r.status == Status::Passed
        && let Some(g) = r.gates.iter().find(|g| g.status != Status::Passed)
    {
        out.push(problem(
            &results,
            format!(
                "status passed, but its gate `{}` {}",
                g.id,
                g.status.as_str()
            ),
        ));
    }
    if r.gates.is_empty() && r.status == Status::Passed {
        out.push(problem(&results, "status passed with no gate"));
    }
    out.extend(junit_problems(ledger.dir, rel, r));
    out.extend(report_problems(ledger.dir, rel, r));
    match &ledger.history {
        Err(e) => out.push(problem("history.jsonl", e.clone())),
        Ok(_) => match ledger.last_run(r.phase, &r.stage, r.partial) {
            None => out.push(problem(
                &results,
                format!(
                    "history.jsonl has no line for this run ({} at {})",
                    r.status.as_str(),
                    r.started_at
                ),
            )),
            Some(l) if l.started_at != r.started_at => out.push(problem(
                &results,
                format!(
                    "history.jsonl records a later run ({} at {}) than this one ({} at {})",
                    l.status.as_str(),
                    l.started_at,
                    r.status.as_str(),
                    r.started_at
                ),
            )),
            Some(l) => {
                if l.status != r.status {
                    out.push(problem(
                        &results,
                        format!(
                            "status {}, but history.jsonl says this run {}",
                            r.status.as_str(),
                            l.status.as_str()
                        ),
                    ));
                }
                for g in r.gates.iter().filter(|g| g.attempts > 0) {
                    match l.gates.iter().find(|x| x.id == g.id) {
                        Some(x) if x.status == g.status => {}
                        Some(x) => out.push(problem(
                            &results,
                            format!(
                                "gate `{}` {}, but history.jsonl says {}",
                                g.id,
                                g.status.as_str(),
                                x.status.as_str()
                            ),
                        )),
                        None => out.push(problem(
                            &results,
                            format!(
                                "gate `{}` is not in history.jsonl's line for this run",
                                g.id
                            ),
                        )),
                    }
                }
            }
        },
    }
    out
}

/// The JUnit outcome a gate status is written as.
fn junit_outcome(s: Status) -> &'static str {
    match s {
        Status::Passed => "success",
        Status::Failed => "failure",
        Status::Error | Status::Interrupted => "error",
        Status::Blocked | Status::Skipped => "skipped",
    }
}

/// One `<testsuite>` of a JUnit file: its properties and each testcase's id and outcome.
#[derive(Debug, Default)]
struct Suite {
    properties: BTreeMap<String, String>,
    cases: Vec<(String, &'static str)>,
}

fn parse_junit(text: &str) -> Result<Vec<Suite>, String> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(text);
    let mut suites: Vec<Suite> = Vec::new();
    let attr = |e: &quick_xml::events::BytesStart, key: &[u8]| -> Option<String> {
        e.attributes()
            .flatten()
            .find(|a| a.key.as_ref() == key)
            .and_then(|a| {
                a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                    .ok()
                    .map(|v| v.into_owned())
            })
    };
    let mut depth_in_case = false;
    loop {
        let event = reader.read_event().map_err(|e| e.to_string())?;
        let (e, empty) = match &event {
            Event::Start(e) => (e, false),
            Event::Empty(e) => (e, true),
            Event::End(e) => {
                if e.local_name().as_ref() == b"testcase" {
                    depth_in_case = false;
                }
                continue;
            }
            Event::Eof => break,
            _ => continue,
        };
        match e.local_name().as_ref() {
            b"testsuite" => suites.push(Suite::default()),
            b"property" => {
                if let (Some(s), Some(k), Some(v)) =
                    (suites.last_mut(), attr(e, b"name"), attr(e, b"value"))
                    && !depth_in_case
                {
                    s.properties.insert(k, v);
                }
            }
            b"testcase" => {
                let name = attr(e, b"name").unwrap_or_default();
                let id = name.split(": ").next().unwrap_or_default().to_owned();
                if let Some(s) = suites.last_mut() {
                    s.cases.push((id, "success"));
                }
                depth_in_case = !empty;
            }
            outcome @ (b"failure" | b"error" | b"skipped") if depth_in_case => {
                if let Some((_, o)) = suites.last_mut().and_then(|s| s.cases.last_mut()) {
                    *o = match outcome {
                        b"failure" => "failure",
                        b"error" => "error",
                        _ => "skipped",
                    };
                }
            }
            _ => {}
        }
    }
    Ok(suites)
}

fn read_text(dir: &Path, rel: &str) -> Result<Option<String>, Problem> {
    match evidence::read_confined(dir, &dir.join(rel), TEXT_CAP, "evidence") {
        Err(e) if e.not_found() => Ok(None),
        Err(e) => Err(problem(rel, e.reason())),
        Ok(b) => String::from_utf8(b)
            .map(Some)
            .map_err(|_| problem(rel, "not UTF-8")),
    }
}

/// The stage's junit.xml against its results.json.
fn junit_problems(dir: &Path, rel: &str, r: &StageResult) -> Vec<Problem> {
    let file = format!("{rel}/junit.xml");
    let text = match read_text(dir, &file) {
        Ok(Some(t)) => t,
        Ok(None) => return vec![problem(file, "missing")],
        Err(p) => return vec![p],
    };
    let suites = match parse_junit(&text) {
        Ok(s) => s,
        Err(e) => return vec![problem(file, format!("not valid XML: {e}"))],
    };
    let [suite] = &suites[..] else {
        return vec![problem(
            file,
            format!("{} test suites, not the stage's one", suites.len()),
        )];
    };
    suite_problems(&file, suite, r)
}

fn suite_problems(file: &str, suite: &Suite, r: &StageResult) -> Vec<Problem> {
    let mut out = Vec::new();
    let prop = |k: &str| suite.properties.get(k).map(String::as_str).unwrap_or("");
    if prop("status") != r.status.as_str() {
        out.push(problem(
            file,
            format!(
                "says the stage {}, but results.json says {}",
                or_none(prop("status")),
                r.status.as_str()
            ),
        ));
    }
    if prop("definition_hash") != r.definition_hash {
        out.push(problem(
            file,
            "its definition_hash differs from results.json's (evidence of different stage files)",
        ));
    }
    // Evidence of a gaterun before `started_at` was a property has none: not held against it.
    if !prop("started_at").is_empty() && prop("started_at") != r.started_at {
        out.push(problem(
            file,
            format!(
                "is of the run at {}, but results.json of the run at {}",
                prop("started_at"),
                r.started_at
            ),
        ));
    }
    if suite.cases.len() != r.gates.len() {
        out.push(problem(
            file,
            format!(
                "has {} test cases, but results.json {} gates",
                suite.cases.len(),
                r.gates.len()
            ),
        ));
    }
    for g in &r.gates {
        let want = junit_outcome(g.status);
        match suite.cases.iter().find(|(id, _)| *id == g.id) {
            Some((_, got)) if *got == want => {}
            Some((_, got)) => out.push(problem(
                file,
                format!(
                    "gate `{}` is a {got}, but results.json says {}",
                    g.id,
                    g.status.as_str()
                ),
            )),
            None => out.push(problem(
                file,
                format!("has no test case for gate `{}`", g.id),
            )),
        }
    }
    out
}

fn or_none(s: &str) -> &str {
    if s.is_empty() { "nothing" } else { s }
}

/// The stage's report.md: its verdict and counts against results.json.
fn report_problems(dir: &Path, rel: &str, r: &StageResult) -> Vec<Problem> {
    let file = format!("{rel}/report.md");
    let text = match read_text(dir, &file) {
        Ok(Some(t)) => t,
        Ok(None) => return vec![problem(file, "missing")],
        Err(p) => return vec![p],
    };
    static VERDICT: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(
            r"(?m)^- (?:Acceptance gate result|Partial run[^\n]*?): (pass|fail) \((\d+)/(\d+) (?:selected )?gates\)",
        )
        .expect("static regex")
    });
    let Some(c) = VERDICT.captures(&text) else {
        return vec![problem(file, "has no acceptance gate result line")];
    };
    let verdict = if r.status == Status::Passed {
        "pass"
    } else {
        "fail"
    };
    let (p, n) = (r.passed_count().to_string(), r.gates.len().to_string());
    if c[1] != *verdict || c[2] != p || c[3] != n {
        return vec![problem(
            file,
            format!(
                "says {} ({}/{} gates), but results.json says {} ({p}/{n} gates)",
                &c[1],
                &c[2],
                &c[3],
                r.status.as_str()
            ),
        )];
    }
    Vec::new()
}

/// Every stage evidence directory under `dir`: `phase-1/stage-02` and `phase-1/stage-02/partial`.
fn stage_dirs(dir: &Path) -> Vec<String> {
    let subdirs = |rel: &str, prefix: &str| -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir.join(rel))
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| n.starts_with(prefix))
            .map(|n| {
                if rel.is_empty() {
                    n
                } else {
                    format!("{rel}/{n}")
                }
            })
            .collect();
        v.sort();
        v
    };
    let mut out = Vec::new();
    for phase in subdirs("", "phase-") {
        for stage in subdirs(&phase, "stage-") {
            let partial = format!("{stage}/{PARTIAL_DIR}");
            let has_partial =
                std::fs::symlink_metadata(dir.join(&partial)).is_ok_and(|m| m.file_type().is_dir());
            out.push(stage);
            if has_partial {
                out.push(partial);
            }
        }
    }
    out
}

/// `phase-1` → 1.
fn phase_of(rel: &str) -> Option<u32> {
    rel.split('/').next()?.strip_prefix("phase-")?.parse().ok()
}

/// Check the whole evidence directory. `loaded`: the current stage files, when at hand.
pub fn all(dir: &Path, loaded: Option<&Loaded>) -> Vec<Problem> {
    let ledger = Ledger::open(dir);
    let mut out = Vec::new();
    // The manifest: every covered file listed with its hash, nothing else there.
    let mut found = Vec::new();
    manifest::walk(dir, "", &mut found);
    let listed: BTreeMap<String, String> = match &ledger.manifest {
        Ok(Some(m)) => m.files.clone(),
        Ok(None) => {
            out.push(problem(manifest::MANIFEST, "missing"));
            BTreeMap::new()
        }
        Err(e) => {
            out.push(problem(manifest::MANIFEST, e.clone()));
            BTreeMap::new()
        }
    };
    let manifest_ok = matches!(ledger.manifest, Ok(Some(_)));
    let mut on_disk = BTreeSet::new();
    for f in &found {
        match f {
            Found::Other(rel, why) => out.push(problem(rel, *why)),
            Found::File(rel) => {
                on_disk.insert(rel.clone());
                if manifest_ok {
                    out.extend(ledger.hash_problem(rel));
                }
            }
        }
    }
    for rel in listed.keys() {
        if !on_disk.contains(rel) {
            out.push(problem(rel, "missing, but MANIFEST.json lists it"));
        }
    }
    if manifest_ok {
        out.extend(attestation_problems(dir, &listed));
    }
    // Each stage directory, with itself, the history and the stage files.
    let mut results: BTreeMap<String, StageResult> = BTreeMap::new();
    for rel in stage_dirs(dir) {
        match read_results(dir, &rel) {
            Err(p) => out.push(p),
            Ok(None) => out.push(problem(format!("{rel}/results.json"), "missing")),
            Ok(Some(r)) => {
                if manifest::stage_rel(r.phase, &r.stage)
                    != rel.trim_end_matches(&format!("/{PARTIAL_DIR}"))
                {
                    out.push(problem(
                        format!("{rel}/results.json"),
                        format!("is the result of phase {} stage {}", r.phase, r.stage),
                    ));
                }
                out.extend(stage_problems(&ledger, &rel, &r, false));
                if !rel.ends_with(&format!("/{PARTIAL_DIR}")) {
                    out.extend(definition_problems(&ledger, &rel, &r, loaded));
                }
                results.insert(rel, r);
            }
        }
    }
    // A full run the history records whose results.json is gone (a write that failed).
    if let Ok(lines) = &ledger.history {
        let mut seen = BTreeSet::new();
        for l in lines.iter().rev().filter(|l| !l.partial) {
            let rel = manifest::stage_rel(l.phase, &l.stage);
            if seen.insert(rel.clone()) && !results.contains_key(&rel) {
                out.push(problem(
                    format!("{rel}/results.json"),
                    format!(
                        "missing, but history.jsonl records a run of the stage ({} at {})",
                        l.status.as_str(),
                        l.started_at
                    ),
                ));
            }
        }
    }
    out.extend(invocation_problems(dir, &results));
    out.extend(signoff_problems(dir, &ledger, &results, loaded));
    out.sort();
    out.dedup();
    out
}

/// A full result against the stage file that defines the stage now, and the manifest's record.
fn definition_problems(
    ledger: &Ledger,
    rel: &str,
    r: &StageResult,
    loaded: Option<&Loaded>,
) -> Vec<Problem> {
    let mut out = Vec::new();
    let file = format!("{rel}/results.json");
    if let Ok(Some(m)) = &ledger.manifest {
        match m.stages.get(rel) {
            Some(e) if e.definition_hash != r.definition_hash => out.push(problem(
                &file,
                "its definition_hash differs from the one MANIFEST.json records for the stage",
            )),
            Some(_) => {}
            None => out.push(problem(&file, "MANIFEST.json records no stage file for it")),
        }
    }
    let Some(l) = loaded else {
        return out;
    };
    let key = StageKey::parse(&r.stage);
    match l
        .stages
        .iter()
        .find(|s| s.phase == r.phase && Some(s.key) == key)
    {
        None => out.push(problem(
            &file,
            format!(
                "no stage file defines phase {} stage {} now",
                r.phase, r.stage
            ),
        )),
        Some(s) if s.definition_hash != r.definition_hash => out.push(problem(
            &file,
            format!(
                "stale: {} changed since this run (definition {} then, {} now)",
                s.file.display(),
                short(&r.definition_hash),
                short(&s.definition_hash)
            ),
        )),
        Some(_) => {}
    }
    out
}

fn short(h: &str) -> String {
    h.strip_prefix("sha256:")
        .unwrap_or(h)
        .chars()
        .take(12)
        .collect()
}

/// The in-toto Statement: its subjects are the manifest's files (and the manifest), with the
/// digests they have now.
fn attestation_problems(dir: &Path, listed: &BTreeMap<String, String>) -> Vec<Problem> {
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

/// The invocation's junit.xml and summary.md against the stage results they describe.
fn invocation_problems(dir: &Path, results: &BTreeMap<String, StageResult>) -> Vec<Problem> {
    let mut out = Vec::new();
    let find = |phase: u32, stage: &str, partial: bool| {
        let mut rel = manifest::stage_rel(phase, stage);
        if partial {
            rel = format!("{rel}/{PARTIAL_DIR}");
        }
        results.get(&rel)
    };
    match read_text(dir, "junit.xml") {
        Err(p) => out.push(p),
        Ok(None) => {}
        Ok(Some(text)) => match parse_junit(&text) {
            Err(e) => out.push(problem("junit.xml", format!("not valid XML: {e}"))),
            Ok(suites) => {
                for s in &suites {
                    let prop = |k: &str| s.properties.get(k).cloned().unwrap_or_default();
                    let (Ok(phase), stage) = (prop("phase").parse::<u32>(), prop("stage")) else {
                        out.push(problem("junit.xml", "a test suite names no phase"));
                        continue;
                    };
                    match find(phase, &stage, prop("partial") == "true") {
                        None => out.push(problem(
                            "junit.xml",
                            format!(
                                "reports phase {phase} stage {stage} ({}), which has no results.json",
                                or_none(&prop("status"))
                            ),
                        )),
                        Some(r) => out.extend(
                            suite_problems("junit.xml", s, r)
                                .into_iter()
                                .map(|p| problem(p.file, format!("stage {stage}: {}", p.reason))),
                        ),
                    }
                }
            }
        },
    }
    match read_text(dir, "summary.md") {
        Err(p) => out.push(p),
        Ok(None) => {}
        Ok(Some(text)) => {
            static ROW: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
                regex::Regex::new(
                    r"(?m)^\| phase (\d+) · stage (\w+) — .*?( · partial[^|]*)? \| \S+ (\w+) \| (\d+)/(\d+) \|",
                )
                .expect("static regex")
            });
            for c in ROW.captures_iter(&text) {
                let (Ok(phase), stage) = (c[1].parse::<u32>(), &c[2]) else {
                    continue;
                };
                let word = match &c[4] {
                    "pass" => "passed",
                    "fail" => "failed",
                    other => other,
                };
                match find(phase, stage, c.get(3).is_some()) {
                    None => out.push(problem(
                        "summary.md",
                        format!("reports phase {phase} stage {stage}, which has no results.json"),
                    )),
                    Some(r)
                        if word != r.status.as_str()
                            || c[5] != r.passed_count().to_string()
                            || c[6] != r.gates.len().to_string() =>
                    {
                        out.push(problem(
                            "summary.md",
                            format!(
                                "says stage {stage} {word} ({}/{}), but its results.json says {} ({}/{})",
                                &c[5],
                                &c[6],
                                r.status.as_str(),
                                r.passed_count(),
                                r.gates.len()
                            ),
                        ))
                    }
                    Some(_) => {}
                }
            }
        }
    }
    out
}

/// A SIGNOFF.md: every stage it counts passed, and its figures are the results'.
fn signoff_problems(
    dir: &Path,
    ledger: &Ledger,
    results: &BTreeMap<String, StageResult>,
    loaded: Option<&Loaded>,
) -> Vec<Problem> {
    let mut out = Vec::new();
    let phases: BTreeSet<u32> = results.keys().filter_map(|r| phase_of(r)).collect();
    for phase in phases {
        let file = format!("phase-{phase}/SIGNOFF.md");
        let text = match read_text(dir, &file) {
            Ok(Some(t)) => t,
            Ok(None) => continue,
            Err(p) => {
                out.push(p);
                continue;
            }
        };
        // The criteria: every stage before the sign-off stage, from the stage files when at
        // hand, else from the evidence.
        let criteria: Vec<String> = match loaded {
            Some(l) => l
                .stages
                .iter()
                .filter(|s| s.phase == phase && s.key.number < crate::signoff::SIGNOFF_STAGE)
                .map(|s| manifest::stage_rel(phase, &s.key.to_string()))
                .collect(),
            None => results
                .iter()
                .filter(|(rel, r)| {
                    !rel.ends_with(PARTIAL_DIR)
                        && r.phase == phase
                        && StageKey::parse(&r.stage)
                            .is_some_and(|k| k.number < crate::signoff::SIGNOFF_STAGE)
                })
                .map(|(rel, _)| rel.clone())
                .collect(),
        };
        for rel in &criteria {
            let why = match results.get(rel) {
                None => Some("it has no results.json".to_owned()),
                Some(r) if r.status != Status::Passed => Some(format!("it {}", r.status.as_str())),
                Some(r) => stage_problems(ledger, rel, r, true)
                    .first()
                    .map(|p| format!("its evidence does not agree ({p})")),
            };
            if let Some(why) = why {
                out.push(problem(
                    &file,
                    format!("signs off phase {phase}, but {rel} has not passed: {why}"),
                ));
            }
        }
        static ROW: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
            regex::Regex::new(
                r"(?m)^\| (\w+) \| .*? \| (\d+) \| (\d+) \| [^|]* \| [^|]* \| (?:(\d+)% \((\d+)/(\d+)\)|—) \|$",
            )
            .expect("static regex")
        });
        for c in ROW.captures_iter(&text) {
            let stage = &c[1];
            let (gates, passed) = (&c[2], &c[3]);
            if gates != passed {
                out.push(problem(
                    &file,
                    format!("stage {stage}: {passed} of {gates} gates passed, yet signed off"),
                ));
            }
            if let Some(r) = results.get(&manifest::stage_rel(phase, stage))
                && (r.gates.len().to_string() != gates || r.passed_count().to_string() != passed)
            {
                out.push(problem(
                    &file,
                    format!(
                        "stage {stage}: says {passed}/{gates} passed, but its results.json {}/{}",
                        r.passed_count(),
                        r.gates.len()
                    ),
                ));
            }
            if let Some(p) = c.get(5).and_then(|m| m.as_str().parse::<u64>().ok())
                && passed.parse::<u64>().is_ok_and(|n| p < n)
            {
                out.push(problem(
                    &file,
                    format!(
                        "stage {stage}: says {passed} gates passed beside a pass rate of {}% ({}/{})",
                        &c[4], &c[5], &c[6]
                    ),
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::parse_junit;

    #[test]
    fn junit_outcomes_are_read_per_test_case() {
        let xml = r#"<?xml version="1.0"?><testsuites><testsuite name="s" tests="3"><properties><property name="status" value="failed"/></properties>
<testcase name="a: t"/><testcase name="b: t"><failure message="m">x</failure></testcase>
<testcase name="c: t"><skipped/></testcase><testcase name="d: t"><flakyFailure/></testcase></testsuite></testsuites>"#;
        let s = parse_junit(xml).expect("parses");
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].properties["status"], "failed");
        let cases: Vec<(&str, &str)> = s[0].cases.iter().map(|(a, b)| (a.as_str(), *b)).collect();
        assert_eq!(
            cases,
            [
                ("a", "success"),
                ("b", "failure"),
                ("c", "skipped"),
                ("d", "success")
            ]
        );
        assert!(parse_junit("<testsuite><testcase></testsuite>").is_err());
    }
}
