//! Secrets: a declared secret reaches only the gates that declare it, and is masked in every
//! gate's output and every file, longest first (a secret inside another leaves no rest).

mod common;

use common::Project;

const ID_PART: &str = "AKIA7TESTKEY";
const SECRET_KEY: &str = "AKIA7TESTKEY.s3cretPartOfTheKey99";

#[test]
fn a_secret_reaches_only_its_gates_and_is_masked_everywhere() {
    let p = Project::new();
    p.file("leak.txt", &format!("from a file: {SECRET_KEY}\n"));
    p.stage(
        "00.yaml",
        r#"
stage: 0
name: Secrets
gates:
  - id: declares
    title: declares both, one inside the other
    secrets: [ID_PART, SECRET_KEY]
    steps:
      - run: 'echo "id=$ID_PART key=$SECRET_KEY"'
      - run: 'echo "$SECRET_KEY"; exit 1'
  - id: undeclared
    title: declares none, so sees none
    steps:
      - run: 'test -z "${SECRET_KEY:-}" && test -z "${ID_PART:-}" && ! env | grep -q AKIA7'
      - run: cat leak.txt; exit 1
"#,
    );
    let out = p
        .cmd(&["stage", "0", "--verbose"])
        .env("ID_PART", ID_PART)
        .env("SECRET_KEY", SECRET_KEY)
        .output()
        .expect("run gaterun");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    let results = p.results("stage-00");
    let gates = results["gates"].as_array().expect("gates");
    // The undeclared gate's first step passed: no secret in its environment.
    let undeclared = gates
        .iter()
        .find(|g| g["id"] == "undeclared")
        .expect("gate");
    assert_eq!(undeclared["steps"][0]["status"], "passed", "{undeclared}");
    let mut files = Vec::new();
    common::collect_files(&p.path().join("evidence"), &mut files);
    let mut texts: Vec<(String, String)> = files
        .iter()
        .map(|f| {
            (
                f.display().to_string(),
                String::from_utf8_lossy(&std::fs::read(f).expect("read")).into_owned(),
            )
        })
        .collect();
    texts.push(("stdout".into(), stdout));
    texts.push(("stderr".into(), stderr));
    for (name, text) in &texts {
        for piece in ["s3cretPartOfTheKey99", ID_PART, "AKIA7TESTKEY"] {
            assert!(!text.contains(piece), "{piece} in {name}:\n{text}");
        }
    }
    // The masked text is there: the gates did print it.
    let log =
        std::fs::read_to_string(p.evidence("phase-1/stage-00/logs/undeclared.log")).expect("log");
    assert!(log.contains("from a file: ***"), "{log}");
    let log =
        std::fs::read_to_string(p.evidence("phase-1/stage-00/logs/declares.log")).expect("log");
    assert!(log.contains("id=*** key=***"), "{log}");
}

/// Credentials that were never declared secret stay out of the log and messages: a URL's
/// password, `Authorization`, `Cookie` and `Set-Cookie` values, the PostgreSQL server's
/// password.
#[test]
fn credentials_are_redacted_from_logs_and_messages() {
    if !common::python3() {
        return;
    }
    let server = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/server.py");
    let p = Project::new();
    p.stage(
        "00.yaml",
        &format!(
            r#"
stage: 0
name: Credentials
gates:
  - id: creds
    title: credentials in a request
    services:
      api: {{ run: python3 {server}, ready: {{ http: "${{API_URL}}/healthz" }} }}
    steps:
      - http: http://ana:pw-secret-9@127.0.0.1:${{API_PORT}}/healthz
        headers: {{ Authorization: "Bearer tok123secret", Cookie: "sid=c00kie-secret" }}
      - http: http://ana:pw-secret-9@127.0.0.1:9/unreachable
"#
        ),
    );
    let out = p.run(&["stage", "0"]);
    let log = std::fs::read_to_string(p.evidence("phase-1/stage-00/logs/creds.log")).expect("log");
    let results = p.read("phase-1/stage-00/results.json");
    for text in [&log, &results, &out.stdout, &out.stderr] {
        for secret in ["pw-secret-9", "tok123secret", "c00kie-secret"] {
            assert!(!text.contains(secret), "{secret} in:\n{text}");
        }
    }
    // What is left says what was sent, so the log still reads.
    assert!(log.contains("http://ana:***@127.0.0.1:"), "{log}");
    assert!(log.contains("Authorization: Bearer [redacted]"), "{log}");
    let r: serde_json::Value = serde_json::from_str(&results).expect("json");
    assert_eq!(r["gates"][0]["status"], "failed");
}

/// `capture: { T: { select: …, secret: true } }`: the captured value is masked from then on, in
/// the log (which also holds the output it was captured from) and in every message.
#[test]
fn a_captured_secret_is_masked() {
    let p = Project::new();
    p.stage(
        "00.yaml",
        r#"
stage: 0
name: Captured
gates:
  - id: secret-capture
    title: a token captured as a secret
    steps:
      - run: echo token=abc-secret-123
        capture: { T: { select: "/token=(\\S+)/", secret: true } }
      - run: echo "using $T"
        expect: { stdout: "nothing like this" }
  - id: plain-capture
    title: the near miss, a token captured plainly, is in the log
    steps:
      - run: echo token=def-plain-456
        capture: { T: "/token=(\\S+)/" }
      - run: echo "using $T"
"#,
    );
    let out = p.run(&["stage", "0"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    let log = |id: &str| {
        std::fs::read_to_string(p.evidence(&format!("phase-1/stage-00/logs/{id}.log")))
            .expect("log")
    };
    let results = p.read("phase-1/stage-00/results.json");
    for text in [&log("secret-capture"), &results, &out.stdout] {
        assert!(!text.contains("abc-secret-123"), "{text}");
    }
    assert!(log("secret-capture").contains("using ***"));
    assert!(log("plain-capture").contains("using def-plain-456"));
    assert_eq!(p.run(&["check"]).code, 0);
}

/// `follow_redirects: true` to another origin sends none of the gate's headers, no body and
/// no `Referer` (the first URL may carry a secret in its query); within the origin the
/// headers go along, and 307 repeats a POST with its body.
#[test]
fn a_redirect_to_another_origin_carries_no_header_of_the_gate() {
    if !common::python3() {
        return;
    }
    let echo = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/echo_headers.py"
    );
    let p = Project::new();
    p.stage(
        "00.yaml",
        &format!(
            r#"
stage: 0
name: Redirects
gates:
  - id: redirects
    title: redirects and headers
    services:
      a: {{ run: python3 {echo}, ready: {{ http: "${{A_URL}}/echo" }} }}
      b: {{ run: python3 {echo}, ready: {{ http: "${{B_URL}}/echo" }} }}
    steps:
      - name: to another origin
        http: ${{A_URL}}/redirect?to=${{B_URL}}/echo&code=302&token=q-secret
        headers: {{ X-Api-Key: k3y, Authorization: Bearer t0k }}
        follow_redirects: true
        expect:
          json:
            "$.method": GET
            "$.headers['x-api-key']": {{ exists: false }}
            "$.headers.authorization": {{ exists: false }}
            "$.headers.referer": {{ exists: false }}
      - name: within the origin
        http: ${{A_URL}}/redirect?to=/echo&code=302
        headers: {{ X-Api-Key: k3y }}
        follow_redirects: true
        expect: {{ json: {{ "$.headers['x-api-key']": k3y }} }}
      - name: a 307 repeats the POST
        http: POST ${{A_URL}}/redirect?to=/echo&code=307
        body: payload
        follow_redirects: true
        expect: {{ json: {{ "$.method": POST, "$.body": payload }} }}
      - name: a 307 to another origin drops the body
        http: POST ${{A_URL}}/redirect?to=${{B_URL}}/echo&code=307
        body: payload
        follow_redirects: true
        expect: {{ json: {{ "$.body": "" }} }}
      - name: not followed unless asked
        http: ${{A_URL}}/redirect?to=/echo&code=302
        expect: {{ status: 302 }}
"#
        ),
    );
    let out = p.run(&["stage", "0"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
}

mod property {
    use proptest::prelude::*;

    use super::common::{self, Project};

    /// A secret: a word of 10–20 letters and digits with `%,:"\`, spaces, tabs and newlines
    /// put in, so it is multi-line and needs every escape.
    fn secret() -> impl Strategy<Value = String> {
        (
            "[a-zA-Z0-9]{10,20}",
            proptest::collection::vec(
                (
                    0usize..20,
                    prop_oneof![
                        Just("%"),
                        Just(","),
                        Just(":"),
                        Just("\""),
                        Just("\\"),
                        Just(" "),
                        Just("\t"),
                        Just("\n"),
                    ],
                ),
                0..5,
            ),
        )
            .prop_map(|(word, inserts)| {
                let mut s = word;
                for (at, piece) in inserts {
                    let at = at.min(s.len());
                    s.insert_str(at, piece);
                }
                s
            })
    }

    /// Every piece of 8 characters of the secret, as is and JSON-escaped (as results.json
    /// would hold it).
    fn pieces(secret: &str) -> Vec<String> {
        let chars: Vec<char> = secret.chars().collect();
        let mut out = Vec::new();
        for w in chars.windows(8) {
            let piece: String = w.iter().collect();
            let escaped = serde_json::to_string(&piece).expect("json");
            out.push(escaped[1..escaped.len() - 1].to_owned());
            out.push(piece);
        }
        out
    }

    /// The case a random search rarely meets: an ANSI escape or a NUL exactly in the middle of
    /// a 14-character secret leaves two pieces of 7 (no piece of 8 to find), which a writer
    /// that drops control characters would join again.
    #[test]
    fn a_secret_split_in_halves_by_a_control_sequence_is_masked() {
        for split in ["\x1b[0m", "\0"] {
            let p = Project::new();
            std::fs::write(p.path().join("out.bin"), format!("abcdefg{split}HIJKLMN\n"))
                .expect("write");
            p.stage(
                "00.yaml",
                "stage: 0\nname: S\ngates:\n  - id: a\n    title: t\n    secrets: [S]\n    run: cat out.bin\n    expect: { stdout: never-there }\n",
            );
            let out = p
                .cmd(&["stage", "0", "--verbose"])
                .env("S", "abcdefgHIJKLMN")
                .output()
                .expect("run");
            let mut files = Vec::new();
            common::collect_files(&p.path().join("evidence"), &mut files);
            for f in &files {
                let text = String::from_utf8_lossy(&std::fs::read(f).expect("read")).into_owned();
                assert!(
                    !text.contains("abcdefgHIJKLMN"),
                    "{split:?} in {}:\n{text}",
                    f.display()
                );
            }
            assert!(!String::from_utf8_lossy(&out.stdout).contains("abcdefgHIJKLMN"));
            assert!(!String::from_utf8_lossy(&out.stderr).contains("abcdefgHIJKLMN"));
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, failure_persistence: None, ..ProptestConfig::default() })]

        /// A secret never appears, whole or in any piece of 8 characters, in any file under
        /// evidence/, stdout, stderr or the step summary (nor does a second secret holding it):
        /// printed by the gate that declares
        /// it or by one that does not, split by an ANSI escape, a NUL or a CR, at any offset
        /// around the 120-character preview of a failure message.
        #[test]
        fn a_secret_never_appears_in_any_piece(
            secret in secret(),
            pad in 0usize..160,
            split in prop_oneof![Just(""), Just("\x1b[0m"), Just("\0"), Just("\r")],
            at in 0usize..30,
        ) {
            let p = Project::new();
            let at = secret.char_indices().nth(at.min(secret.chars().count())).map_or(secret.len(), |(i, _)| i);
            // A second secret with the first inside it: masked whole, no rest of it left.
            let outer = format!("KEY-{secret}.s3cretPartOfTheKey99");
            let printed = format!("{}{}{}{} tail\n", "x".repeat(pad), &secret[..at], split, &secret[at..]);
            std::fs::write(p.path().join("out.bin"), printed.as_bytes()).expect("write");
            p.stage(
                "00.yaml",
                r#"
stage: 0
name: Secret
gates:
  - id: declares
    title: declares the secret and prints it
    secrets: [THE_SECRET, OUTER]
    steps:
      - run: |
          cat out.bin; printf '%s' "$THE_SECRET"; printf '{"v": "%s"}' "$THE_SECRET" >&2; printf 'outer=%s\n' "$OUTER"
        expect: { stdout: never-there }
  - id: other
    title: does not declare it, prints it from a file
    run: cat out.bin
    expect: { stdout: never-there }
"#,
            );
            let summary = p.path().join("step-summary.md");
            let out = p
                .cmd(&["stage", "0", "--github", "--verbose"])
                .env("THE_SECRET", &secret)
                .env("OUTER", &outer)
                .env("GITHUB_STEP_SUMMARY", &summary)
                .output()
                .expect("run gaterun");
            prop_assert_eq!(out.status.code(), Some(1));
            let mut files = Vec::new();
            common::collect_files(&p.path().join("evidence"), &mut files);
            files.push(summary);
            let mut texts: Vec<(String, String)> = files
                .iter()
                .map(|f| (f.display().to_string(), String::from_utf8_lossy(&std::fs::read(f).unwrap_or_default()).into_owned()))
                .collect();
            texts.push(("stdout".into(), String::from_utf8_lossy(&out.stdout).into_owned()));
            texts.push(("stderr".into(), String::from_utf8_lossy(&out.stderr).into_owned()));
            for piece in pieces(&secret).into_iter().chain(pieces(&outer)) {
                for (name, text) in &texts {
                    // The runner's own masks name the secret on purpose.
                    let text: String = text.lines().filter(|l| !l.starts_with("::add-mask::")).collect::<Vec<_>>().join("\n");
                    prop_assert!(!text.contains(&piece), "{:?} in {}:\n{}", piece, name, text);
                }
            }
        }
    }
}

/// A declared secret inside base64 at any offset (`curl -v -u ana:$SECRET` logs `Authorization:
/// Basic base64("ana:" + secret)`) or as upper-case hex is masked in the log, the results and
/// the terminal; the same text without the secret is left as it is.
#[test]
fn a_secret_encoded_inside_other_text_is_masked() {
    let secret = "Early7Tok3nValue";
    let p = Project::new();
    p.stage(
        "s.yaml",
        "stage: 0\nname: Enc\ngates:\n  - id: enc\n    title: prints encodings\n    secrets: [ENC_SECRET]\n    run: 'printf \"ana:%s\" \"$ENC_SECRET\" | base64; printf \"xy%s!\" \"$ENC_SECRET\" | base64; printf %s \"$ENC_SECRET\" | od -An -tx1 | tr -d \" \\n\" | tr a-f A-F; echo; printf \"ana:plain-value-here\" | base64; exit 1'\n",
    );
    let run = p
        .cmd(&["stage", "0", "--verbose"])
        .env("ENC_SECRET", secret)
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&run.stderr).into_owned();
    let log = p.read("phase-1/stage-00/logs/enc.log");
    let results = p.read("phase-1/stage-00/results.json");
    let hex: String = secret.bytes().map(|b| format!("{b:02X}")).collect();
    for text in [&stderr, &log, &results] {
        // The cores of base64("ana:" + secret) and base64("xy" + secret + "!") (the secret at
        // the second and third offsets), and the hex.
        for leak in ["Vhcmx5N1RvazNuVmFsdW", "FYXJseTdUb2szblZhbHVl", &hex[..16]] {
            assert!(!text.contains(leak), "{leak} in:\n{text}");
        }
    }
    // The near miss: the base64 of text without the secret is printed as it is.
    assert!(log.contains("YW5hOnBsYWluLXZhbHVlLWhlcmU="), "{log}");
}
