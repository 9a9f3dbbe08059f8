//! The request side of the `http` step against a real server
//! (`tests/fixtures/http_request_server.py`, which tells back what it received): content
//! decoding, the default User-Agent, the cookie jar, any method, query/form/multipart and body
//! forms, the HTTP version, and `save`. Each feature has a gate that passes and a near miss that
//! must fail.

mod common;

use common::Project;

/// A stage of `gates` (YAML list items) sharing one fixture server (`WEB_URL`), run.
fn run_stage(gates: &str) -> (Project, common::Run) {
    let p = Project::new();
    let server = format!(
        "{}/tests/fixtures/http_request_server.py",
        env!("CARGO_MANIFEST_DIR")
    );
    p.stage(
        "s.yaml",
        &format!(
            r#"stage: 0
name: Http
services:
  web:
    run: python3 "{server}"
    ready: {{ http: "${{WEB_URL}}/echo", timeout: 20s }}
gates:
{gates}"#
        ),
    );
    let run = p.run(&["stage", "0"]);
    (p, run)
}

/// Each gate's id, status and message.
fn outcomes(p: &Project) -> Vec<(String, String, String)> {
    let r = p.results("stage-00");
    r["gates"]
        .as_array()
        .expect("gates")
        .iter()
        .map(|g| {
            let s = |k: &str| g[k].as_str().unwrap_or("").to_owned();
            (s("id"), s("status"), s("message"))
        })
        .collect()
}

/// Asserts that the gates named `pass-…` passed and every other one failed with a message
/// containing what `misses` says for it.
#[track_caller]
fn assert_outcomes(p: &Project, run: &common::Run, misses: &[(&str, &str)]) {
    let all = outcomes(p);
    for (id, status, message) in &all {
        if id.starts_with("pass-") {
            assert_eq!(status, "passed", "{id}: {message}\n{}", run.stdout);
            continue;
        }
        let want = misses
            .iter()
            .find(|(m, _)| m == id)
            .unwrap_or_else(|| panic!("no expected failure for {id}"))
            .1;
        assert_eq!(status, "failed", "{id} must fail: {message}");
        assert!(message.contains(want), "{id}: `{message}` lacks `{want}`");
        assert!(!message.contains('\n'), "{id}: one line: {message}");
    }
    for (id, _) in misses {
        assert!(all.iter().any(|(g, ..)| g == id), "no gate {id}");
    }
}

#[test]
fn gzip_deflate_and_brotli_bodies_are_decoded_for_every_check() {
    if !common::python3() {
        return;
    }
    let mut gates = String::new();
    for coding in ["gzip", "deflate", "rawdeflate", "br", "gzip-br"] {
        gates.push_str(&format!(
            r#"  - id: pass-{coding}
    title: a {coding} body is decoded
    http: ${{WEB_URL}}/enc/{coding}
    expect:
      headers: {{ content-encoding: {{ exists: true }} }}
      body: ["hello decoded", "hello from a compressed body"]
      json: {{ "$.greeting": "hello decoded" }}
"#
        ));
    }
    gates.push_str(
        r#"  - id: miss-text
    title: a pattern absent from the decoded text fails
    http: ${WEB_URL}/enc/br
    expect: { body: "hello encoded" }
  - id: miss-negated
    title: a negated pattern present in the decoded text fails
    http: ${WEB_URL}/enc/gzip
    expect: { body: "!hello decoded" }
  - id: miss-zstd
    title: a coding gaterun does not decode fails the body checks
    http: ${WEB_URL}/enc/zstd
    expect: { body: "!anything" }
  - id: pass-zstd-status
    title: without body checks, an undecodable body is fine
    http: ${WEB_URL}/enc/zstd
  - id: miss-corrupt
    title: gzip that is not is one line
    http: ${WEB_URL}/enc/corrupt
  - id: miss-bomb
    title: a gzip bomb stops at the cap
    http: ${WEB_URL}/enc/bomb
    expect: { body: "!x" }
"#,
    );
    let (p, run) = run_stage(&gates);
    assert_outcomes(
        &p,
        &run,
        &[
            ("miss-text", "hello encoded"),
            ("miss-negated", "hello decoded"),
            (
                "miss-zstd",
                "the body is zstd-encoded, which gaterun does not decode",
            ),
            ("miss-corrupt", "the body is not valid gzip ("),
            ("miss-bomb", "only the first 16 MiB of the body were read"),
        ],
    );
    let log = p.read("phase-1/stage-00/logs/pass-gzip.log");
    assert!(
        log.contains("> accept-encoding: gzip, deflate, br"),
        "{log}"
    );
    let line = log
        .lines()
        .find(|l| l.starts_with("< [body decoded from gzip: "))
        .unwrap_or_else(|| panic!("no decoding line: {log}"));
    assert!(line.ends_with(" bytes -> 1240 bytes]"), "{line}");
    assert!(log.contains("\"greeting\": \"hello decoded\""), "{log}");
    let log = p.read("phase-1/stage-00/logs/pass-gzip-br.log");
    assert!(log.contains("< [body decoded from gzip, br: "), "{log}");
    let log = p.read("phase-1/stage-00/logs/miss-bomb.log");
    assert!(
        log.contains(" bytes -> 16777216 bytes (cut at the cap)]"),
        "{log}"
    );
}

#[test]
fn user_agent_and_accept_encoding_are_sent_unless_the_step_sets_them() {
    if !common::python3() {
        return;
    }
    let ua = concat!("gaterun/", env!("CARGO_PKG_VERSION"));
    let (p, run) = run_stage(&format!(
        r#"  - id: pass-defaults
    title: the defaults
    http: ${{WEB_URL}}/echo
    expect:
      json:
        "$.headers['user-agent']": ["{ua}"]
        "$.headers['accept-encoding']": ["gzip, deflate, br"]
  - id: pass-own
    title: the step's own replace them (one value each)
    http: ${{WEB_URL}}/echo
    headers: {{ User-Agent: curl/8, Accept-Encoding: identity }}
    expect:
      json:
        "$.headers['user-agent']": ["curl/8"]
        "$.headers['accept-encoding']": ["identity"]
  - id: miss-ua
    title: the near miss
    http: ${{WEB_URL}}/echo
    expect:
      json: {{ "$.headers['user-agent']": ["gaterun"] }}
"#
    ));
    assert_outcomes(&p, &run, &[("miss-ua", "user-agent")]);
    let log = p.read("phase-1/stage-00/logs/pass-defaults.log");
    assert!(log.contains(&format!("> user-agent: {ua}")), "{log}");
}
