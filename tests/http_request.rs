//! The request side of the `http` step against a real server
//! (`tests/fixtures/http_request_server.py`, which tells back what it received): content
//! decoding, the default User-Agent, the cookie jar, any method, query/form/multipart and body
//! forms, the HTTP version, and `save`. Each feature has a gate that passes and a near miss that
//! must fail.

mod common;

use common::{Project, outcomes};

/// A stage of `gates` (YAML list items) sharing one fixture server (`WEB_URL`), run.
fn run_stage(gates: &str) -> (Project, common::Run) {
    run_stage_in(Project::new(), gates)
}

/// [`run_stage`] in a project made beforehand (with files the gates send).
fn run_stage_in(p: Project, gates: &str) -> (Project, common::Run) {
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

/// `gaterun check` on a stage of `yaml`: it fails, and prints every one of `wants`, and no
/// other error.
#[track_caller]
fn check_errors(yaml: &str, wants: &[&str]) {
    let p = Project::new();
    p.stage("s.yaml", yaml);
    let run = p.run(&["check"]);
    run.code(2);
    let out = format!("{}{}", run.stdout, run.stderr);
    for want in wants {
        assert!(out.contains(want), "missing `{want}` in:\n{out}");
    }
    assert_eq!(out.matches("error:").count(), wants.len(), "{out}");
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
        assert_ne!(status, "passed", "{id} must fail: {message}");
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

#[test]
fn the_cookie_jar_carries_a_gates_cookies_where_they_match() {
    if !common::python3() {
        return;
    }
    let (p, run) = run_stage(
        r#"  - id: pass-jar
    title: a login's cookie goes with the next requests that match it
    steps:
      - http: ${WEB_URL}/cookies/set?session=abc123&path=/
        expect: { headers: { set-cookie: "session=" } }
      - http: ${WEB_URL}/cookies/set?scoped=p1&path=/admin
      - http: ${WEB_URL}/echo
        expect: { json: { "$.headers.cookie": ["session=abc123"] } }
      - http: ${WEB_URL}/admin/users
        expect: { body: ["scoped=p1", "session=abc123"] }
      - http: ${WEB_URL}/administrator
        expect: { json: { "$.headers.cookie": ["session=abc123"] } }
      - name: another host (localhost is not 127.0.0.1) gets none
        http: http://localhost:${WEB_PORT}/echo
        expect: { json: { "$.headers.cookie": { exists: false } } }
      - name: nor one a redirect leads to
        http: ${WEB_URL}/redirect?to=http://localhost:${WEB_PORT}/echo
        follow_redirects: true
        expect: { json: { "$.path": /echo, "$.headers.cookie": { exists: false } } }
      - name: cookies false sends none
        http: ${WEB_URL}/echo
        cookies: false
        expect: { json: { "$.headers.cookie": { exists: false } } }
      - name: cookies false stores none
        http: ${WEB_URL}/cookies/set?unstored=u1
        cookies: false
      - name: a redirect hop's cookie is stored and sent on the next hop
        http: ${WEB_URL}/cookies/hop
        follow_redirects: true
        expect: { body: ["hop=1", "session=abc123", "!unstored"] }
      - name: the step's own Cookie header and the jar's go as one header
        http: ${WEB_URL}/echo
        headers: { Cookie: own=o1 }
        expect: { json: { "$.headers.cookie": { count: 1 } }, body: ["own=o1; ", "session=abc123"] }
      - name: a Secure cookie goes over plain http to loopback only, as browsers do (unit tests
          hold the rest)
        http: ${WEB_URL}/cookies/set?safe=s1&secure=1
      - http: ${WEB_URL}/echo
        expect: { body: "safe=s1" }
      - name: Max-Age=0 removes a cookie
        http: ${WEB_URL}/cookies/set?session=gone&max_age=0
      - http: ${WEB_URL}/echo
        expect: { body: "!session=" }
  - id: miss-fresh-jar
    title: another gate starts with an empty jar
    http: ${WEB_URL}/echo
    expect: { json: { "$.headers.cookie": { exists: true } } }
  - id: miss-path
    title: a cookie for another path is not sent
    steps:
      - http: ${WEB_URL}/cookies/set?scoped=p1&path=/admin
      - http: ${WEB_URL}/echo
        expect: { body: "scoped=p1" }
  - id: miss-domain
    title: a cookie is not sent to another host
    steps:
      - http: ${WEB_URL}/cookies/set?session=abc123
      - http: http://localhost:${WEB_PORT}/echo
        expect: { body: "session=abc123" }
  - id: miss-domain-by-redirect
    title: nor to another host a redirect leads to
    steps:
      - http: ${WEB_URL}/cookies/set?session=abc123
      - http: ${WEB_URL}/redirect?to=http://localhost:${WEB_PORT}/echo
        follow_redirects: true
        expect: { json: { "$.path": /echo }, body: "session=abc123" }
  - id: miss-off
    title: cookies false sends none
    steps:
      - http: ${WEB_URL}/cookies/set?session=abc123
      - http: ${WEB_URL}/echo
        cookies: false
        expect: { body: "session=abc123" }
"#,
    );
    assert_outcomes(
        &p,
        &run,
        &[
            ("miss-fresh-jar", "$.headers.cookie"),
            ("miss-path", "scoped=p1"),
            ("miss-domain", "session=abc123"),
            // The first hop sent the cookie: a secret of the gate since, masked in its message.
            (
                "miss-domain-by-redirect",
                "expected body to contain \"session=***\"",
            ),
            ("miss-off", "session=abc123"),
        ],
    );
    let log = p.read("phase-1/stage-00/logs/pass-jar.log");
    assert!(log.contains("> cookie: session [redacted]"), "{log}");
    assert!(log.contains("< set-cookie: session [redacted]"), "{log}");
    assert!(!log.contains("> cookie: session=abc123"), "{log}");
}

#[test]
fn any_method_token_is_sent_as_written() {
    if !common::python3() {
        return;
    }
    let (p, run) = run_stage(
        r#"  - id: pass-methods
    title: extension methods
    steps:
      - http: PURGE ${WEB_URL}/cache
        expect: { json: { "$.method": PURGE, "$.path": /cache } }
      - http: PROPFIND ${WEB_URL}/dav
        expect: { json: { "$.method": PROPFIND } }
      - http: M-SEARCH ${WEB_URL}/
        expect: { json: { "$.method": M-SEARCH } }
  - id: miss-method
    title: the near miss
    http: PURGE ${WEB_URL}/cache
    expect: { json: { "$.method": PURGES } }
"#,
    );
    assert_outcomes(&p, &run, &[("miss-method", "PURGES")]);
}

#[test]
fn check_refuses_a_method_that_is_not_a_token() {
    check_errors(
        "stage: 0\nname: S\ngates:\n  - id: a\n    title: t\n    http: \"GE(T http://x/\"\n  - id: b\n    title: t\n    http: delete http://x/\n",
        &[
            "gates/s.yaml:6:11: error: `GE(T` is not an HTTP method",
            "gates/s.yaml:9:11: error: HTTP methods are case-sensitive: write `DELETE`, not `delete`",
        ],
    );
}

fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn query_and_form_are_url_encoded_and_read_back() {
    if !common::python3() {
        return;
    }
    let (p, run) = run_stage(
        r#"  - id: pass-query
    title: query appended to the URL's own, a list repeats the key
    http: ${WEB_URL}/echo?x=1
    query: { q: "a b", tag: [x, y], plus: "1+1&2", v: "${GATE_ID}", n: 1.5 }
    expect:
      json: { "$.query": "x=1&q=a%20b&tag=x&tag=y&plus=1%2B1%262&v=pass-query&n=1.5" }
  - id: pass-form
    title: a form body
    http: POST ${WEB_URL}/echo
    form: { user: ana, tags: [a, b], note: "x y&z=é", id: "${GATE_ID}" }
    expect:
      json:
        "$.headers['content-type']": [application/x-www-form-urlencoded]
        "$.body": "user=ana&tags=a&tags=b&note=x+y%26z%3D%C3%A9&id=pass-form"
        "$.form": { user: [ana], tags: [a, b], note: ["x y&z=é"], id: [pass-form] }
  - id: pass-form-own-type
    title: the step's own Content-Type wins
    http: POST ${WEB_URL}/echo
    headers: { Content-Type: application/x-www-form-urlencoded; charset=utf-8 }
    form: { a: b }
    expect:
      json: { "$.headers['content-type']": ["application/x-www-form-urlencoded; charset=utf-8"] }
  - id: miss-query
    title: the list's second value is there
    http: ${WEB_URL}/echo
    query: { tag: [x, y] }
    expect: { json: { "$.query": "tag=x" } }
  - id: miss-form
    title: a form value read back differs
    http: POST ${WEB_URL}/echo
    form: { tags: [a, b] }
    expect: { json: { "$.form.tags": [a] } }
"#,
    );
    assert_outcomes(
        &p,
        &run,
        &[("miss-query", "tag=x&tag=y"), ("miss-form", "$.form.tags")],
    );
    let log = p.read("phase-1/stage-00/logs/pass-form.log");
    assert!(
        log.contains("> content-type: application/x-www-form-urlencoded\n>\nuser=ana&tags=a"),
        "{log}"
    );
}

#[test]
fn multipart_body_file_and_base64_bytes_are_read_back_by_the_server() {
    if !common::python3() {
        return;
    }
    let p = Project::new();
    p.file("data/r.txt", "hello file\n");
    let blob: Vec<u8> = (0..=255u8).collect();
    std::fs::write(p.path().join("data/blob"), &blob).expect("write blob");
    let txt = sha256_hex(b"hello file\n");
    let bin = sha256_hex(&blob);
    let (p, run) = run_stage_in(
        p,
        &format!(
            r#"  - id: pass-multipart
    title: fields and file parts
    http: POST ${{WEB_URL}}/echo
    multipart:
      user: ana
      who: "${{GATE_ID}}"
      upload: {{ file: data/r.txt }}
      raw: {{ file: data/blob, type: application/x-custom, filename: renamed.dat }}
    expect:
      json:
        "$.headers['content-type'][0]": "/^multipart\\/form-data; boundary=gaterun-/"
        "$.parts[0]": {{ name: user, filename: null, type: null, text: ana, len: 3, sha256: "{ana}" }}
        "$.parts[1].text": pass-multipart
        "$.parts[2].name": upload
        "$.parts[2].filename": r.txt
        "$.parts[2].type": text/plain
        "$.parts[2].sha256": "{txt}"
        "$.parts[3].filename": renamed.dat
        "$.parts[3].type": application/x-custom
        "$.parts[3].len": 256
        "$.parts[3].sha256": "{bin}"
  - id: pass-body-file
    title: a file's bytes as the body
    http: PUT ${{WEB_URL}}/echo
    body_file: data/blob
    expect: {{ json: {{ "$.body_len": 256, "$.body_sha256": "{bin}" }} }}
  - id: pass-base64
    title: base64, padded or not
    steps:
      - http: POST ${{WEB_URL}}/echo
        body_base64: "aGVsbG8="
        expect: {{ json: {{ "$.body": hello, "$.body_len": 5 }} }}
      - http: POST ${{WEB_URL}}/echo
        body_base64: aGVsbG8
        expect: {{ json: {{ "$.body": hello }} }}
  - id: miss-multipart
    title: another file's hash
    http: POST ${{WEB_URL}}/echo
    multipart: {{ upload: {{ file: data/r.txt }} }}
    expect: {{ json: {{ "$.parts[0].sha256": "{bin}" }} }}
  - id: miss-base64
    title: the decoded bytes differ
    http: POST ${{WEB_URL}}/echo
    body_base64: "aGVsbG8="
    expect: {{ json: {{ "$.body": "hello!" }} }}
  - id: miss-no-file
    title: a missing file is the step's error, naming it
    http: POST ${{WEB_URL}}/echo
    body_file: data/nope.bin
  - id: miss-no-part-file
    title: a missing part file too
    http: POST ${{WEB_URL}}/echo
    multipart: {{ upload: {{ file: "data/${{GATE_ID}}.txt" }} }}
"#,
            ana = sha256_hex(b"ana"),
        ),
    );
    assert_outcomes(
        &p,
        &run,
        &[
            ("miss-multipart", "$.parts[0].sha256"),
            ("miss-base64", "hello!"),
            (
                "miss-no-file",
                "failed to read `body_file` data/nope.bin: no such file or directory",
            ),
            (
                "miss-no-part-file",
                "failed to read `multipart.upload.file` data/miss-no-part-file.txt: no such file",
            ),
        ],
    );
    let log = p.read("phase-1/stage-00/logs/pass-multipart.log");
    assert!(
        log.contains("[part raw: file data/blob as renamed.dat (application/x-custom), 256 bytes]"),
        "{log}"
    );
    let log = p.read("phase-1/stage-00/logs/pass-body-file.log");
    assert!(
        log.contains("[body from file data/blob: 256 bytes]"),
        "{log}"
    );
}

#[test]
fn check_refuses_two_bodies_paths_out_of_the_workdir_and_bad_base64() {
    check_errors(
        r#"stage: 0
name: S
gates:
  - id: two
    title: t
    http: POST http://x/
    json: { a: 1 }
    form: { a: 1 }
  - id: abs
    title: t
    http: POST http://x/
    body_file: /etc/passwd
  - id: climb
    title: t
    http: POST http://x/
    multipart: { f: { file: "data/../../secret" } }
  - id: b64
    title: t
    http: POST http://x/
    body_base64: "not base64!"
  - id: mptype
    title: t
    http: POST http://x/
    headers: { Content-Type: text/plain }
    multipart: { a: b }
  - id: ok
    title: t
    http: POST http://x/
    body_file: "data/../data/${GATE_ID}"
"#,
        &[
            "gates/s.yaml:4:5: error: an `http` step sends one body, this one has `json` and `form`",
            "gates/s.yaml:12:16: error: `body_file`: the path must be relative to the gate's workdir, got `/etc/passwd`",
            "gates/s.yaml:13:5: error: `multipart.f.file`: the path climbs out of the gate's workdir with `..`, got `data/../../secret`",
            "gates/s.yaml:20:18: error: `body_base64` is not base64: `!` is not a base64 character here",
            "gates/s.yaml:21:5: error: `multipart` sets the Content-Type itself (with its boundary): remove the `Content-Type` header",
        ],
    );
}

/// Whether Python's `h2` package is here (the h2c server needs it); under CI it must be
/// (`.ci/run` installs it).
fn python_h2() -> bool {
    common::tool(
        "python3 h2",
        &["python3", "-c", "import h2"],
        "python3 -m pip install h2",
    )
}

#[test]
fn the_http_version_is_chosen_and_expected_exactly() {
    if !common::python3() {
        return;
    }
    let (p, run) = run_stage(
        r#"  - id: pass-default
    title: HTTP/1.1 unless asked
    http: ${WEB_URL}/echo
    expect: { version: "1.1", json: { "$.version": HTTP/1.1 } }
  - id: pass-1-0
    title: a request in HTTP/1.0 (unquoted 1.0 stays 1.0)
    http: ${WEB_URL}/echo
    version: 1.0
    expect: { json: { "$.version": HTTP/1.0 } }
  - id: pass-answer-1-0
    title: a server answering in HTTP/1.0
    http: ${WEB_URL}/http10
    expect: { version: "1.0" }
  - id: miss-want-2
    title: a 1.1 server when 2 is expected
    http: ${WEB_URL}/echo
    expect: { version: "2" }
  - id: miss-want-1-1
    title: a 1.0 answer when 1.1 is expected
    http: ${WEB_URL}/http10
    expect: { version: "1.1" }
  - id: miss-h2-on-h1
    title: prior-knowledge HTTP/2 to a server that speaks only 1.1
    http: ${WEB_URL}/echo
    version: "2"
"#,
    );
    assert_outcomes(
        &p,
        &run,
        &[
            ("miss-want-2", "expected HTTP version 2, got 1.1"),
            ("miss-want-1-1", "expected HTTP version 1.1, got 1.0"),
            ("miss-h2-on-h1", "GET http://127.0.0.1:"),
        ],
    );
}

#[test]
fn http2_with_prior_knowledge_over_plain_tcp() {
    if !common::python3() || !python_h2() {
        return;
    }
    let server = format!(
        "{}/tests/fixtures/h2c_server.py",
        env!("CARGO_MANIFEST_DIR")
    );
    let p = Project::new();
    p.stage(
        "s.yaml",
        &format!(
            r#"stage: 0
name: H2
services:
  h2:
    run: python3 "{server}"
    ready: {{ tcp: "127.0.0.1:${{H2_PORT}}", timeout: 20s }}
gates:
  - id: pass-h2c
    title: h2c
    steps:
      - http: ${{H2_URL}}/a
        version: "2"
        expect: {{ version: "2", json: {{ "$.version": "2", "$.path": /a }} }}
      - http: POST ${{H2_URL}}/b
        version: "2"
        json: {{ x: 1 }}
        expect: {{ json: {{ "$.method": POST }} }}
  - id: miss-h2c-version
    title: an HTTP/2 answer when 1.1 is expected
    http: ${{H2_URL}}/a
    version: "2"
    expect: {{ version: "1.1" }}
"#
        ),
    );
    let run = p.run(&["stage", "0"]);
    assert_outcomes(
        &p,
        &run,
        &[("miss-h2c-version", "expected HTTP version 1.1, got 2")],
    );
}

#[test]
fn save_writes_the_decoded_body_for_a_file_step() {
    if !common::python3() {
        return;
    }
    let (p, run) = run_stage(
        r#"  - id: pass-save
    title: the decoded body, saved atomically, directories made
    steps:
      - http: ${WEB_URL}/enc/gzip
        save: out/${GATE_ID}/body.json
      - file: out/pass-save/body.json
        expect: { contains: ['"greeting": "hello decoded"'] }
      - http: ${WEB_URL}/bytes
        save: out/bytes.bin
      - run: test "$(wc -c < out/bytes.bin)" -eq 256 && cmp -s out/bytes.bin out/bytes.bin
  - id: miss-check-still-saves
    title: a failed check still leaves the body
    steps:
      - http: ${WEB_URL}/echo
        save: out/failed.json
        expect: { status: 201 }
  - id: miss-save-content
    title: the saved text is the body, not something else
    steps:
      - http: ${WEB_URL}/enc/br
        save: out/br.json
      - file: out/br.json
        expect: { contains: "hello encoded" }
  - id: miss-cut
    title: a body past the cap is not saved
    http: ${WEB_URL}/enc/bomb
    save: out/bomb.bin
"#,
    );
    assert_outcomes(
        &p,
        &run,
        &[
            ("miss-save-content", "hello encoded"),
            (
                "miss-cut",
                "the body is longer than 16 MiB, the most gaterun reads: not saved to out/bomb.bin",
            ),
            ("miss-check-still-saves", "expected status 201, got 200"),
        ],
    );
    assert!(p.path().join("out/failed.json").is_file());
    let bytes = std::fs::read(p.path().join("out/bytes.bin")).expect("saved bytes");
    assert_eq!(bytes, (0..=255u8).collect::<Vec<_>>());
    assert!(!p.path().join("out/bomb.bin").exists());
    let log = p.read("phase-1/stage-00/logs/pass-save.log");
    assert!(
        log.contains("< [body saved to out/pass-save/body.json: 1240 bytes]"),
        "{log}"
    );
}

#[test]
fn check_refuses_a_bad_version_and_a_save_path_out_of_the_workdir() {
    check_errors(
        r#"stage: 0
name: S
gates:
  - id: v
    title: t
    http: http://x/
    version: 3
    expect: { version: "1.2" }
  - id: s
    title: t
    http: http://x/
    save: ../outside.json
  - id: a
    title: t
    http: http://x/
    save: /tmp/x.json
"#,
        &[
            "gates/s.yaml:7:14: error: `version` is one of \"1.0\", \"1.1\", \"2\", got `3`",
            "gates/s.yaml:8:24: error: `expect.version` is one of \"1.0\", \"1.1\", \"2\", got `1.2`",
            "gates/s.yaml:12:11: error: `save`: the path climbs out of the gate's workdir with `..`, got `../outside.json`",
            "gates/s.yaml:16:11: error: `save`: the path must be relative to the gate's workdir, got `/tmp/x.json`",
        ],
    );
}

#[test]
fn a_header_failure_shows_no_credential() {
    if !common::python3() {
        return;
    }
    let (p, run) = run_stage(
        r#"  - id: pass-headers
    title: the same headers pass the checks they meet
    http: ${WEB_URL}/secret-headers
    expect:
      headers:
        set-cookie: "/^sid=/"
        location: "@127.0.0.1:9/next"
  - id: miss-cookie
    title: a Set-Cookie that differs fails without its value
    http: ${WEB_URL}/secret-headers
    expect: { headers: { set-cookie: { equals: "sid=other" } } }
  - id: miss-location
    title: a Location that differs fails without its password
    http: ${WEB_URL}/secret-headers
    expect: { headers: { location: { equals: "http://ana@elsewhere/" } } }
  - id: miss-absent
    title: a header that must be absent fails without its value
    http: ${WEB_URL}/secret-headers
    expect: { headers: { set-cookie: { exists: false } } }
  - id: miss-negated
    title: a `!` pattern fails without the value
    http: ${WEB_URL}/secret-headers
    expect: { headers: { set-cookie: "!sid=" } }
"#,
    );
    assert_outcomes(
        &p,
        &run,
        &[
            (
                "miss-cookie",
                r#"expected header set-cookie to equal "sid=other", got "sid [redacted]""#,
            ),
            (
                "miss-location",
                r#"expected header location to equal "http://ana@elsewhere/", got "http://ana:***@127.0.0.1:9/next?q=1""#,
            ),
            (
                "miss-absent",
                r#"expected no header set-cookie, got "sid [redacted]""#,
            ),
            ("miss-negated", r#"got "sid [redacted]""#),
        ],
    );
    let mut files = Vec::new();
    common::collect_files(&p.path().join("evidence"), &mut files);
    assert!(files.len() > 3, "{files:?}");
    let mut all = format!("{}{}", run.stdout, run.stderr);
    for f in &files {
        all.push_str(&String::from_utf8_lossy(
            &std::fs::read(f).unwrap_or_default(),
        ));
    }
    for secret in ["CookieSecretZZ99", "PassInLocation77"] {
        assert!(!all.contains(secret), "{secret} leaked:\n{all}");
    }
    // Near miss: the test would see a leak (the message still names what was expected).
    assert!(all.contains("sid=other") && all.contains("http://ana@elsewhere/"));
}

#[test]
fn save_refuses_a_body_still_encoded() {
    if !common::python3() {
        return;
    }
    let (p, run) = run_stage(
        r#"  - id: pass-gzip
    title: a coding gaterun undoes is saved decoded
    http: ${WEB_URL}/enc/gzip
    save: out/gzip.json
  - id: miss-zstd
    title: a coding gaterun cannot undo is never saved as if it were the body
    http: ${WEB_URL}/enc/zstd
    save: out/zstd.json
"#,
    );
    assert_outcomes(
        &p,
        &run,
        &[(
            "miss-zstd",
            "the body is zstd-encoded, which gaterun does not decode: it cannot be saved",
        )],
    );
    assert!(p.path().join("out/gzip.json").is_file());
    assert!(!p.path().join("out/zstd.json").exists());
    let log = p.read("phase-1/stage-00/logs/miss-zstd.log");
    assert!(!log.contains("body saved"), "{log}");
}

#[test]
fn check_refuses_a_save_path_naming_no_file_or_in_the_evidence() {
    check_errors(
        r#"stage: 0
name: S
gates:
  - id: dot
    title: t
    http: http://x/
    save: "."
  - id: up
    title: t
    http: http://x/
    save: a/..
  - id: dir
    title: t
    http: http://x/
    save: out/
  - id: ok
    title: near misses that pass
    steps:
      - http: http://x/
        save: a/../out.json
      - http: http://x/
        save: evidence.json
      - http: http://x/
        save: ${DIR}/x.json
"#,
        &[
            "gates/s.yaml:7:11: error: `save`: the path names no file (it ends in `/`, `.` or `..`), got `.`",
            "gates/s.yaml:11:11: error: `save`: the path names no file (it ends in `/`, `.` or `..`), got `a/..`",
            "gates/s.yaml:15:11: error: `save`: the path names no file (it ends in `/`, `.` or `..`), got `out/`",
        ],
    );
    // A stage valid otherwise: the evidence directory is known once the project is.
    check_errors(
        r#"stage: 0
name: S
gates:
  - id: ev
    title: t
    http: http://x/
    save: ./evidence/history.jsonl
  - id: evwd
    title: t
    workdir: evidence/phase-1
    http: http://x/
    save: x.json
  - id: ok
    title: near misses that pass
    steps:
      - http: http://x/
        save: evidence.json
      - http: http://x/
        save: evidence/../out.json
"#,
        &[
            "gates/s.yaml:7:11: error: `save`: the path is in the project's evidence directory, which only gaterun writes, got `./evidence/history.jsonl`",
            "gates/s.yaml:12:11: error: `save`: the path is in the project's evidence directory, which only gaterun writes, got `x.json`",
        ],
    );
}

#[test]
fn a_symbolic_link_out_of_the_workdir_is_never_read_nor_written_through() {
    if !common::python3() {
        return;
    }
    let outside = tempfile::tempdir().expect("tempdir");
    std::fs::write(outside.path().join("secret"), "outside secret\n").expect("secret");
    let p = Project::new();
    p.file("data/real.txt", "inside text\n");
    let link = |target: &std::path::Path, name: &str| {
        std::os::unix::fs::symlink(target, p.path().join(name)).expect("symlink");
    };
    link(outside.path(), "lnk");
    link(&outside.path().join("secret"), "sec");
    link(&p.path().join("data"), "inlnk");
    link(&p.path().join("data/real.txt"), "in.txt");
    link(&p.path().join("evidence"), "evlnk");
    link(&outside.path().join("victim"), "last");
    let (p, run) = run_stage_in(
        p,
        r#"  - id: pass-links-inside
    title: a link that stays in the workdir is read and written through
    steps:
      - http: POST ${WEB_URL}/echo
        body_file: in.txt
        expect: { json: { "$.body": "inside text\n" } }
      - http: POST ${WEB_URL}/echo
        multipart: { up: { file: inlnk/real.txt } }
        expect: { json: { "$.parts[0].text": "inside text\n" } }
      - http: ${WEB_URL}/bytes
        save: inlnk/new/saved.bin
      - file: data/new/saved.bin
  - id: pass-link-replaced
    title: a link at the saved file itself is replaced, never written through
    http: ${WEB_URL}/bytes
    save: last
  - id: miss-save
    title: save through a link out of the workdir
    http: ${WEB_URL}/bytes
    save: lnk/x.bin
  - id: miss-save-dir
    title: save making a directory through a link out of the workdir
    http: ${WEB_URL}/bytes
    save: lnk/made/x.bin
  - id: miss-body-file
    title: body_file through a link to a file outside
    http: POST ${WEB_URL}/echo
    body_file: sec
  - id: miss-multipart
    title: a multipart file through a link to a directory outside
    http: POST ${WEB_URL}/echo
    multipart: { up: { file: lnk/secret } }
  - id: miss-evidence-var
    title: save into the evidence directory once interpolated
    env: { EV: evidence }
    http: ${WEB_URL}/bytes
    save: ${EV}/history.jsonl
  - id: miss-evidence-link
    title: save into the evidence directory through a link
    http: ${WEB_URL}/bytes
    save: evlnk/phase-1/forged.txt
"#,
    );
    let out = "the path leads out of the gate's workdir through a symbolic link";
    let ev = "the path is in the project's evidence directory, which only gaterun writes";
    assert_outcomes(
        &p,
        &run,
        &[
            ("miss-save", &format!("`save` lnk/x.bin: {out}")),
            ("miss-save-dir", &format!("`save` lnk/made/x.bin: {out}")),
            (
                "miss-body-file",
                &format!("failed to read `body_file` sec: {out}"),
            ),
            (
                "miss-multipart",
                &format!("failed to read `multipart.up.file` lnk/secret: {out}"),
            ),
            (
                "miss-evidence-var",
                &format!("`save` evidence/history.jsonl: {ev}"),
            ),
            (
                "miss-evidence-link",
                &format!("`save` evlnk/phase-1/forged.txt: {ev}"),
            ),
        ],
    );
    let left: Vec<_> = std::fs::read_dir(outside.path())
        .expect("outside")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(left, ["secret"], "nothing written outside");
    let last = std::fs::symlink_metadata(p.path().join("last")).expect("last");
    assert!(last.is_file() && last.len() == 256, "{last:?}");
    let mut files = Vec::new();
    common::collect_files(&p.path().join("evidence"), &mut files);
    assert!(
        files.iter().all(|f| !f.ends_with("forged.txt")),
        "{files:?}"
    );
    let history = p.read("history.jsonl");
    assert!(!history.contains('\0'), "history.jsonl untouched");
    let all = format!("{}{}{history}", run.stdout, run.stderr);
    assert!(!all.contains("outside secret"), "{all}");
}
