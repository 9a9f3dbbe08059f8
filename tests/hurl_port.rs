//! The Hurl port: 80 cases in the spirit of Hurl's own integration suite (tests_ok), each a
//! gate that must pass and its near miss — the same request with one expectation wrong by a
//! little — that must fail, against a real HTTP server (tests/hurl_port/server.py, a stage-wide
//! service). The cases are tests/hurl_port/cases.yaml; this runs them all in one stage.

mod common;

use std::collections::BTreeMap;

use common::Project;

const CASES: &str = include_str!("hurl_port/cases.yaml");
const SERVER: &str = include_str!("hurl_port/server.py");

#[test]
fn every_case_passes_and_every_near_miss_fails() {
    if !common::python3() {
        return;
    }
    let p = Project::new();
    p.stage("00-hurl-port.yaml", CASES)
        .file("server.py", SERVER);
    p.run(&["check"]).code(0);
    let run = p.run(&["stage", "0", "--jobs", "4"]);
    run.code(1);
    let r = p.results("stage-00");
    let gates = r["gates"].as_array().expect("gates");
    let mut cases: BTreeMap<String, (Option<String>, Option<String>)> = BTreeMap::new();
    let mut wrong = Vec::new();
    for g in gates {
        let id = g["id"].as_str().expect("id");
        let status = g["status"].as_str().expect("status");
        let message = g["message"].as_str().unwrap_or("");
        let (case, miss) = match id.strip_suffix("-miss") {
            Some(case) => (case, true),
            None => (id, false),
        };
        let slot = cases.entry(case.to_owned()).or_default();
        if miss {
            slot.1 = Some(status.to_owned());
            // A near miss fails on its expectation: a check failure saying what was expected,
            // never an error (a step gaterun could not evaluate) that would fail anything.
            if status != "failed" || !message.contains("expected") {
                wrong.push(format!("{id}: {status}: {message}"));
            }
        } else {
            slot.0 = Some(status.to_owned());
            if status != "passed" {
                wrong.push(format!("{id}: {status}: {message}"));
            }
        }
    }
    assert_eq!(cases.len(), 80, "{:?}", cases.keys());
    for (case, (ok, miss)) in &cases {
        assert!(ok.is_some() && miss.is_some(), "{case} lacks a half");
    }
    assert!(
        wrong.is_empty(),
        "{} of 160 gates went the wrong way:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
