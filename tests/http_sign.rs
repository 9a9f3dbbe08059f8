//! `sign:` on the `http` step (issue 20): the body as sent, signed with HMAC-SHA256, against a
//! real server that tells back what it received (`tests/fixtures/http_request_server.py`).
//! A signature the receiver can verify passes and one made with a near-miss key fails; the key
//! and the signature never reach the evidence; `check` refuses a malformed `sign`.

mod common;

use common::{Project, outcomes};

/// GitHub's documented example: this key, this payload, this signature.
const KEY: &str = "It's a Secret to Everybody";
const GITHUB_SIG: &str = "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

/// Verifies `SIG` over `BODY` with the key, as a webhook receiver would (constant-time).
const VERIFY: &str = r#"python3 -c 'import hmac,hashlib,os,sys; want="sha256="+hmac.new(os.environ["WEBHOOK_SECRET"].encode(), os.environ["BODY"].encode(), hashlib.sha256).hexdigest(); sys.exit(0 if hmac.compare_digest(want, os.environ["SIG"]) else 1)'"#;

fn stage(gates: &str) -> String {
    let server = format!(
        "{}/tests/fixtures/http_request_server.py",
        env!("CARGO_MANIFEST_DIR")
    );
    format!(
        r#"stage: 0
name: Signed
services:
  web:
    run: python3 "{server}"
    ready: {{ http: "${{WEB_URL}}/echo", timeout: 20s }}
gates:
{gates}"#
    )
}

#[test]
fn signed_bodies_verify_and_a_near_miss_key_fails() {
    if !common::python3() {
        return;
    }
    let gates = format!(
        r#"  - id: pass-github-vector
    title: The documented example signs to the documented signature
    secrets: [WEBHOOK_SECRET]
    http: POST ${{WEB_URL}}/echo
    body: "Hello, World!"
    sign: {{ hmac_sha256: "${{WEBHOOK_SECRET}}", header: X-Hub-Signature-256, prefix: "sha256=" }}
    expect: {{ json: {{ "$.headers.x-hub-signature-256": ["sha256={GITHUB_SIG}"], "$.body": "Hello, World!" }} }}
  - id: pass-no-prefix
    title: Without a prefix the header is the bare hex digest
    secrets: [WEBHOOK_SECRET]
    http: POST ${{WEB_URL}}/echo
    body: "Hello, World!"
    sign: {{ hmac_sha256: "${{WEBHOOK_SECRET}}", header: X-Signature }}
    expect: {{ json: {{ "$.headers.x-signature": ["{GITHUB_SIG}"] }} }}
  - id: pass-json-verifies
    title: A JSON body is signed over the bytes sent, so the receiver verifies it
    secrets: [WEBHOOK_SECRET]
    steps:
      - http: POST ${{WEB_URL}}/echo
        json: {{ action: blocked, task_id: 7, note: "ünïcode ✓" }}
        sign: {{ hmac_sha256: "${{WEBHOOK_SECRET}}", header: X-Hub-Signature-256, prefix: "sha256=" }}
        capture: {{ BODY: "$.body", SIG: "$.headers.x-hub-signature-256[0]" }}
      - run: {VERIFY}
  - id: pass-form-verifies
    title: A form body too
    secrets: [WEBHOOK_SECRET]
    steps:
      - http: POST ${{WEB_URL}}/echo
        form: {{ a: "1 2", b: "&=" }}
        sign: {{ hmac_sha256: "${{WEBHOOK_SECRET}}", header: X-Hub-Signature-256, prefix: "sha256=" }}
        capture: {{ BODY: "$.body", SIG: "$.headers.x-hub-signature-256[0]" }}
      - run: {VERIFY}
  - id: miss-other-key
    title: A key one letter off does not verify under the receiver's key
    secrets: [WEBHOOK_SECRET]
    env: {{ OTHER: "It's a Secret to everybody" }}
    steps:
      - http: POST ${{WEB_URL}}/echo
        body: "Hello, World!"
        sign: {{ hmac_sha256: "${{OTHER}}", header: X-Hub-Signature-256, prefix: "sha256=" }}
        capture: {{ BODY: "$.body", SIG: "$.headers.x-hub-signature-256[0]" }}
      - run: {VERIFY}
  - id: miss-empty-key
    title: A key variable set to nothing is the step's error, not an unkeyed signature
    env: {{ EMPTY: "" }}
    http: POST ${{WEB_URL}}/echo
    body: "Hello, World!"
    sign: {{ hmac_sha256: "${{EMPTY}}", header: X-Hub-Signature-256 }}
  - id: miss-body-changed
    title: A body one byte off does not verify under the key
    secrets: [WEBHOOK_SECRET]
    steps:
      - http: POST ${{WEB_URL}}/echo
        json: {{ action: blocked, task_id: 7 }}
        sign: {{ hmac_sha256: "${{WEBHOOK_SECRET}}", header: X-Hub-Signature-256, prefix: "sha256=" }}
        capture: {{ SIG: "$.headers.x-hub-signature-256[0]" }}
      - run: {VERIFY}
        env: {{ BODY: '{{"action":"blocked","task_id":8}}' }}
"#
    );
    let p = Project::new();
    p.stage("s.yaml", &stage(&gates));
    let out = p
        .cmd(&["stage", "0"])
        .env("WEBHOOK_SECRET", KEY)
        .output()
        .expect("run");
    let run = common::Run::from(out);
    for (id, status, message) in outcomes(&p) {
        match id.as_str() {
            "miss-empty-key" => {
                assert_eq!(status, "error", "{id}");
                assert!(
                    message.contains("`sign.hmac_sha256` is an empty key"),
                    "{id}: {message}"
                );
            }
            "miss-other-key" | "miss-body-changed" => {
                assert_eq!(status, "failed", "{id}");
                assert!(
                    message.contains("expected exit 0, got 1"),
                    "{id}: {message}"
                );
            }
            _ => assert_eq!(status, "passed", "{id}: {message}\n{}", run.stdout),
        }
        assert!(!message.contains('\n'), "{id}: one line: {message}");
    }
    // The key and every signature made with it are masked in the evidence; the header is
    // there, its value is not.
    let log = p.read("phase-1/stage-00/logs/pass-github-vector.log");
    assert!(log.contains("X-Hub-Signature-256: sha256=***"), "{log}");
    let mut files = Vec::new();
    common::collect_files(&p.path().join("evidence"), &mut files);
    for f in files {
        let text = String::from_utf8_lossy(&std::fs::read(&f).expect("read")).into_owned();
        for leak in [KEY, GITHUB_SIG, &GITHUB_SIG[..16]] {
            assert!(!text.contains(leak), "{} shows {leak}", f.display());
        }
    }
    assert!(!run.stdout.contains(GITHUB_SIG) && !run.stdout.contains(KEY));
    assert!(!run.stderr.contains(GITHUB_SIG) && !run.stderr.contains(KEY));
}

#[track_caller]
fn check(step: &str) -> common::Run {
    let p = Project::new();
    p.stage(
        "s.yaml",
        &format!("stage: 0\nname: S\ngates:\n  - id: g\n    title: T\n{step}"),
    );
    p.run(&["check"])
}

#[test]
fn check_refuses_a_malformed_sign() {
    let cases: &[(&str, &str)] = &[
        (
            "    http: POST http://127.0.0.1:1/\n    sign: { hmac_sha256: \"${K}\", header: \"X Sig\" }\n",
            "7:42: error: `sign.header`: `X Sig` is not a header name",
        ),
        (
            "    http: POST http://127.0.0.1:1/\n    headers: { x-sig: a }\n    sign: { hmac_sha256: \"${K}\", header: X-Sig }\n",
            "`sign.header` `X-Sig` is also set in `headers`: the signature would be sent twice",
        ),
        (
            "    http: POST http://127.0.0.1:1/\n    sign: { hmac_sha256: \"\", header: X-Sig }\n",
            "`sign.hmac_sha256` is empty",
        ),
        (
            "    http: POST http://127.0.0.1:1/\n    sign: { hmac_sha256: \"${K\", header: X-Sig }\n",
            "7:26: error: unclosed `${` in `${K`",
        ),
        (
            "    http: POST http://127.0.0.1:1/\n    sign: { hmac_sha1: \"${K}\", header: X-Sig }\n",
            "hmac_sha1",
        ),
        (
            "    http: POST http://127.0.0.1:1/\n    sign: { hmac_sha256: \"${K}\", header: X-Sig, prefix: \"a\\nb\" }\n",
            "`sign.prefix` may not hold a control character",
        ),
        (
            "    run: \"true\"\n    sign: { hmac_sha256: \"${K}\", header: X-Sig }\n",
            "sign",
        ),
    ];
    for (step, want) in cases {
        let run = check(step);
        let out = format!("{}{}", run.stdout, run.stderr);
        assert_eq!(run.code, 2, "{step}\n{out}");
        assert!(out.contains(want), "{step}: missing `{want}` in:\n{out}");
    }
    // A key written in the file is allowed (a fixture) but warned about.
    let run = check(
        "    http: POST http://127.0.0.1:1/\n    sign: { hmac_sha256: literal-key, header: X-Sig }\n",
    );
    let out = format!("{}{}", run.stdout, run.stderr);
    assert_eq!(run.code, 0, "{out}");
    assert!(
        out.contains("`sign.hmac_sha256` is written in the file"),
        "{out}"
    );
}

#[test]
fn schema_lists_sign() {
    let out = std::process::Command::new(common::bin())
        .arg("schema")
        .output()
        .expect("schema");
    let text = String::from_utf8_lossy(&out.stdout);
    for key in ["\"sign\"", "\"hmac_sha256\"", "\"prefix\""] {
        assert!(text.contains(key), "schema lacks {key}");
    }
}
