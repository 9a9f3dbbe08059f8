//! A gate must never pass on a near miss: every expectation form through the real binary,
//! against a real HTTP server, a real SQLite database and real commands. Each gate named
//! `pass-*` must pass and each `miss-*` must fail with its one-line expected-against-actual
//! message.

mod common;

use std::io::BufRead;
use std::process::{Child, Command, Stdio};

use common::Project;

/// The replay server (tests/fixtures/replay.py): killed when the test ends, and it exits by
/// itself when our end of its stdin closes.
struct Replay {
    child: Child,
    url: String,
}

impl Replay {
    fn start(dir: &std::path::Path) -> Replay {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/replay.py");
        let mut child = Command::new("python3")
            .arg(script)
            .arg(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start replay.py");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("port line");
        let port: u16 = line.trim().parse().expect("a port");
        Replay {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }
}

impl Drop for Replay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Canned responses: name, body, header lines.
const RESPONSES: &[(&str, &str, &str)] = &[
    ("done", r#"{"state": "done"}"#, ""),
    ("undone", r#"{"state": "undone"}"#, ""),
    ("inactive", r#"{"state": "inactive"}"#, ""),
    ("typed", r#"{"n": 5, "b": false, "v": null, "s": "5"}"#, ""),
    ("big", r#"{"n": 1000000000000000000001}"#, ""),
    ("big21", r#"{"n": 1e21}"#, ""),
    ("id4", r#"{"id": 4, "price": 4.5}"#, ""),
    ("id14", r#"{"id": 14, "price": 4.05}"#, ""),
    ("items", r#"{"items": [{"id": 1}]}"#, ""),
    (
        "cookies",
        "{}",
        "Set-Cookie: theme=dark; Path=/\nSet-Cookie: HSID=s3cr3t; Path=/\nX-Fruit: apple",
    ),
    ("ok", "ok\n", "Content-Type: text/plain"),
    ("gzipped", "FATAL ERROR", "Content-Encoding: gzip"),
    (
        "posing",
        r#"{"n": {"$serde_json::private::Number": "5"}}"#,
        "",
    ),
    (
        "posing-escaped",
        r#"{"n": {"\u0024serde_json::private::Numbe\u0072": "5"}}"#,
        "",
    ),
    ("notok", "not ok\n", "Content-Type: text/plain"),
];

const GATES: &str = r#"
stage: 0
name: Near misses
gates:
  - id: pass-string
    title: exact string
    http: ${R}/done
    expect: { json: { "$.state": done } }
  - id: miss-substring
    title: a substring is not the string
    http: ${R}/undone
    expect: { json: { "$.state": done } }
  - id: miss-substring-prefix
    title: active is not inactive
    http: ${R}/inactive
    expect: { json: { "$.state": active } }
  - id: pass-types
    title: each type equals itself
    http: ${R}/typed
    expect: { json: { "$.n": 5, "$.b": false, "$.v": null, "$.s": "5" } }
  - id: miss-string-for-number
    title: a quoted 5 is not 5
    http: ${R}/typed
    expect: { json: { "$.n": "5" } }
  - id: miss-string-for-bool
    title: '"false" is not false'
    http: ${R}/typed
    expect: { json: { "$.b": "false" } }
  - id: miss-string-for-null
    title: '"null" is not null'
    http: ${R}/typed
    expect: { json: { "$.v": "null" } }
  - id: miss-big-integer
    title: 1000000000000000000001 is not 1e21
    http: ${R}/big
    expect: { json: { "$.n": 1e21 } }
  - id: pass-big-integer
    title: 1000000000000000000001 is above 1e21
    http: ${R}/big
    expect: { json: { "$.n": { gt: 1e21, lt: 1000000000000000000002, type: integer } } }
  - id: pass-big-literal
    title: a literal beyond 64 bits is read exactly from the file
    http: ${R}/big
    expect: { json: { "$.n": 1000000000000000000001 } }
  - id: miss-big-literal
    title: one less is a near miss
    http: ${R}/big
    expect: { json: { "$.n": 1000000000000000000000 } }
  - id: pass-big-anchor
    title: an anchored literal keeps its digits
    http: ${R}/big
    expect: { json: { "$.n": &big 1000000000000000000001 } }
  - id: miss-big-alias
    title: an alias of a literal keeps its digits too
    http: ${R}/big21
    expect: { json: { "$.n": *big } }
  - id: pass-header-any-value
    title: a positive pattern matches the second cookie
    http: ${R}/cookies
    expect: { headers: { set-cookie: ["HSID=", { count: 2 }], x-fruit: { equals: apple } } }
  - id: miss-header-second-value
    title: a negated pattern holds for no value
    http: ${R}/cookies
    expect: { headers: { set-cookie: "!HSID=" } }
  - id: miss-header-count
    title: a header counted
    http: ${R}/cookies
    expect: { headers: { set-cookie: { count: 1 } } }
  - id: miss-header-absent
    title: a header that must not exist
    http: ${R}/cookies
    expect: { headers: { x-fruit: { exists: false } } }
  - id: pass-body-equals
    title: the whole body, one trailing newline ignored
    http: ${R}/ok
    expect: { status: 200, body: { equals: ok } }
  - id: miss-body-equals
    title: not ok is not ok
    http: ${R}/notok
    expect: { status: 200, body: { equals: ok } }
  - id: pass-captured-id
    title: a captured number equals itself
    steps:
      - http: ${R}/id4
        capture: { ID: "$.id" }
      - http: ${R}/id4
        expect: { json: { "$.id": "${ID}" } }
  - id: miss-captured-id
    title: captured 4 is not 14
    steps:
      - http: ${R}/id4
        capture: { ID: "$.id" }
      - http: ${R}/id14
        expect: { json: { "$.id": "${ID}" } }
  - id: pass-many-as-array
    title: a wildcard path is an array even of one
    http: ${R}/items
    expect: { json: { "$.items[*].id": [1], "$.items[*]": { count: 1 }, "$..id": { contains: 1 } } }
  - id: miss-star-by-variable
    title: a variable is a name in a path, never a wildcard, so `*` selects no member named `*`
    env: { F: "*" }
    http: ${R}/items
    expect: { json: { "$.items.${F}.id": "!1" } }
  - id: pass-captured-price-sql
    title: a captured 4.5 equals the numeric cell 4.5
    database: sqlite
    steps:
      - http: ${R}/id4
        capture: { PRICE: "$.price" }
      - sql: SELECT 4.5 AS p
        expect: { value: "${PRICE}" }
  - id: miss-captured-price-sql
    title: a captured 4.05 is not 4.5
    database: sqlite
    steps:
      - http: ${R}/id14
        capture: { PRICE: "$.price" }
      - sql: SELECT 4.5 AS p
        expect: { value: "${PRICE}" }
  - id: miss-sql-matcher
    title: a cell compared with a matcher
    database: sqlite
    sql: SELECT 3 AS n
    expect: { value: { gt: 3 } }
  - id: miss-cut-stdout-negated
    title: a forbidden word in the middle of a long output is not overlooked
    run: head -c 3000000 /dev/zero | tr '\0' a; echo; echo ERROR; head -c 3000000 /dev/zero | tr '\0' b
    expect: { stdout: "!ERROR" }
  - id: miss-cut-marker
    title: the marker of a cut is no output
    run: head -c 3000000 /dev/zero | tr '\0' a; echo; head -c 3000000 /dev/zero | tr '\0' b
    expect: { stdout: "gaterun cut" }
  - id: pass-cut-positive
    title: a word in the kept tail of a long output is found
    run: head -c 3000000 /dev/zero | tr '\0' a; echo; head -c 3000000 /dev/zero | tr '\0' b; echo; echo the end
    expect: { stdout: "the end" }
  - id: miss-encoded-body
    title: a body that is not the gzip it says cannot pass a negated check
    http: ${R}/gzipped
    expect: { body: ["!ERROR"] }
  - id: miss-not-utf8-json
    title: a JSON body that is not UTF-8
    http: ${R}/latin1
    expect: { json: { "$.ok": true } }
  - id: miss-reserved-key
    title: an object posing as a number
    http: ${R}/posing
    expect: { json: { "$.n": 5 } }
  - id: miss-reserved-key-escaped
    title: an object posing as a number, escaped
    http: ${R}/posing-escaped
    expect: { json: { "$.n": 5 } }
  - id: pass-stdout-equals
    title: the whole output
    run: echo ok
    expect: { stdout: { equals: ok } }
  - id: miss-stdout-equals
    title: not the whole output
    run: echo not ok
    expect: { stdout: [{ equals: ok }] }
"#;

#[test]
fn every_near_miss_fails_and_every_match_passes() {
    if !common::python3() {
        eprintln!("skipped: python3 is not installed");
        return;
    }
    let p = Project::new();
    for (name, body, headers) in RESPONSES {
        p.file(&format!("responses/{name}.body"), body);
        if !headers.is_empty() {
            p.file(&format!("responses/{name}.headers"), headers);
        }
    }
    std::fs::write(
        p.path().join("responses/latin1.body"),
        b"{\"s\": \"a\xffb\", \"ok\": true}",
    )
    .expect("write");
    let replay = Replay::start(&p.path().join("responses"));
    p.stage("00.yaml", GATES);
    let out = p
        .cmd(&["stage", "0"])
        .env("R", &replay.url)
        .output()
        .expect("run gaterun");
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let results = p.results("stage-00");
    let gates = results["gates"].as_array().expect("gates");
    let message = |id: &str| -> String {
        let g = gates
            .iter()
            .find(|g| g["id"] == id)
            .unwrap_or_else(|| panic!("gate {id}"));
        g["message"].as_str().unwrap_or("").to_owned()
    };
    for g in gates {
        let id = g["id"].as_str().expect("id");
        let want = match id.split('-').next() {
            Some("pass") => "passed",
            Some("err") => "error",
            _ => "failed",
        };
        assert_eq!(g["status"], want, "{id}: {}", g["message"]);
    }
    let expected = [
        (
            "miss-substring",
            r#"expected $.state to be "done", got "undone""#,
        ),
        (
            "miss-substring-prefix",
            r#"expected $.state to be "active", got "inactive""#,
        ),
        ("miss-string-for-number", r#"expected $.n to be "5", got 5"#),
        (
            "miss-string-for-bool",
            r#"expected $.b to be "false", got false"#,
        ),
        (
            "miss-string-for-null",
            r#"expected $.v to be "null", got null"#,
        ),
        (
            "miss-big-integer",
            "expected $.n to be 1e+21, got 1000000000000000000001",
        ),
        (
            "miss-header-second-value",
            // A cookie's value is a credential: the message shows its name, as the log does.
            r#"expected every value of header set-cookie not to contain "HSID=", got 2 values: "theme [redacted]", "HSID [redacted]""#,
        ),
        (
            "miss-header-count",
            "expected the count of header set-cookie to be 1, got 2",
        ),
        (
            "miss-header-absent",
            r#"expected no header x-fruit, got "apple""#,
        ),
        (
            "miss-body-equals",
            r#"expected body to equal "ok", got "not ok""#,
        ),
        (
            "miss-captured-id",
            "step 2 (http: GET ${R}/id14): expected $.id to be 4, got 14",
        ),
        (
            "miss-captured-price-sql",
            "step 2 (sql: SELECT 4.5 AS p): expected value 4.05, got 4.5",
        ),
        (
            "miss-sql-matcher",
            "expected value to be greater than 3, got 3",
        ),
        (
            "miss-stdout-equals",
            r#"expected stdout to equal "ok", got "not ok""#,
        ),
    ];
    for (id, want) in expected {
        assert_eq!(message(id), want, "{id}");
    }
    for (id, part) in [
        (
            "miss-cut-stdout-negated",
            "expected stdout not to contain \"ERROR\", but the stdout was longer than the 4 MiB a check reads",
        ),
        (
            "miss-cut-marker",
            "expected stdout to contain \"gaterun cut\", got",
        ),
        ("miss-encoded-body", "the body is not valid gzip ("),
        ("miss-not-utf8-json", "expected a JSON body"),
        ("miss-reserved-key", "the body holds the reserved key"),
        (
            "miss-reserved-key-escaped",
            "the body holds the reserved key",
        ),
    ] {
        assert!(message(id).contains(part), "{id}: {}", message(id));
    }
    assert!(
        message("miss-star-by-variable").contains(r#"not to be "1", got nothing"#),
        "{}",
        message("miss-star-by-variable")
    );
    // Every near miss above is one line, as the terminal and reports show it.
    assert!(
        gates
            .iter()
            .all(|g| !g["message"].as_str().unwrap_or("").contains('\n'))
    );
}

/// `eventually: 1s` spends its whole budget: a file that appears at 0.8 s is seen, 20 runs of
/// 20 (the last attempt starts at the deadline at the latest).
#[test]
fn eventually_spends_its_whole_budget() {
    let p = Project::new();
    p.stage(
        "00.yaml",
        r#"
stage: 0
name: Eventually
gates:
  - id: late-file
    title: a file that appears at 0.8 s
    steps:
      - run: (sleep 0.8; touch "$GATE_TMP/late") > /dev/null 2>&1 &
      - file: ${GATE_TMP}/late
        eventually: 1s
  - id: never-file
    title: a file that never appears fails after its budget
    steps:
      - file: ${GATE_TMP}/never
        eventually: 300ms
"#,
    );
    let out = p.run(&["stage", "0", "--repeat", "20", "--jobs", "2"]);
    let results = p.results("stage-00");
    let gate = |id: &str| gate_of(&results, id);
    let late = gate("late-file");
    assert_eq!(late["status"], "passed", "{}\n{}", late, out.stderr);
    assert_eq!(late["flaky"], serde_json::Value::Null, "{late}");
    let never = gate("never-file");
    assert_eq!(never["status"], "failed");
    let msg = never["message"].as_str().expect("message");
    assert!(
        msg.starts_with("expected file ") && msg.contains("attempts)"),
        "{msg}"
    );
}

/// What can never hold, or always would, is refused before anything runs, with its location.
#[test]
fn vacuous_expectations_are_refused_by_check() {
    for (expect, error) in [
        (
            r#"{ json: { "$.items[*].state": "!failed" } }"#,
            "can select several nodes, so it is compared as a list",
        ),
        (
            r#"{ json: { "$..id": "/x/" } }"#,
            "can select several nodes",
        ),
        (r#"{ body: "" }"#, "is empty"),
        (r#"{ body: "//" }"#, "is empty"),
        (
            r#"{ headers: { "set cookie": "!HSID=" } }"#,
            "is not a header name",
        ),
    ] {
        let p = Project::new();
        p.stage(
            "00.yaml",
            &format!(
                "stage: 0\nname: S\ngates:\n  - id: a\n    title: t\n    http: http://127.0.0.1:9/\n    expect: {expect}\n"
            ),
        );
        let out = p.run(&["check"]);
        assert_eq!(out.code, 2, "{expect}: {}", out.stdout);
        assert!(
            out.stderr.contains("gates/00.yaml:7:") && out.stderr.contains(error),
            "{expect}: {}",
            out.stderr
        );
    }
}

/// A service's port is a number for comparisons: `"${API_PORT}"` equals the JSON number the
/// service reports, never the string.
#[test]
fn a_service_port_compares_as_a_number() {
    if !common::python3() {
        return;
    }
    let p = Project::new();
    p.file(
        "port.py",
        r#"
import json, os
from http.server import BaseHTTPRequestHandler, HTTPServer
port = int(os.environ["PORT"])
class H(BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"port": port, "text": str(port)}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
HTTPServer(("127.0.0.1", port), H).serve_forever()
"#,
    );
    p.stage(
        "00.yaml",
        r#"
stage: 0
name: Ports
gates:
  - id: pass-port-number
    title: the port is a number
    services:
      api: { run: python3 port.py, ready: { http: "${API_URL}/" } }
    http: ${API_URL}/
    expect: { json: { "$.port": "${API_PORT}", "$.text": "/^${API_PORT}$/" } }
  - id: miss-port-as-string
    title: the port is not its text
    services:
      api: { run: python3 port.py, ready: { http: "${API_URL}/" } }
    http: ${API_URL}/
    expect: { json: { "$.text": "${API_PORT}" } }
"#,
    );
    let out = p.run(&["stage", "0"]);
    let results = p.results("stage-00");
    let gates = results["gates"].as_array().expect("gates");
    assert_eq!(gates[0]["status"], "passed", "{}", out.stdout);
    assert_eq!(gates[1]["status"], "failed", "{}", out.stdout);
    let msg = gates[1]["message"].as_str().expect("message");
    assert!(msg.starts_with("expected $.text to be "), "{msg}");
}

/// A `file` step reads only a regular file: a FIFO, a device or a directory where the file
/// should be fails at once, naming what is there (a FIFO never hangs the step), while the
/// regular file passes and a near miss of its content fails.
#[test]
fn a_file_step_reads_only_a_regular_file() {
    let p = Project::new();
    p.file("data/real.txt", "state: done\n");
    std::fs::create_dir_all(p.path().join("data/dir")).expect("mkdir");
    let fifo = p.path().join("data/fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo");
    assert!(made.success());
    std::os::unix::fs::symlink("/dev/zero", p.path().join("data/zero")).expect("symlink");
    p.stage(
        "00.yaml",
        r#"
stage: 0
name: Files
gates:
  - id: real
    title: a regular file
    steps:
      - file: data/real.txt
        expect: { contains: ["state: done"] }
  - id: near
    title: one word off
    steps:
      - file: data/real.txt
        expect: { contains: ["state: dona"] }
  - id: fifo
    title: a FIFO
    steps:
      - file: data/fifo
        expect: { contains: ["x"] }
  - id: zero
    title: a device behind a link
    steps:
      - file: data/zero
        expect: { contains: ["x"] }
  - id: dir
    title: a directory
    steps:
      - file: data/dir
        expect: { contains: ["x"] }
  - id: fifo-exists
    title: a FIFO exists
    steps:
      - file: data/fifo
"#,
    );
    let started = std::time::Instant::now();
    let out = p.run(&["stage", "0"]);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "the FIFO hung the step: {}",
        out.stderr
    );
    let results = p.results("stage-00");
    let gate = |id: &str| gate_of(&results, id);
    assert_eq!(gate("real")["status"], "passed", "{}", out.stderr);
    assert_eq!(gate("fifo-exists")["status"], "passed", "{}", out.stderr);
    assert_eq!(gate("near")["status"], "failed");
    for (id, what) in [
        ("fifo", "a FIFO"),
        ("zero", "a device"),
        ("dir", "a directory"),
    ] {
        let g = gate(id);
        assert_eq!(g["status"], "failed", "{g}");
        let msg = g["message"].as_str().expect("message");
        assert!(
            msg.ends_with(&format!("to be a regular file to read, got {what}")),
            "{msg}"
        );
    }
}

/// Gate `id` of a stage's results.json.
fn gate_of(results: &serde_json::Value, id: &str) -> serde_json::Value {
    results["gates"]
        .as_array()
        .expect("gates")
        .iter()
        .find(|g| g["id"] == id)
        .cloned()
        .expect("gate")
}
