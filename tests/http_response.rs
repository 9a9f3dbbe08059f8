//! The response side of the `http` step (issue 18): text decoded by its charset, captures by
//! regex and of the whole body, `bytes`, `duration`, JSONPath keys with dashes and variables,
//! `xpath` on XML and `css` on HTML. Against a real HTTP server
//! (tests/fixtures/http_response_server.py); in each stage every gate named `pass-*` must
//! pass, every `miss-*` must fail (a near miss) and every `err-*` must be an error, each with
//! its one-line message.

mod common;

use std::io::BufRead;
use std::process::{Child, Command, Stdio};

use common::Project;

/// The fixture server on a free port; it exits when its stdin closes.
struct Server {
    child: Child,
    url: String,
}

impl Server {
    fn start() -> Server {
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/http_response_server.py"
        );
        let mut child = Command::new("python3")
            .arg(script)
            .env_remove("PORT")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start http_response_server.py");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("port line");
        let port: u16 = line.trim().parse().expect("a port");
        Server {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Run `gates` (YAML list items) as stage 0 against the server, check every gate's status by
/// its name, and return each gate's message by id.
fn run(gates: &str) -> Vec<(String, String)> {
    run_project(gates).1
}

/// [`run`], and the project, for its evidence.
fn run_project(gates: &str) -> (Project, Vec<(String, String)>) {
    let p = Project::new();
    p.stage(
        "00.yaml",
        &format!("stage: 0\nname: Response\ngates:\n{gates}"),
    );
    let server = Server::start();
    let out = p
        .cmd(&["stage", "0"])
        .env("R", &server.url)
        .output()
        .expect("run gaterun");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let results = p.results("stage-00");
    let mut messages = Vec::new();
    for g in results["gates"].as_array().expect("gates") {
        let id = g["id"].as_str().expect("id").to_owned();
        let want = match id.split('-').next() {
            Some("pass") => "passed",
            Some("err") => "error",
            _ => "failed",
        };
        let message = g["message"].as_str().unwrap_or("").to_owned();
        assert_eq!(g["status"], want, "{id}: {message}\n{stdout}");
        assert!(!message.contains('\n'), "{id}: one line: {message}");
        messages.push((id, message));
    }
    (p, messages)
}

#[track_caller]
fn assert_messages(got: &[(String, String)], want: &[(&str, &str)]) {
    for (id, text) in want {
        let (_, message) = got
            .iter()
            .find(|(g, _)| g == id)
            .unwrap_or_else(|| panic!("no gate {id}"));
        assert!(
            message.contains(text),
            "{id}: expected the message to contain {text:?}, got {message:?}"
        );
    }
}

#[test]
fn bodies_are_decoded_by_their_charset() {
    if !common::python3() {
        return;
    }
    let got = run(r#"
  - id: pass-latin1
    title: ISO-8859-1 (windows-1252 by WHATWG), café as 0xE9
    http: ${R}/latin1
    expect: { body: ["café", "plaît", "!�"] }
  - id: miss-latin1
    title: the decoded text is not what a wrong pattern asks
    http: ${R}/latin1
    expect: { body: "cafe," }
  - id: pass-gb2312
    title: GB2312 (GBK by WHATWG)
    http: ${R}/gb2312
    expect: { body: { equals: "你好世界" } }
  - id: miss-gb2312
    title: a near miss in GB2312
    http: ${R}/gb2312
    expect: { body: { equals: "你好世" } }
  - id: pass-cp1256
    title: cp1256 (windows-1256), Arabic
    http: ${R}/cp1256
    expect: { body: "/^مرحبا بالعالم$/" }
  - id: miss-cp1256
    title: a near miss in cp1256
    http: ${R}/cp1256
    expect: { body: "مرحبا يا عالم" }
  - id: pass-shift-jis
    title: Shift_JIS
    http: ${R}/shift_jis
    expect: { body: "こんにちは" }
  - id: miss-shift-jis
    title: a near miss in Shift_JIS
    http: ${R}/shift_jis
    expect: { body: "!世界" }
  - id: pass-meta-http-equiv
    title: HTML whose charset is only in a meta http-equiv
    http: ${R}/meta
    expect: { body: ["crème brûlée", "<title>Café</title>"] }
  - id: miss-meta-http-equiv
    title: a near miss in the meta-declared charset
    http: ${R}/meta
    expect: { body: "creme brulee" }
  - id: pass-meta-charset
    title: HTML whose charset is only in a meta charset
    http: ${R}/meta-charset
    expect: { body: "<p>سلام</p>" }
  - id: miss-meta-charset
    title: a near miss in the meta-charset page
    http: ${R}/meta-charset
    expect: { body: "<p>سلم</p>" }
  - id: pass-utf8
    title: UTF-8 when nothing names a charset
    http: ${R}/utf8
    expect: { body: { equals: "naïve ✓" } }
  - id: miss-unknown-charset
    title: an unknown charset fails the text checks, even a `!` pattern
    http: ${R}/unknown-charset
    expect: { body: "!nothing" }
  - id: miss-unknown-charset-capture
    title: and a capture on its text
    http: ${R}/unknown-charset
    capture: { T: body }
"#);
    assert_messages(
        &got,
        &[
            (
                "miss-latin1",
                r#"expected body to contain "cafe,", got "Un café, s'il vous plaît""#,
            ),
            (
                "miss-gb2312",
                r#"expected body to equal "你好世", got "你好世界""#,
            ),
            (
                "miss-shift-jis",
                r#"expected body not to contain "世界", got "こんにちは世界""#,
            ),
            ("miss-meta-http-equiv", "<title>Café</title>"),
            (
                "miss-unknown-charset",
                r#"the body's charset "x-klingon" is not one gaterun can decode, so its text cannot be checked"#,
            ),
            (
                "miss-unknown-charset-capture",
                "capture `T`: the body's charset",
            ),
        ],
    );
}

/// `gaterun check` on one gate file: its exit code 2 and its diagnostics.
fn check_errors(gates: &str) -> String {
    let p = Project::new();
    p.stage(
        "00.yaml",
        &format!("stage: 0\nname: Response\ngates:\n{gates}"),
    );
    let run = p.run(&["check"]);
    assert_ne!(run.code, 0, "{}", run.stdout);
    format!("{}{}", run.stdout, run.stderr)
}

#[test]
fn captures_by_regex_and_of_the_whole_body() {
    if !common::python3() {
        return;
    }
    let got = run(r#"
  - id: pass-regex
    title: a regex capture on the body's text, used in the next step
    steps:
      - http: ${R}/token
        capture: { TOKEN: "/token=([a-z0-9]+)/" }
      - run: test "$TOKEN" = abc123
  - id: pass-regex-latin1
    title: on the decoded text
    steps:
      - http: ${R}/latin1
        capture: { DRINK: "/Un (\\w+),/" }
      - run: test "$DRINK" = café
  - id: pass-body
    title: the whole body, a secret from then on
    steps:
      - http: ${R}/token
        capture: { PAGE: body, WHOLE: { select: body, secret: true } }
      - run: 'test "$(printf %s "$PAGE" | wc -c)" -eq 39 && case "$PAGE" in "session ok"?"token=abc123; expires=never"?) ;; *) exit 1;; esac'
  - id: miss-regex
    title: a regex that does not match names the capture
    http: ${R}/token
    capture: { TOKEN: "/token=([0-9]+);/" }
"#);
    assert_messages(
        &got,
        &[(
            "miss-regex",
            "capture `TOKEN`: /token=([0-9]+);/ did not match the body, got \"session ok↵token=abc123; expires=never\"",
        )],
    );
    let errors = check_errors(
        r#"  - id: groups
    title: a capture regex needs exactly one group
    steps:
      - http: http://127.0.0.1:1/
        capture: { NONE: "/token=[a-z]+/" }
      - http: http://127.0.0.1:1/
        capture: { TWO: "/(token)=([a-z]+)/" }
      - http: http://127.0.0.1:1/
        capture: { ODD: "bodies" }
"#,
    );
    for want in [
        "00.yaml:8:26:",
        "capture `NONE`: `/token=[a-z]+/` must have exactly one group `( )`, it has 0",
        "00.yaml:10:25:",
        "capture `TWO`: `/(token)=([a-z]+)/` must have exactly one group `( )`, it has 2",
        "capture `ODD`: an `http` capture is a JSONPath (`$.id`), `header:NAME`, `/regex/` with one group, or `body`, got `bodies`",
    ] {
        assert!(errors.contains(want), "{want}\n{errors}");
    }
}

#[test]
fn bytes_and_duration() {
    if !common::python3() {
        return;
    }
    let got = run(r#"
  - id: pass-bytes
    title: byte count and sha256 (any case) of the body
    http: ${R}/bytes
    expect:
      bytes: { count: 12, sha256: A948904F2F0F479B8F8197694B30184B0D2ED1C1CD2A1EC0FB85D299A192A447 }
  - id: pass-bytes-matchers
    title: count by matchers, on bytes, not characters
    http: ${R}/utf8
    expect: { bytes: { count: { gt: 7, le: 10 } } }
  - id: miss-bytes-count
    title: one byte off
    http: ${R}/bytes
    expect: { bytes: { count: 11 } }
  - id: miss-bytes-sha
    title: one hex digit off
    http: ${R}/bytes
    expect: { bytes: { sha256: a948904f2f0f479b8f8197694b30184b0d2ed1c1cd2a1ec0fb85d299a192a448 } }
  - id: miss-bytes-gt
    title: a count bound missed
    http: ${R}/utf8
    expect: { bytes: { count: { gt: 10 } } }
  - id: pass-duration
    title: fast enough, and slow enough
    http: ${R}/slow?ms=150
    expect: { duration: { lt: 5s, ge: 150ms } }
  - id: miss-duration
    title: too slow
    http: ${R}/slow?ms=400
    expect: { duration: { lt: 200ms } }
  - id: miss-duration-gt
    title: too fast
    http: ${R}/bytes
    expect: { duration: { gt: 3s } }
"#);
    assert_messages(
        &got,
        &[
            (
                "miss-bytes-count",
                "expected the body's byte count to be 11, got 12",
            ),
            (
                "miss-bytes-sha",
                "expected the body's sha256 a948904f2f0f479b8f8197694b30184b0d2ed1c1cd2a1ec0fb85d299a192a448, got a948904f2f0f479b8f8197694b30184b0d2ed1c1cd2a1ec0fb85d299a192a447",
            ),
            (
                "miss-bytes-gt",
                "expected the body's byte count to be greater than 10, got 10",
            ),
            ("miss-duration", "expected duration < 200ms, got 4"),
            ("miss-duration-gt", "expected duration > 3s, got "),
        ],
    );
    let errors = check_errors(
        r#"  - id: bad
    title: what check refuses
    steps:
      - http: http://127.0.0.1:1/
        expect: { bytes: { sha256: abc } }
      - http: http://127.0.0.1:1/
        expect: { bytes: { count: -1 } }
      - http: http://127.0.0.1:1/
        expect: { duration: { lt: soon } }
"#,
    );
    for want in [
        "00.yaml:8:",
        "`bytes.sha256` takes 64 hex digits, got `abc` (3 characters)",
        "00.yaml:10:",
        "bytes.`count` takes a whole number",
        "00.yaml:12:",
        "invalid duration `soon` for `duration.lt`",
    ] {
        assert!(errors.contains(want), "{want}\n{errors}");
    }
    let typo = check_errors(
        r#"  - id: typo
    title: a misspelt bound
    http: http://127.0.0.1:1/
    expect: { duration: { lte: 1s } }
"#,
    );
    assert!(
        typo.contains("00.yaml:7:27: error: unknown key 'lte', did you mean 'lt'?"),
        "{typo}"
    );
}

#[test]
fn jsonpath_keys_with_dashes_and_variables() {
    if !common::python3() {
        return;
    }
    let got = run(r#"
  - id: pass-dashed
    title: dashed shorthand and bracket forms
    http: ${R}/json
    expect:
      json:
        "$.profile-id": p-42
        "$['profile-id']": p-42
        "$.user.first-name": Ana
        "$..first-name": [Ana]
  - id: miss-dashed
    title: a near miss on a dashed key
    http: ${R}/json
    expect: { json: { "$.profile-id": p-4 } }
  - id: pass-variables
    title: a captured number in a filter, a name from a variable
    env: { KEY: profile-id, NAME: "pear" }
    steps:
      - http: ${R}/json
        capture: { ID: "$.items[1].id" }
      - http: ${R}/json
        expect:
          json:
            "$.items[?@.id == ${ID}].name": [pear]
            "$.items[?@.name == '${NAME}'].id": [2]
            "$.items[?@.name == ${NAME}].id": [2]
            "$.${KEY}": p-42
  - id: miss-variable-type
    title: a string variable is a string in a filter, never the number 2
    env: { ID: "2" }
    http: ${R}/json
    expect: { json: { "$.items[?@.id == ${ID}].name": [pear] } }
  - id: pass-no-injection
    title: a value cannot rewrite the filter
    env: { NAME: "x' || @.id > 0 || @.name == 'y", NAME2: "x] || $[?@.id > 0" }
    http: ${R}/json
    expect:
      json:
        "$.items[?@.name == '${NAME}']": { count: 0 }
        "$.items[?@.name == ${NAME2}]": { count: 0 }
  - id: miss-injection
    title: the near miss of the injected filter, written as a filter, selects all three
    http: ${R}/json
    expect: { json: { "$.items[?@.name == 'x' || @.id > 0 || @.name == 'y']": { count: 0 } } }
"#);
    assert_messages(
        &got,
        &[
            (
                "miss-dashed",
                r#"expected $.profile-id to be "p-4", got "p-42""#,
            ),
            ("miss-variable-type", r#"got []"#),
            ("miss-injection", "to be 0, got 3"),
        ],
    );
    let errors = check_errors(
        r#"  - id: bad
    title: an invalid path is located
    http: http://127.0.0.1:1/
    expect: { json: { "$.items[?@.id == ]": 1 } }
"#,
    );
    assert!(
        errors.contains("00.yaml:7:") && errors.contains("invalid JSONPath `$.items[?@.id == ]`"),
        "{errors}"
    );
}

#[test]
fn xpath_on_xml_bodies() {
    if !common::python3() {
        return;
    }
    let got = run(r#"
  - id: pass-xpath
    title: node-sets as texts, typed results, namespaces
    http: ${R}/xml
    expect:
      xpath:
        "//book/title": ["Dune", "/^Candide$/", "!Zadig"]
        "//book[@lang='en']/title": { count: 2, equals: [Dune, Emma] }
        "//book[@id='b2']/title": { equals: Candide }
        "//book/@id": { equals: [b1, b2, b3], contains: b3 }
        "//dc:creator": Voltaire
        "count(//book)": { equals: 3, gt: 2 }
        "string(//book[1]/title)": { equals: Dune }
        "boolean(//book[@lang='de'])": { equals: false }
        "sum(//price)": { equals: 16.5 }
        "//magazine": { count: 0 }
        "//book[@lang='de']": { exists: false }
  - id: pass-xhtml
    title: the default namespace of XHTML is `_`
    http: ${R}/xhtml
    expect:
      xpath:
        "//_:title": { equals: Strict page }
        "//_:p[@class='lead']": "Hello"
  - id: miss-xpath-type
    title: the number 3 is not the string "3"
    http: ${R}/xml
    expect: { xpath: { "count(//book)": { equals: "3" } } }
  - id: miss-xpath-several
    title: a plain value needs exactly one node
    http: ${R}/xml
    expect: { xpath: { "//title": { equals: Dune } } }
  - id: miss-xpath-text
    title: one letter off
    http: ${R}/xml
    expect: { xpath: { "//book[@id='b2']/title": { equals: Candid } } }
  - id: miss-xpath-nothing
    title: a typo'd path fails even a `!` pattern
    http: ${R}/xml
    expect: { xpath: { "//titel": "!Zadig" } }
  - id: miss-xpath-count
    title: one node more than expected
    http: ${R}/xml
    expect: { xpath: { "//book": { count: 2 } } }
  - id: miss-not-xml
    title: a body that is not well-formed XML
    http: ${R}/not-xml
    expect: { xpath: { "//book": { count: 1 } } }
"#);
    assert_messages(
        &got,
        &[
            (
                "miss-xpath-type",
                r#"expected xpath count(//book) to be "3", got 3"#,
            ),
            (
                "miss-xpath-several",
                r#"expected xpath //title to select one node, got 3: ["Dune","Candide","Emma"]"#,
            ),
            (
                "miss-xpath-text",
                r#"expected xpath //book[@id='b2']/title to be "Candid", got "Candide""#,
            ),
            (
                "miss-xpath-nothing",
                "expected xpath //titel to select something, got nothing",
            ),
            (
                "miss-xpath-count",
                "expected the count of xpath //book to be 2, got 3",
            ),
            (
                "miss-not-xml",
                "expected an XML body for expect.xpath, got one that is not well-formed",
            ),
        ],
    );
    let errors = check_errors(
        r#"  - id: bad
    title: an invalid expression is located
    http: http://127.0.0.1:1/
    expect: { xpath: { "//book[": x } }
"#,
    );
    assert!(
        errors.contains("00.yaml:7:") && errors.contains("expect.xpath: invalid XPath `//book[`"),
        "{errors}"
    );
}

#[test]
fn css_on_html_bodies() {
    if !common::python3() {
        return;
    }
    let got = run(r#"
  - id: pass-css
    title: elements as texts, attributes with @
    http: ${R}/page
    expect:
      css:
        "li.item": { count: 3, equals: [apple, pear, fig] }
        "li.sale": { equals: fig }
        "title": Shop
        "a.next @href": { equals: /page/2 }
        "a.next": "/^next page$/"
        "ul#fruits li:nth-child(2)": { equals: pear }
        "li": ["apple", "!banana"]
        "div.nothing": { count: 0 }
  - id: pass-css-latin1
    title: on the text decoded by the meta charset
    http: ${R}/meta
    expect: { css: { "p": { equals: crème brûlée } } }
  - id: miss-css-count
    title: one element more than expected
    http: ${R}/page
    expect: { css: { "li.item": { count: 2 } } }
  - id: miss-css-attribute
    title: an attribute one character off
    http: ${R}/page
    expect: { css: { "a.next @href": { equals: /page/3 } } }
  - id: miss-css-nothing
    title: a typo'd selector fails even a `!` pattern
    http: ${R}/page
    expect: { css: { "li.itme": "!banana" } }
  - id: miss-css-several
    title: a plain value needs exactly one element
    http: ${R}/page
    expect: { css: { "li.item": { equals: apple } } }
"#);
    assert_messages(
        &got,
        &[
            (
                "miss-css-count",
                "expected the count of css li.item to be 2, got 3",
            ),
            (
                "miss-css-attribute",
                r#"expected css a.next @href to be "/page/3", got "/page/2""#,
            ),
            (
                "miss-css-nothing",
                "expected css li.itme to select something, got nothing",
            ),
            (
                "miss-css-several",
                r#"expected css li.item to select one node, got 3: ["apple","pear","fig"]"#,
            ),
        ],
    );
    let errors = check_errors(
        r#"  - id: bad
    title: invalid selectors and comparisons on text are located
    steps:
      - http: http://127.0.0.1:1/
        expect: { css: { "li >> a": x } }
      - http: http://127.0.0.1:1/
        expect: { css: { "li": { gt: 1 } } }
"#,
    );
    for want in [
        "00.yaml:8:",
        "expect.css: invalid CSS selector `li >> a`",
        "00.yaml:10:",
        "CSS selects text",
    ] {
        assert!(errors.contains(want), "{want}\n{errors}");
    }
}

#[test]
fn the_log_and_hostile_bodies() {
    if !common::python3() {
        return;
    }
    let (p, got) = run_project(
        r#"
  - id: pass-log
    title: the log names the charset and the time taken
    http: ${R}/latin1
    expect: { body: café }
  - id: miss-deep-xml
    title: XML nested 100000 deep is refused, not walked
    http: ${R}/deep
    expect: { xpath: { "//a": { exists: true } } }
  - id: miss-deep-html
    title: HTML nested 100000 deep is refused, not parsed in quadratic time
    http: ${R}/deep-html
    expect: { css: { "div": { count: { gt: 500 } } } }
  - id: miss-texts-cap
    title: nested elements whose texts repeat 4 MiB each stop at 16 MiB
    http: ${R}/nested-text
    expect: { xpath: { "//a": { count: 8 } } }
"#,
    );
    assert_messages(
        &got,
        &[
            (
                "miss-deep-xml",
                "expected an XML body for expect.xpath, got one that is not well-formed (elements nested deeper than 512)",
            ),
            (
                "miss-deep-html",
                "expected an HTML body for expect.css that a check can read, got one with elements nested deeper than 512",
            ),
            (
                "miss-texts-cap",
                "xpath //a selected more than 16 MiB of text",
            ),
        ],
    );
    let log =
        std::fs::read_to_string(p.evidence("phase-1/stage-00/logs/pass-log.log")).expect("log");
    for want in [
        "< [body decoded from windows-1252]",
        "Un café, s'il vous plaît",
        "< [took ",
    ] {
        assert!(log.contains(want), "{want}\n{log}");
    }
}

#[test]
fn costly_bodies_are_refused_or_abandoned_at_the_step_s_deadline() {
    if !common::python3() {
        return;
    }
    let started = std::time::Instant::now();
    let got = run(r#"
  - id: miss-recon
    title: 84 KB that html5ever would make millions of elements of
    timeout: 2s
    http: ${R}/recon
    expect: { css: { "b": { count: { gt: 0 } } } }
  - id: miss-attrs-xml
    title: an XML element with 40000 attributes is refused before it is parsed
    timeout: 5s
    http: ${R}/attrs-xml
    expect: { xpath: { "/r": { count: 1 } } }
  - id: miss-attrs-html
    title: an HTML element with 40000 attributes likewise
    timeout: 5s
    http: ${R}/attrs-html
    expect: { css: { "p": { count: 1 } } }
  - id: miss-p-div
    title: "<p><div> nests: each <div> closes the <p> and nests in the <div> before"
    timeout: 5s
    http: ${R}/p-div
    expect: { css: { "div": { count: { gt: 0 } } } }
  - id: miss-slow-xpath
    title: an XPath that would take minutes ends at the step's deadline, off the runtime
    timeout: 2s
    http: ${R}/many-xml
    expect: { xpath: { "count(//*[count(//*) > 0])": { equals: 1 } } }
  - id: pass-template
    title: a template's content is not selected, as in browsers
    http: ${R}/template
    expect: { css: { "li": { count: 2 } } }
  - id: miss-template
    title: the near miss counts the template's li
    http: ${R}/template
    expect: { css: { "li": { count: 3 } } }
"#);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    assert_messages(
        &got,
        &[
            (
                "miss-recon",
                "expected an HTML body for expect.css that a check can read, got one with more than 200000 elements",
            ),
            (
                "miss-attrs-xml",
                "expected an XML body for expect.xpath that a check can read, got one with an element with more than 10000 attributes",
            ),
            (
                "miss-attrs-html",
                "got one with an element with more than 10000 attributes",
            ),
            ("miss-p-div", "got one with elements nested deeper than 512"),
            (
                "miss-slow-xpath",
                "gate timed out after 2s in step `http: GET",
            ),
            (
                "miss-template",
                "expected the count of css li to be 3, got 2",
            ),
        ],
    );
}

#[test]
fn a_body_cut_at_16_mib_is_not_parsed_nor_anchored_at_the_cut() {
    if !common::python3() {
        return;
    }
    let got = run(r#"
  - id: miss-cut-css
    title: what lies past the cut (<p>EVIL</p>) cannot pass a `!` pattern
    http: ${R}/cut-html
    expect: { css: { "p": "!EVIL" } }
  - id: miss-cut-xpath
    title: nor an XPath check
    http: ${R}/cut-html
    expect: { xpath: { "//p": { count: 1 } } }
  - id: miss-cut-json
    title: JSON followed by 17 MiB is not read from its head
    http: ${R}/cut-json
    expect: { json: { "$.a": 1 } }
  - id: miss-cut-jsonpath-capture
    title: nor captured from
    http: ${R}/cut-json
    capture: { A: "$.a" }
  - id: pass-cut-prefix
    title: a regex on the head that needs nothing past the cut holds
    http: ${R}/cut-status
    expect: { body: "/^status: A+/" }
  - id: miss-cut-anchor
    title: "`$` does not match at the cut"
    http: ${R}/cut-status
    expect: { body: "/^status: A+$/" }
"#);
    let cut = "only the first 16 MiB of the body were read: its";
    assert_messages(
        &got,
        &[
            (
                "miss-cut-css",
                &format!("{cut} HTML for expect.css cannot be checked"),
            ),
            (
                "miss-cut-xpath",
                &format!("{cut} XML for expect.xpath cannot be checked"),
            ),
            ("miss-cut-json", &format!("{cut} JSON cannot be checked")),
            (
                "miss-cut-jsonpath-capture",
                &format!("{cut} JSON cannot be checked"),
            ),
            (
                "miss-cut-anchor",
                "expected body to match /^status: A+$/, got \"status: AAAA",
            ),
        ],
    );
}

#[test]
fn charsets_by_bom_prescan_and_quoted_parameters() {
    if !common::python3() {
        return;
    }
    let p = Project::new();
    p.stage(
        "00.yaml",
        r#"stage: 0
name: Charsets
gates:
  - { id: pass-bom16, title: t, http: "${R}/bom16", expect: { body: FATAL } }
  - { id: miss-bom16, title: t, http: "${R}/bom16", expect: { body: "!FATAL" } }
  - { id: miss-bom16-plain, title: t, http: "${R}/bom16-plain", expect: { body: "!FATAL" } }
  - { id: pass-meta16, title: t, http: "${R}/meta16", expect: { css: { p: FATAL } } }
  - { id: miss-meta16, title: t, http: "${R}/meta16", expect: { body: "!FATAL" } }
  - { id: miss-xml16, title: t, http: "${R}/xml16", expect: { xpath: { "//a": "!FATAL" } } }
  - { id: pass-meta-comment, title: t, http: "${R}/meta-comment", expect: { body: café } }
  - { id: miss-meta-comment, title: t, http: "${R}/meta-comment", expect: { body: "!café" } }
  - { id: miss-ct-quoted, title: t, http: "${R}/ct-quoted", expect: { body: "!FATAL" } }
  - id: miss-secret
    title: a secret in a body named UTF-16 by its BOM alone is masked
    secrets: [S]
    http: "${R}/bom16"
    expect: { body: never-there }
"#,
    );
    let server = Server::start();
    let out = p
        .cmd(&["stage", "0", "--verbose"])
        .env("R", &server.url)
        .env("S", "Top secret")
        .output()
        .expect("run gaterun");
    // The report, with the failed gates' output, is on stderr.
    let stdout = String::from_utf8_lossy(&out.stderr).into_owned();
    let results = p.results("stage-00");
    for g in results["gates"].as_array().expect("gates") {
        let id = g["id"].as_str().expect("id");
        let want = if id.starts_with("pass") {
            "passed"
        } else {
            "failed"
        };
        assert_eq!(g["status"], want, "{id}: {}\n{stdout}", g["message"]);
    }
    assert!(stdout.contains("FATAL: ***"), "{stdout}");
    let mut files = Vec::new();
    common::collect_files(&p.path().join("evidence"), &mut files);
    let mut masked = false;
    for f in &files {
        let text = String::from_utf8_lossy(&std::fs::read(f).expect("read")).into_owned();
        assert!(
            !text.contains("Top secret") && !text.contains("T\\u0000o"),
            "{}:\n{text}",
            f.display()
        );
        masked |= text.contains("FATAL: ***");
    }
    assert!(masked, "no evidence shows the masked body");
    assert!(!stdout.contains("Top secret"), "{stdout}");
}

#[test]
fn messages_escape_c1_controls_and_line_separators_in_every_report() {
    if !common::python3() {
        return;
    }
    let (p, got) = run_project(
        r#"
  - id: miss-c1
    title: a value with U+009B and U+2028 in the message
    http: ${R}/c1-json
    expect: { json: { "$.a": x } }
"#,
    );
    assert_messages(&got, &[("miss-c1", r#"got "A\u{9b}[31mB\u{2028}C""#)]);
    let mut files = Vec::new();
    common::collect_files(&p.path().join("evidence"), &mut files);
    let mut reports = 0;
    for f in files.iter().filter(|f| {
        f.extension()
            .is_some_and(|e| e == "json" || e == "xml" || e == "md")
    }) {
        let text = String::from_utf8_lossy(&std::fs::read(f).expect("read")).into_owned();
        assert!(
            !text.contains('\u{9b}') && !text.contains('\u{2028}'),
            "{}:\n{text}",
            f.display()
        );
        reports += usize::from(text.contains("miss-c1"));
    }
    assert!(reports >= 2, "{files:?}");
}
