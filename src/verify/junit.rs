//! A JUnit file of the evidence read back (quick-xml) and held against the results.json it
//! was written from: the stage's status, definition and run, and each gate's outcome.

use std::collections::BTreeMap;
use std::path::Path;

use super::problem::{Problem, problem, read_text};
use crate::results::{StageResult, Status};

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
pub(super) struct Suite {
    pub(super) properties: BTreeMap<String, String>,
    pub(super) cases: Vec<(String, &'static str)>,
}

pub(super) fn parse_junit(text: &str) -> Result<Vec<Suite>, String> {
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

/// The stage's junit.xml against its results.json.
pub(super) fn junit_problems(dir: &Path, rel: &str, r: &StageResult) -> Vec<Problem> {
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

pub(super) fn suite_problems(file: &str, suite: &Suite, r: &StageResult) -> Vec<Problem> {
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

pub(super) fn or_none(s: &str) -> &str {
    if s.is_empty() { "nothing" } else { s }
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
