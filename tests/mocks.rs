//! Issue 20: `mocks:` (fake HTTP APIs a gate or a stage runs) and the `received` step, against
//! the real binary. The system under test is played by `http` steps sending to the mock; each
//! near miss stands beside a passing twin, and fails with its one-line message.

mod common;

use common::{Project, outcomes};

/// Run stage 0 and return each gate's (id, status, message).
fn run_stage(yaml: &str) -> (Project, Vec<(String, String, String)>) {
    let p = Project::new();
    p.stage("s.yaml", yaml);
    p.run(&["stage", "0"]);
    let o = outcomes(&p);
    (p, o)
}

fn regex_found(text: &str, re: &str) -> bool {
    regex::Regex::new(re).expect("regex").is_match(text)
}

#[track_caller]
fn assert_outcome(got: &[(String, String, String)], id: &str, status: &str, message: &str) {
    let g = got
        .iter()
        .find(|(i, _, _)| i == id)
        .unwrap_or_else(|| panic!("no gate {id} in {got:?}"));
    assert_eq!((g.1.as_str(), g.2.as_str()), (status, message), "gate {id}");
}

const GH: &str = "
    mocks:
      gh:
        routes:
          - match: POST /pulls
            respond: { status: 201 }
          - match: GET /a
            respond: { status: 200 }
          - match: GET /b
            respond: { status: 200 }
";

#[test]
fn near_misses_fail_in_one_line_beside_their_passing_twins() {
    let gates = [
        (
            "once",
            "- http: POST ${GH_URL}/pulls\n        expect: { status: 201 }\n      - received: gh\n        match: POST /pulls\n        expect: { count: 1 }",
        ),
        (
            "twice",
            "- http: POST ${GH_URL}/pulls\n        expect: { status: 201 }\n      - http: POST ${GH_URL}/pulls\n        expect: { status: 201 }\n      - received: gh\n        match: POST /pulls\n        expect: { count: 1 }",
        ),
        (
            "in-order",
            "- http: GET ${GH_URL}/a\n      - http: GET ${GH_URL}/b\n      - received: gh\n        expect: { order: [ GET /a, GET /b ] }",
        ),
        (
            "out-of-order",
            "- http: GET ${GH_URL}/b\n      - http: GET ${GH_URL}/a\n      - received: gh\n        expect: { order: [ GET /a, GET /b ] }",
        ),
        (
            "with-header",
            "- http: POST ${GH_URL}/pulls\n        headers: { Authorization: Bearer t0k }\n        expect: { status: 201 }\n      - received: gh\n        match: POST /pulls\n        expect: { headers: { authorization: \"/^Bearer /\" } }",
        ),
        (
            "without-header",
            "- http: POST ${GH_URL}/pulls\n        expect: { status: 201 }\n      - received: gh\n        match: POST /pulls\n        expect: { headers: { authorization: \"/^Bearer /\" } }",
        ),
        (
            "expected-call",
            "- http: GET ${GH_URL}/a\n      - received: gh\n        expect: { unexpected: 0 }",
        ),
        (
            "unexpected-call",
            "- http: GET ${GH_URL}/nope\n        expect: { status: 404 }\n      - received: gh\n        expect: { unexpected: 0 }",
        ),
    ];
    let mut yaml = "stage: 0\nname: Mocks\ngates:\n".to_owned();
    for (id, steps) in gates {
        yaml.push_str(&format!(
            "  - id: {id}\n    title: {id}\n{GH}    steps:\n      {steps}\n"
        ));
    }
    let (_p, got) = run_stage(&yaml);
    for id in ["once", "in-order", "with-header", "expected-call"] {
        assert_outcome(&got, id, "passed", "");
    }
    assert_outcome(
        &got,
        "twice",
        "failed",
        "step 3 (received: gh POST /pulls): expected the number of POST /pulls requests to mock `gh` to be 1, got 2: #1 POST /pulls → 201, #2 POST /pulls → 201",
    );
    assert_outcome(
        &got,
        "out-of-order",
        "failed",
        "step 3 (received: gh): expected requests to mock `gh` in the order GET /a, GET /b, got #1 GET /b → 200, #2 GET /a → 200",
    );
    assert_outcome(
        &got,
        "without-header",
        "failed",
        "step 2 (received: gh POST /pulls): expected header authorization to match /^Bearer /, got none (request #1 to mock `gh`: POST /pulls)",
    );
    assert_outcome(
        &got,
        "unexpected-call",
        "failed",
        "step 2 (received: gh): expected the number of unexpected requests to mock `gh` (no route matched) to be 0, got 1: #1 GET /nope → 404",
    );
}

#[test]
fn routes_match_as_expectations_judge_and_answer_in_sequence_with_templates() {
    let yaml = r#"stage: 0
name: Mocks
gates:
  - id: g
    title: routes, matchers, sequences, templates
    env: { REPO: acme/app }
    mocks:
      github:
        routes:
          - match: POST /repos/${REPO}/pulls
            json: { "$.title": "/fix/", "$.draft": false }
            headers: { x-token: "t0k" }
            query: { dry: { equals: "no" } }
            respond: { status: 201, json: { number: 7, head: "{{request.json.$.head}}", n: "{{request.json.$.n}}", port: "${GITHUB_PORT}" } }
          - match: GET /rate_limit
            respond:
              - { status: 429, headers: { Retry-After: "1" } }
              - { status: 200, json: { remaining: 10 } }
          - match: GET /^/users/(?P<id>\d+)$/
            respond: { body: "user {{request.match.id}} of ${REPO} by {{request.method}} {{request.query.q}}", headers: { X-Echo: "{{request.headers.x-in}}" } }
          - match: "* /body"
            body: "needle"
            respond: { status: 204 }
        unmatched: { status: 418, body: "no route" }
    steps:
      - http: POST ${GITHUB_URL}/repos/acme/app/pulls?dry=no
        headers: { X-Token: t0k }
        json: { title: "a fix", head: "fix-1", n: 3, draft: false }
        expect: { status: 201, json: { "$.number": 7, "$.head": "fix-1", "$.n": 3, "$.port": "${GITHUB_PORT}" } }
      # Near misses of each matcher: unmatched.
      - http: POST ${GITHUB_URL}/repos/acme/app/pulls?dry=no
        headers: { X-Token: t0k }
        json: { title: "a fax", head: "fix-1", draft: false }
        expect: { status: 418, body: { equals: "no route" } }
      - http: POST ${GITHUB_URL}/repos/acme/app/pulls?dry=no
        headers: { X-Token: t0k }
        json: { title: "a fix", head: "fix-1", draft: "false" }
        expect: { status: 418 }
      - http: POST ${GITHUB_URL}/repos/acme/app/pulls?dry=no
        headers: { X-Token: x0k }
        json: { title: "a fix", head: "fix-1", draft: false }
        expect: { status: 418 }
      - http: POST ${GITHUB_URL}/repos/acme/app/pulls?dry=nope
        headers: { X-Token: t0k }
        json: { title: "a fix", head: "fix-1", draft: false }
        expect: { status: 418 }
      - http: POST ${GITHUB_URL}/repos/acme/app/pulls/
        headers: { X-Token: t0k }
        json: { title: "a fix", head: "fix-1", draft: false }
        expect: { status: 418 }
      - http: GET ${GITHUB_URL}/rate_limit
        expect: { status: 429, headers: { retry-after: { equals: "1" } } }
      - http: GET ${GITHUB_URL}/rate_limit
        expect: { status: 200, json: { "$.remaining": 10 } }
      - http: GET ${GITHUB_URL}/rate_limit
        expect: { status: 200 }
      - http: GET ${GITHUB_URL}/users/42?q=hi
        headers: { X-In: echoed }
        expect: { body: { equals: "user 42 of acme/app by GET hi" }, headers: { x-echo: { equals: echoed } } }
      - http: GET ${GITHUB_URL}/users/42x
        expect: { status: 418 }
      - http: PUT ${GITHUB_URL}/body
        body: "a needle in it"
        expect: { status: 204 }
      - http: PUT ${GITHUB_URL}/body
        body: "a needl in it"
        expect: { status: 418 }
      - received: github
        match: POST /repos/${REPO}/pulls
        expect: { count: 5, headers: { x-token: "/^(t0k|x0k)$/" } }
      - received: github
        match: GET /rate_limit
        expect: { count: { ge: 3 } }
      - received: github
        expect: { unexpected: 7 }
"#;
    let (p, got) = run_stage(yaml);
    assert_outcome(&got, "g", "passed", "");
    let log = p.read("phase-1/stage-00/logs/g.log");
    assert!(log.contains("── mock github: http://127.0.0.1:"), "{log}");
    assert!(
        regex_found(
            &log,
            r"── mock github #1 at \+\d+\.\d{3}s: POST /repos/acme/app/pulls\?dry=no → route 1 \(line 10\)"
        ),
        "{log}"
    );
    assert!(
        regex_found(
            &log,
            r"── mock github #2 at \+\d+\.\d{3}s: POST /repos/acme/app/pulls\?dry=no → no route: unexpected"
        ),
        "{log}"
    );
    assert!(log.contains("github< 429\ngithub< Retry-After: 1"), "{log}");
}

#[test]
fn a_received_count_under_eventually_waits_for_a_late_call_and_a_missing_one_fails() {
    let yaml = r#"stage: 0
name: Mocks
gates:
  - id: late
    title: a call that comes later
    mocks:
      hook:
        routes:
          - match: POST /done
            respond: { status: 200 }
    steps:
      - run: (sleep 0.3; curl -s -XPOST "$HOOK_URL/done") > /dev/null 2>&1 &
        expect: { exit: 0 }
      - received: hook
        match: POST /done
        eventually: 5s
        expect: { count: 1 }
  - id: quiet
    title: a mock sent nothing got nothing unexpected
    mocks:
      hook:
        routes:
          - match: POST /done
            respond: { status: 200 }
    steps:
      - received: hook
        expect: { unexpected: 0 }
  - id: never
    title: a call that never comes
    mocks:
      hook:
        routes:
          - match: POST /done
            respond: { status: 200 }
    steps:
      - http: GET ${HOOK_URL}/other
        expect: { status: 404 }
      - received: hook
        match: POST /done
        eventually: 300ms
"#;
    let (_p, got) = run_stage(yaml);
    assert_outcome(&got, "late", "passed", "");
    assert_outcome(&got, "quiet", "passed", "");
    let never = got.iter().find(|g| g.0 == "never").expect("never");
    assert_eq!(never.1, "failed");
    assert!(
        never.2.starts_with("step 2 (received: hook POST /done): expected a POST /done request to mock `hook`, got none (it got #1 GET /other → 404) (after "),
        "{}",
        never.2
    );
}

#[test]
fn delay_and_drop_hold_back_or_close_and_a_stage_mock_serves_every_gate() {
    let yaml = r#"stage: 0
name: Mocks
mocks:
  tracker:
    routes:
      - match: GET /slow
        respond: { delay: 300ms, body: late }
      - match: GET /flaky
        respond: [ { drop: true }, { status: 200, body: back } ]
gates:
  - id: slow
    title: a delayed answer
    http: GET ${TRACKER_URL}/slow
    expect: { body: late, duration: { ge: 300ms } }
  - id: dropped-then-back
    title: a dropped connection, then an answer
    steps:
      - http: GET ${TRACKER_URL}/flaky
        eventually: 5s
        expect: { body: back }
      - received: tracker
        match: GET /flaky
        expect: { count: 2 }
"#;
    let (p, got) = run_stage(yaml);
    assert_outcome(&got, "slow", "passed", "");
    assert_outcome(&got, "dropped-then-back", "passed", "");
    let setup = p.read("phase-1/stage-00/logs/_setup.log");
    assert!(
        setup.contains("tracker< [connection dropped, no answer]"),
        "{setup}"
    );
    assert!(setup.contains("tracker< [after 300ms]"), "{setup}");
}

#[test]
fn traffic_in_the_log_is_masked_and_credentials_redacted() {
    let yaml = r#"stage: 0
name: Mocks
gates:
  - id: g
    title: secrets never reach the log
    secrets: [MOCK_SECRET]
    mocks:
      api:
        routes:
          - match: POST /login
            respond: { json: { echo: "{{request.body}}" } }
    steps:
      - http: POST ${API_URL}/login
        headers: { Authorization: "Bearer ${MOCK_SECRET}", X-Api-Key: "${MOCK_SECRET}" }
        body: "password=${MOCK_SECRET}&\u001b[31mred::error::x"
        expect: { status: 200 }
"#;
    let p = Project::new();
    p.stage("s.yaml", yaml);
    p.cmd(&["stage", "0"])
        .env("MOCK_SECRET", "hunter2-s3cr3t")
        .output()
        .expect("run");
    assert_outcome(&outcomes(&p), "g", "passed", "");
    let log = p.read("phase-1/stage-00/logs/g.log");
    assert!(!log.contains("hunter2-s3cr3t"), "{log}");
    assert!(
        log.contains("api> authorization: Bearer [redacted]"),
        "{log}"
    );
    assert!(log.contains("api> x-api-key: [redacted]"), "{log}");
    assert!(log.contains("password=***"), "{log}");
    assert!(!log.contains('\u{1b}'), "{log}");
}

#[test]
fn check_locates_every_mistake_of_mocks_and_received() {
    let p = Project::new();
    p.stage(
        "s.yaml",
        r#"stage: 0
name: Mocks
gates:
  - id: a
    title: t
    mocks:
      gh:
        routes:
          - match: /pulls
            respond: { status: 201 }
          - match: GET /users/(\d+/
            respond: { status: 200 }
          - match: GET /repos/
            respond: { json: { a: "{{request.nope}}" } }
          - match: GET /x
            respond: [ { status: 700 }, { drop: true, status: 200 } ]
    steps:
      - received: github
      - received: gh
        expect: { order: [ x ], count: 0, json: { "$.a": 1 } }
"#,
    );
    let run = p.run(&["check"]);
    run.code(2);
    let want = [
        "gates/s.yaml:9:20: error: `match` takes METHOD PATH (`GET /users`, `POST /^/users/\\d+$/`, `* /any`), got `/pulls`",
        "gates/s.yaml:11:20: error: `match`: invalid regex `/users/(\\d+/`: unclosed group",
        "gates/s.yaml:13:20: error: `match`: `/repos/` is read as a regex (a PATH between slashes), which finds `repos` anywhere in the path: write `/^/repos/$/` for exactly that path, or leave out the trailing slash",
        "gates/s.yaml:14:22: error: `respond.json`: unknown template `{{request.nope}}`: use request.method, request.path, request.body, request.query.NAME, request.headers.NAME, request.json.$.PATH, request.match.N",
        "gates/s.yaml:16:34: error: `respond`: invalid status `700`: use a code from 100 to 599",
        "gates/s.yaml:16:22: error: `respond`: `drop: true` closes the connection without an answer, so it takes no `status`, `headers`, `json` or `body` (a `delay` only)",
        "gates/s.yaml:18:19: error: `received` names an unknown mock `github` (its mocks: gh)",
        "gates/s.yaml:20:28: error: `expect.order` takes METHOD PATH (`GET /users`, `POST /^/users/\\d+$/`, `* /any`), got `x`",
        "gates/s.yaml:20:17: error: `expect.count: 0` says no request arrives, so `json` and `headers` would hold for nothing: drop them, or expect a count",
    ];
    for w in want {
        assert!(
            run.stderr.contains(w),
            "missing {w}\n--- stderr\n{}",
            run.stderr
        );
    }
    // An unknown key is located, with the nearest known one.
    p.stage(
        "s.yaml",
        "stage: 0\nname: M\ngates:\n  - id: a\n    title: t\n    mocks:\n      gh:\n        routes:\n          - match: GET /a\n            respond: { stauts: 200 }\n    run: 'true'\n",
    );
    let run = p.run(&["check"]);
    run.code(2);
    assert!(
        run.stderr
            .contains("gates/s.yaml:10:24: error: unknown key 'stauts', did you mean 'status'?"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_mock_may_not_set_the_variables_of_a_service_or_another_mock() {
    let p = Project::new();
    p.stage(
        "s.yaml",
        r#"stage: 0
name: Mocks
mocks:
  tracker:
    routes: [ { match: GET /a, respond: { status: 200 } } ]
gates:
  - id: a
    title: t
    services:
      api: { run: sleep 5 }
      tracker: { run: sleep 5 }
    mocks:
      api:
        routes: [ { match: GET /a, respond: { status: 200 } } ]
      my-hook:
        routes: [ { match: GET /a, respond: { status: 200 } } ]
      my_hook:
        routes: [ { match: GET /a, respond: { status: 200 } } ]
    run: "true"
"#,
    );
    let run = p.run(&["check"]);
    run.code(2);
    for w in [
        "gates/s.yaml:11:23: error: service `tracker` would set the variables of `tracker`, a mock of the stage: give it another name",
        "gates/s.yaml:14:17: error: mock `api` would set API_URL and API_PORT, as `api`, a service of this gate, does: give it another name",
        "gates/s.yaml:18:17: error: mock `my_hook` would set MY_HOOK_URL and MY_HOOK_PORT, as `my-hook`, another mock, does: give it another name",
    ] {
        assert!(
            run.stderr.contains(w),
            "missing {w}\n--- stderr\n{}",
            run.stderr
        );
    }
}

#[test]
fn a_retry_that_ignores_retry_after_fails_on_its_gap() {
    let gate = |id: &str, wait: &str| {
        format!(
            r#"  - id: {id}
    title: retries after a 429
    mocks:
      tracker:
        routes:
          - match: POST /notify
            respond: [ {{ status: 429, headers: {{ Retry-After: "1" }} }}, {{ status: 200 }} ]
    steps:
      - run: curl -s -o /dev/null -XPOST "$TRACKER_URL/notify"; {wait} curl -s -o /dev/null -XPOST "$TRACKER_URL/notify"
      - received: tracker
        match: POST /notify
        expect: {{ count: 2, gap: {{ ge: 1s }} }}
"#
        )
    };
    let yaml = format!(
        "stage: 0\nname: Mocks\ngates:\n{}{}",
        gate("waits", "sleep 1;"),
        gate("hurries", "")
    );
    let (_p, got) = run_stage(&yaml);
    assert_outcome(&got, "waits", "passed", "");
    let hurries = got.iter().find(|g| g.0 == "hurries").expect("hurries");
    assert_eq!(hurries.1, "failed");
    assert!(
        regex_found(
            &hurries.2,
            r"^step 2 \(received: tracker POST /notify\): expected the gap between POST /notify requests to mock `tracker` >= 1s, got \d+(\.\d+)?ms \(#1 → #2\)$"
        ),
        "{}",
        hurries.2
    );
}

#[test]
fn an_undefined_variable_in_a_route_is_the_gates_error_at_start_not_a_silent_404() {
    let yaml = r#"stage: 0
name: Mocks
gates:
  - id: g
    title: t
    mocks:
      gh:
        routes:
          - match: GET /a
            headers: { x-token: "${NOPE}" }
            respond: { status: 200 }
    http: GET ${GH_URL}/a
"#;
    let (_p, got) = run_stage(yaml);
    assert_outcome(
        &got,
        "g",
        "error",
        "mock `gh`, route at line 9: undefined variable `${NOPE}`",
    );
}
/// A python3 one-liner for a `run` step: sends to the gate's mock `API` what no `http` step
/// sends (a body it abandons, a body over the keep limit, headers past the journal's share).
fn py(code: &str) -> String {
    format!("python3 -c \"import os,socket,http.client;port=int(os.environ['API_PORT']);{code}\"")
}
/// Send `raw` on a socket to the mock, then close it: a request the client abandons.
fn abandon(raw: &str) -> String {
    py(&format!(
        "s=socket.create_connection(('127.0.0.1',port));s.sendall(b'{raw}');s.shutdown(socket.SHUT_WR);s.recv(100);s.close()"
    ))
}
#[test]
fn a_body_not_kept_whole_matches_no_body_route_and_received_json_fails_on_it() {
    let big = py(
        "c=http.client.HTTPConnection('127.0.0.1',port);c.request('POST','/x',body=b'{\\\"a\\\":1,\\\"needle\\\":\\\"'+b'n'*(5<<20)+b'\\\"}');print(c.getresponse().status)",
    );
    let chunked = abandon(
        "POST /x HTTP/1.1\\r\\nHost: a\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n6\\r\\nneedle\\r\\n",
    );
    let yaml = format!(
        r#"stage: 0
name: Mocks
gates:
  - id: cut
    title: a body cut at the keep limit or abandoned matches no body route
    mocks:
      api:
        routes:
          - match: POST /x
            body: needle
            respond: {{ status: 201 }}
          - match: POST /j
            json: {{ "$.a": 1 }}
            respond: {{ status: 201 }}
    steps:
      - http: POST ${{API_URL}}/x
        body: "a needle"
        expect: {{ status: 201 }}
      - run: |
          {big}
        expect: {{ stdout: {{ equals: "404" }} }}
      - run: |
          {chunked}
      - received: api
        eventually: 5s
        expect: {{ unexpected: 2 }}
  - id: cut-json
    title: received json on a cut body fails
    mocks:
      api:
        routes: [ {{ match: POST /x, respond: {{ status: 201 }} }} ]
    steps:
      - run: |
          {big}
        expect: {{ stdout: {{ equals: "201" }} }}
      - received: api
        match: POST /x
        expect: {{ json: {{ "$.a": 1 }} }}
"#
    );
    let (p, got) = run_stage(&yaml);
    assert_outcome(&got, "cut", "passed", "");
    let cut_json = got.iter().find(|g| g.0 == "cut-json").expect("cut-json");
    assert_eq!(cut_json.1, "failed", "{cut_json:?}");
    assert!(
        cut_json
            .2
            .contains("expected a body kept whole to judge, got a part (over 4 MiB"),
        "{cut_json:?}"
    );
    let log = p.read("phase-1/stage-00/logs/cut.log");
    assert!(
        log.contains("the client closed the connection after 6 bytes of a chunked body"),
        "{log}"
    );
}
#[test]
fn an_aborted_request_is_logged_as_incomplete_and_counts_only_as_unexpected() {
    let aborted =
        abandon("POST /x HTTP/1.1\\r\\nHost: a\\r\\nContent-Length: 12\\r\\n\\r\\nhalf!!");
    let yaml = format!(
        r#"stage: 0
name: Mocks
gates:
  - id: counted
    title: the whole request counts, the aborted one only as unexpected
    mocks:
      api:
        routes: [ {{ match: POST /x, respond: {{ status: 201 }} }} ]
    steps:
      - run: |
          {aborted}
      - received: api
        eventually: 5s
        expect: {{ unexpected: 1 }}
      - http: POST ${{API_URL}}/x
        body: "twelve bytes"
        expect: {{ status: 201 }}
      - received: api
        match: POST /x
        expect: {{ count: 1 }}
  - id: aborted-only
    title: an aborted request is no request
    mocks:
      api:
        routes: [ {{ match: POST /x, respond: {{ status: 201 }} }} ]
    steps:
      - run: |
          {aborted}
      - received: api
        eventually: 5s
        expect: {{ unexpected: 1 }}
      - received: api
        match: POST /x
"#
    );
    let (p, got) = run_stage(&yaml);
    assert_outcome(&got, "counted", "passed", "");
    assert_outcome(
        &got,
        "aborted-only",
        "failed",
        "step 3 (received: api POST /x): expected a POST /x request to mock `api`, got none",
    );
    let log = p.read("phase-1/stage-00/logs/counted.log");
    assert!(
        regex_found(
            &log,
            r"── mock api #1 at \+\d+\.\d{3}s: POST /x → incomplete: the client closed the connection after 6 of 12 bytes"
        ),
        "{log}"
    );
    assert!(!log.contains("[body cut"), "{log}");
}
#[test]
fn received_json_or_headers_need_a_request_whatever_count_admits() {
    let mut yaml = "stage: 0\nname: Mocks\ngates:\n".to_owned();
    for (id, send) in [("sent", true), ("none-sent", false)] {
        let step = if send {
            "      - http: POST ${API_URL}/x\n        json: { a: 1 }\n        expect: { status: 201 }\n"
        } else {
            ""
        };
        yaml.push_str(&format!(
            "  - id: {id}\n    title: {id}\n    mocks:\n      api:\n        routes: [ {{ match: POST /x, respond: {{ status: 201 }} }} ]\n    steps:\n{step}      - received: api\n        match: POST /x\n        expect: {{ count: {{ ge: 0 }}, json: {{ \"$.a\": 1 }} }}\n"
        ));
    }
    let (_p, got) = run_stage(&yaml);
    assert_outcome(&got, "sent", "passed", "");
    assert_outcome(
        &got,
        "none-sent",
        "failed",
        "expected at least one POST /x request to mock `api` to judge json/headers against, got none",
    );
}
#[test]
fn a_retry_counts_only_the_requests_of_its_own_attempt_on_a_stage_mock() {
    let yaml = r#"stage: 0
name: Mocks
mocks:
  tracker:
    routes: [ { match: POST /hit, respond: { status: 200 } } ]
gates:
  - id: sends-each-time
    title: each attempt sends
    retries: 1
    steps:
      - run: curl -s -XPOST "$TRACKER_URL/hit" >/dev/null; test -e sent-a || { touch sent-a; false; }
      - received: tracker
        match: POST /hit
        expect: { count: 1 }
  - id: sent-only-first
    title: only the failed attempt sends
    retries: 1
    steps:
      - run: test -e sent-b || { curl -s -XPOST "$TRACKER_URL/hit?b" >/dev/null; touch sent-b; false; }
      - received: tracker
        match: POST /hit
"#;
    let p = Project::new();
    p.stage("s.yaml", yaml);
    p.run(&["stage", "0", "--jobs", "1"]);
    let got = outcomes(&p);
    let each = got.iter().find(|g| g.0 == "sends-each-time").expect("gate");
    assert_ne!(each.1, "failed", "{each:?}");
    assert_eq!(each.2, "", "{each:?}");
    assert_outcome(
        &got,
        "sent-only-first",
        "failed",
        "step 2 (received: tracker POST /hit): expected a POST /hit request to mock `tracker`, got none",
    );
}
#[test]
fn a_mock_may_not_set_a_databases_variables() {
    let p = Project::new();
    p.stage(
        "s.yaml",
        r#"stage: 0
name: Mocks
mocks:
  database:
    routes: [ { match: GET /a, respond: { status: 200 } } ]
gates:
  - id: a
    title: t
    databases: { main: sqlite }
    mocks:
      main_database:
        routes: [ { match: GET /a, respond: { status: 200 } } ]
      main:
        routes: [ { match: GET /a, respond: { status: 200 } } ]
    run: "true"
"#,
    );
    let run = p.run(&["check"]);
    run.code(2);
    for w in [
        "error: mock `database` would set DATABASE_URL, a database variable gaterun sets: give it another name",
        "error: mock `main_database` would set MAIN_DATABASE_URL, a database variable gaterun sets: give it another name",
    ] {
        assert!(
            run.stderr.contains(w),
            "missing {w}\n--- stderr\n{}",
            run.stderr
        );
    }
    // `main` sets MAIN_URL and MAIN_PORT, which no database sets.
    assert!(!run.stderr.contains("mock `main` "), "{}", run.stderr);
}
#[test]
fn headers_past_the_journals_share_fail_received_headers_not_pass() {
    let big = py(
        "c=http.client.HTTPConnection('127.0.0.1',port);c.request('POST','/big',headers={'x-a':'a'*30000,'x-b':'b'*30000,'x-c':'c'*30000});print(c.getresponse().status)",
    );
    let yaml = format!(
        r#"stage: 0
name: Mocks
gates:
  - id: small
    title: headers kept whole are judged
    mocks:
      api:
        routes: [ {{ match: "* /^/(big|small)$/", respond: {{ status: 201 }} }} ]
    steps:
      - http: POST ${{API_URL}}/small
        headers: {{ X-C: ccc }}
        expect: {{ status: 201 }}
      - received: api
        expect: {{ headers: {{ x-c: "/^c+$/" }} }}
  - id: big
    title: headers cut are not judged
    mocks:
      api:
        routes: [ {{ match: "* /^/(big|small)$/", respond: {{ status: 201 }} }} ]
    steps:
      - run: |
          {big}
        expect: {{ stdout: {{ equals: "201" }} }}
      - received: api
        expect: {{ headers: {{ x-c: "/^c+$/" }} }}
"#
    );
    let (_p, got) = run_stage(&yaml);
    assert_outcome(&got, "small", "passed", "");
    assert_outcome(
        &got,
        "big",
        "failed",
        "step 2 (received: api): expected headers kept whole to judge, got a part (over the mock's 64 KiB of headers per request, or past its record of 64 MiB) (request #1 to mock `api`: POST /big)",
    );
}
#[test]
fn a_response_echoing_a_credential_is_redacted_in_the_mock_log() {
    let yaml = r#"stage: 0
name: Mocks
gates:
  - id: g
    title: an echoed token stays redacted
    mocks:
      api:
        routes:
          - match: GET /me
            respond: { body: "you sent {{request.headers.authorization}}", headers: { X-Echo: "{{request.headers.authorization}}" } }
    steps:
      - http: GET ${API_URL}/me
        headers: { Authorization: Bearer tok-9f8e7d6c5b }
        expect: { status: 200, body: "tok-9f8e7d6c5b" }
"#;
    let (p, got) = run_stage(yaml);
    assert_outcome(&got, "g", "passed", "");
    let log = p.read("phase-1/stage-00/logs/g.log");
    // The mock's record of the exchange (the `http` step's own lines follow it).
    let start = log.find("── mock api #1").expect("exchange");
    let end = start + log[start..].find("\n< 200 OK").expect("client's lines");
    let mock = &log[start..end];
    assert!(
        mock.contains("api> authorization: Bearer [redacted]"),
        "{log}"
    );
    assert!(mock.contains("api< X-Echo: Bearer [redacted]"), "{log}");
    assert!(mock.contains("you sent Bearer [redacted]"), "{log}");
    assert!(!mock.contains("tok-9f8e7d6c5b"), "{log}");
}
#[test]
fn check_finds_a_template_received_naming_a_mock_the_gate_does_not_have() {
    let p = Project::new();
    p.stage(
        "s.yaml",
        r#"stage: 0
name: Mocks
templates:
  notified:
    steps:
      - received: tracker
        match: POST /hit
gates:
  - id: has
    title: t
    mocks:
      tracker:
        routes: [ { match: POST /hit, respond: { status: 200 } } ]
    use: notified
  - id: lacks
    title: t
    mocks:
      trakcer:
        routes: [ { match: POST /hit, respond: { status: 200 } } ]
    use: notified
"#,
    );
    let run = p.run(&["check"]);
    run.code(2);
    assert!(
        run.stderr.contains(
            "error: template `notified` names a mock `tracker` this gate does not have (its mocks: trakcer)"
        ),
        "{}",
        run.stderr
    );
    assert_eq!(
        run.stderr.matches("names a mock").count(),
        1,
        "{}",
        run.stderr
    );
}
