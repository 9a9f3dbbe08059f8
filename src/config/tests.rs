//! Tables of small stage files and the exact diagnostics they must produce.

use std::path::Path;

use super::*;

/// Load `files` (name, YAML) from a fresh gates root; the diagnostics rendered one per line
/// (first line of each), or the loaded stages.
fn load_files(files: &[(&str, &str)]) -> Result<Loaded, Vec<String>> {
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, text) in files {
        let path = dir.path().join("gates").join(name);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }
    let opts = LoadOptions {
        cwd: dir.path().to_path_buf(),
        gates: None,
        evidence: None,
    };
    load(&opts).map_err(|diags| {
        diags
            .iter()
            .map(|d| d.to_string().lines().next().unwrap_or("").to_owned())
            .collect()
    })
}

fn errors(yaml: &str) -> Vec<String> {
    match load_files(&[("s.yaml", yaml)]) {
        Ok(_) => Vec::new(),
        Err(e) => e,
    }
}

const HEAD: &str = "stage: 1\nname: S\ngates:\n";

#[test]
fn error_table() {
    let cases: &[(&str, &str)] = &[
        (
            "stage: 1\nname: S\ngates:\n  - id: a\n    title: t\n    timout: 5s\n    run: 'true'\n",
            "gates/s.yaml:6:5: error: unknown key 'timout', did you mean 'timeout'?",
        ),
        (
            "stage: 1\nname: S\ngates: []\n",
            "gates/s.yaml:3:8: error: `gates` is empty: a stage needs at least one gate",
        ),
        (
            "stage: 1\nname: S\ngates:\n  - id: a\n    title: t\n",
            "gates/s.yaml:4:5: error: gate `a` has no step: add `run:` (or another step kind) or `steps:`",
        ),
        (
            "stage: 1\nname: S\ngates:\n  - id: Bad/Id\n    title: t\n    run: 'true'\n",
            "gates/s.yaml:4:9: error: invalid gate id `Bad/Id`: use lower-case letters, digits, `-` and `_`, starting with a letter or digit",
        ),
        (
            "stage: 1\nname: S\ngates:\n  - id: a\n    title: t\n    run: 'true'\n  - id: a\n    title: t\n    run: 'true'\n",
            "gates/s.yaml:7:5: error: duplicate gate id `a` (first at line 4)",
        ),
        (
            "stage: 1\nname: S\ngates:\n  - id: a\n    title: t\n    run: 'true'\n    expect: { stdout: ['/a(b/'] }\n",
            "gates/s.yaml:7:23: error: invalid regex `/a(b/`: unclosed group",
        ),
        (
            "stage: 1\nname: S\ngates:\n  - id: a\n    title: t\n    timeout: 5 parsecs\n    run: 'true'\n",
            "gates/s.yaml:6:14: error: invalid duration `5 parsecs` for `timeout`: write a number and a unit, like 30s, 2m or 1h30m",
        ),
        (
            "stage: 1\nname: S\ngates:\n  - id: a\n    title: t\n    steps:\n      - run: 'true'\n        http: http://x\n",
            "gates/s.yaml:8:15: error: a step has one kind, this one has both `run` and `http`: split it into two steps",
        ),
        (
            "stage: 1\nname: S\ngates:\n  - id: a\n    title: t\n    steps:\n      - name: nothing\n",
            "gates/s.yaml:7:9: error: a step needs one of `run`, `http`, `tcp`, `sql`, `file`, `start`, `stop`, `restart`, `use`, `browser`, `received`",
        ),
        (
            "stage: x1\nname: S\ngates:\n  - id: a\n    title: t\n    run: 'true'\n",
            "gates/s.yaml:1:8: error: invalid stage `x1`: write a number, or a number and a letter for a sub-stage (`4a`)",
        ),
        (
            "name: S\ngates:\n  - id: a\n    title: t\n    run: 'true'\n",
            "gates/s.yaml:1:1: error: missing required key `stage`: the stage's number (`stage: 0` to `stage: 10`, or `4a` for a sub-stage)",
        ),
        (
            "stage: 1\nstage: 2\nname: S\ngates: []\n",
            "gates/s.yaml:2:1: error: duplicate key 'stage'",
        ),
        (
            "stage: 1\nname: S\ngates:\n  - id: a\n    title: t\n    run: [echo, '${X']\n",
            "gates/s.yaml:6:10: error: unclosed `${` in `${X`",
        ),
        (
            "stage: 1\nname: S\ngates:\n  - id: a\n    title: t\n    run: 'true'\n    capture: { X: '/no group/' }\n",
            "gates/s.yaml:7:19: error: capture `X`: `/no group/` must have exactly one group `( )`, it has 0",
        ),
        (
            "stage: 1\nname: S\ngates:\n  - id: a\n    title: t\n    run: 'true'\n    expect: { status: 200 }\n",
            "gates/s.yaml:7:13: error: `expect.status` does not apply to a `run` step (it takes `exit`, `stdout`, `stderr`)",
        ),
        (
            "stage: 1\nname: S\ngates:\n  - id: a\n    title: t\n    run: 'true'\n    steps:\n      - run: 'true'\n",
            "gates/s.yaml:8:7: error: gate `a` has `steps:` and also step keys at gate level: move them into `steps`",
        ),
        (
            "stage: 1\nname: S\ngates:\n  - id: a\n    title: t\n    restart: api\n",
            "gates/s.yaml:6:14: error: `restart` names an unknown service `api` (this gate has no services)",
        ),
        (
            "stage: 1\nname: S\ngates:\n  - id: a\n    title: t\n    http: FE[TCH http://x/\n",
            "gates/s.yaml:6:11: error: `FE[TCH` is not an HTTP method: a method is a token (letters, digits and !#$%&'*+-.^_`|~)",
        ),
        (
            "stage: 1\nname: S\ngates:\n  - id: a\n    title: t\n    http: post http://x/\n",
            "gates/s.yaml:6:11: error: HTTP methods are case-sensitive: write `POST`, not `post`",
        ),
        (
            "stage: 1\nname: S\ngates:\n  - id: a\n    title: t\n    http: http://x/\n    expect: { status: 999 }\n",
            "gates/s.yaml:7:23: error: invalid status `999`: use a code from 100 to 599, or a class like `2xx`",
        ),
        (
            "stage: 1\nname: S\ngates:\n  - id: a\n    title: t\n    services:\n      api:\n        run: x\n        ready: { http: http://x, tcp: 'x:1' }\n    run: 'true'\n",
            "gates/s.yaml:9:16: error: service `api`: `ready` takes one probe, this one has both `http` and `tcp`",
        ),
        (
            "stage: 1\nname: S\ngates:\n  - id: a\n    title: t\n    services:\n      api:\n        run: x\n        may_exti: true\n    run: 'true'\n",
            "gates/s.yaml:9:9: error: unknown key 'may_exti', did you mean 'may_exit'?",
        ),
        (
            "stage: 1\nname: S\ngates:\n  - id: a\n    title: t\n    services:\n      api:\n        run: x\n    stop: api\n    signal: NINE\n",
            "gates/s.yaml:10:13: error: unknown signal `NINE`: use one of TERM, KILL, INT, HUP, QUIT, USR1, USR2",
        ),
        (
            "stage: 1\nname: S\ngates:\n  - id: a\n    title: t\n    tcp: localhost\n",
            "gates/s.yaml:6:10: error: `tcp` takes HOST:PORT, got `localhost`",
        ),
        (
            "stage: 1\nname: S\ngates:\n  - id: a\n    title: t\n    file: x\n    expect: { exit: 0 }\n",
            "gates/s.yaml:7:13: error: `expect.exit` does not apply to a `file` step (it takes `exists`, `contains`)",
        ),
        (
            "stage: 1\nname: S\ngates:\n  - id: a\n    title: t\n    sql: SELECT 1\n",
            "gates/s.yaml:6:10: error: a `sql` step needs a database: add `database: sqlite`, `database: postgres` or `database: mysql` to the gate",
        ),
        (
            "stage: 1\nname: S\ngates:\n  - id: a\n    title: t\n    database: oracle\n    sql: SELECT 1\n",
            "gates/s.yaml:6:15: error: unknown database `oracle`: use `sqlite`, `postgres` or `mysql`",
        ),
        (
            "- just\n- a list\n",
            "gates/s.yaml:1:1: error: expected a mapping (`key: value` lines) here",
        ),
        (
            "stage: 1\nname: S\ngates:\n  - id: a\n    title: t\n    http: http://x/\n    expect: { json: { \"$.[\": 1 } }\n",
            "gates/s.yaml:7:13: error: expect.json: invalid JSONPath `$.[`:",
        ),
    ];
    for (yaml, want) in cases {
        let got = errors(yaml);
        if want.ends_with(':') {
            let first = got.first().map(String::as_str).unwrap_or("");
            assert!(first.starts_with(want), "for:\n{yaml}\ngot: {got:#?}");
            continue;
        }
        assert_eq!(
            got.first().map(String::as_str),
            Some(*want),
            "for:\n{yaml}\nall: {got:#?}"
        );
    }
}

#[test]
fn duplicate_stage_across_files() {
    let one = format!("{HEAD}  - id: a\n    title: t\n    run: 'true'\n");
    let err = load_files(&[("a.yaml", &one), ("b.yaml", &one)]).expect_err("duplicate stage");
    assert_eq!(
        err,
        ["gates/b.yaml:1:8: error: stage 1 of phase 1 is already defined in gates/a.yaml:1"]
    );
}

#[test]
fn sub_stages_order_between_numbers() {
    let file = |s: &str| {
        format!("stage: {s}\nname: S{s}\ngates:\n  - id: a\n    title: t\n    run: 'true'\n")
    };
    let loaded = load_files(&[
        ("1.yaml", &file("5")),
        ("2.yaml", &file("4b")),
        ("3.yaml", &file("4")),
        ("4.yaml", &file("'4a'")),
    ])
    .expect("loads");
    let order: Vec<String> = loaded.stages.iter().map(|s| s.key.to_string()).collect();
    assert_eq!(order, ["4", "4a", "4b", "5"]);
    assert_eq!(loaded.stages[1].key.dir_name(), "stage-04a");
}

#[test]
fn defaults_apply_and_gates_override_them() {
    let yaml = "stage: 0\nname: S\ndefaults: { timeout: 7s, env: { A: '1' } }\ngates:\n  - id: a\n    title: t\n    run: 'true'\n  - id: b\n    title: t\n    timeout: 1m\n    grace: 100ms\n    env: { A: '2' }\n    run: 'true'\n";
    let loaded = load_files(&[("s.yaml", yaml)]).expect("loads");
    let g = &loaded.stages[0].gates;
    assert_eq!(g[0].timeout, std::time::Duration::from_secs(7));
    assert_eq!(g[0].grace, validate::DEFAULT_GRACE);
    assert_eq!(g[1].timeout, std::time::Duration::from_secs(60));
    assert_eq!(g[1].grace, std::time::Duration::from_millis(100));
    assert_eq!(
        g[1].env,
        [
            ("A".to_owned(), "1".to_owned()),
            ("A".to_owned(), "2".to_owned())
        ]
    );
    assert_eq!(g[1].line, 8);
}

#[test]
fn may_exit_is_read_and_defaults_to_false() {
    let cases = [
        ("", false),
        ("        may_exit: true\n", true),
        ("        may_exit: false\n", false),
    ];
    for (line, want) in cases {
        let yaml = format!(
            "{HEAD}  - id: a\n    title: t\n    services:\n      job:\n        run: x\n{line}    run: 'true'\n"
        );
        let loaded = load_files(&[("s.yaml", &yaml)]).expect("loads");
        assert_eq!(
            loaded.stages[0].gates[0].services[0].may_exit, want,
            "{line}"
        );
    }
    assert_eq!(
        errors(&format!(
            "{HEAD}  - id: a\n    title: t\n    services:\n      job:\n        run: x\n        may_exit: sometimes\n    run: 'true'\n"
        ))
        .len(),
        1
    );
}

#[test]
fn definition_hash_ignores_formatting_but_not_content() {
    let a = load_files(&[(
        "s.yaml",
        "stage: 0\nname: S\ngates:\n  - {id: a, title: t, run: 'true'}\n",
    )])
    .expect("a");
    let b = load_files(&[(
        "s.yaml",
        "# comment\nname: S\nstage: 0\ngates:\n  - id: a\n    title: t\n    run: \"true\"\n",
    )])
    .expect("b");
    let c = load_files(&[(
        "s.yaml",
        "stage: 0\nname: S\ngates:\n  - {id: a, title: t, run: 'false'}\n",
    )])
    .expect("c");
    assert_eq!(a.stages[0].definition_hash, b.stages[0].definition_hash);
    assert_ne!(a.stages[0].definition_hash, c.stages[0].definition_hash);
}

#[test]
fn lints_gaps_and_bare_test_suites() {
    let file = |s: u32, run: &str| {
        format!("stage: {s}\nname: S\ngates:\n  - id: a\n    title: t\n    run: '{run}'\n")
    };
    let loaded = load_files(&[
        ("0.yaml", &file(0, "true")),
        ("2.yaml", &file(2, "cargo  test")),
    ])
    .expect("loads");
    let warnings: Vec<String> = loaded
        .warnings
        .iter()
        .map(|w| w.to_string().lines().next().unwrap_or("").to_owned())
        .collect();
    assert_eq!(
        warnings,
        [
            "gates/2.yaml: warning: phase 1 has no stage 1: stages build linearly, one after another",
            "gates/2.yaml:4:5: warning: gate `a` only runs `cargo test` with nothing named: which tests? Name them, or check their output",
        ]
    );
    let named =
        load_files(&[("0.yaml", &file(0, "cargo test -p api tasks::transitions"))]).expect("loads");
    assert!(named.warnings.is_empty());
}

#[test]
fn lints_a_lone_word_substring_that_a_near_miss_passes() {
    let stage = "stage: 0\nname: S\ngates:\n  - id: a\n    title: t\n    steps:\n      - run: echo ok\n        expect: { stdout: ok }\n      - http: http://127.0.0.1:1/healthz\n        expect: { body: healthy }\n      - run: echo ok\n        expect: { stdout: { equals: ok } }\n      - run: echo ok\n        expect: { stdout: [\"/^ok$/\"] }\n      - run: echo all is well\n        expect: { stdout: all is well }\n";
    let loaded = load_files(&[("0.yaml", stage)]).expect("loads");
    let warnings: Vec<String> = loaded
        .warnings
        .iter()
        .map(|w| w.to_string().lines().next().unwrap_or("").to_owned())
        .collect();
    assert_eq!(
        warnings,
        [
            "gates/0.yaml:7:1: warning: `stdout: ok` passes on any stdout that contains `ok` (`not ok` too): write `stdout: { equals: ok }` for the whole stdout",
            "gates/0.yaml:9:1: warning: `body: healthy` passes on any body that contains `healthy` (`not healthy` too): write `body: { equals: healthy }` for the whole body",
        ]
    );
}

#[test]
fn unknown_key_diagnostic_draws_the_line_and_caret() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(dir.path().join("gates")).expect("mkdir");
    std::fs::write(
        dir.path().join("gates/s.yaml"),
        "stage: 1\nname: S\ngates:\n  - id: a\n    title: t\n    timout: 5s\n    run: 'true'\n",
    )
    .expect("write");
    let err = load(&LoadOptions {
        cwd: dir.path().to_path_buf(),
        gates: None,
        evidence: None,
    })
    .expect_err("error");
    insta::assert_snapshot!(err[0].to_string(), @r"
    gates/s.yaml:6:5: error: unknown key 'timout', did you mean 'timeout'?
    6 |     timout: 5s
      |     ^^^^^^ did you mean `timeout`?
    ");
    let _ = Path::new("");
}

/// YAML 1.2 core schema: keys keep their text (`Y`, `ON`, `no`, `TRUE`, `010`), and only
/// `true`/`false` are booleans, so `yes`, `off` values stay text too.
#[test]
fn yaml_keys_and_yes_no_words_keep_their_text() {
    let env = |body: &str| -> Vec<(String, String)> {
        let yaml = format!("{HEAD}  - id: a\n    title: t\n    env: {body}\n    run: 'true'\n");
        let loaded = load_files(&[("s.yaml", &yaml)]).unwrap_or_else(|e| panic!("{body}: {e:?}"));
        loaded.stages[0].gates[0].env.clone()
    };
    let pairs = |list: &[(&str, &str)]| -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    let cases: &[(&str, &[(&str, &str)])] = &[
        (
            "{ Y: a, N: b, ON: c, NO: d, yes: e, off: f, y: g, On: h }",
            &[
                ("Y", "a"),
                ("N", "b"),
                ("ON", "c"),
                ("NO", "d"),
                ("yes", "e"),
                ("off", "f"),
                ("y", "g"),
                ("On", "h"),
            ],
        ),
        ("{ TRUE: a, False: b }", &[("TRUE", "a"), ("False", "b")]),
        (
            "{ A: yes, B: off, C: Y, D: 'TRUE' }",
            &[("A", "yes"), ("B", "off"), ("C", "Y"), ("D", "TRUE")],
        ),
        // An environment value is text: a plain scalar keeps its spelling even where YAML reads
        // a boolean or a number (`3.10` is not `3.1`, `010` not `10`).
        ("{ A: true, B: FALSE }", &[("A", "true"), ("B", "FALSE")]),
        (
            "{ V: 3.10, H: 0x1F, O: 010, E: 1e3, N: 12, Q: \"3.10\", S: '007' }",
            &[
                ("V", "3.10"),
                ("H", "0x1F"),
                ("O", "010"),
                ("E", "1e3"),
                ("N", "12"),
                ("Q", "3.10"),
                ("S", "007"),
            ],
        ),
    ];
    for (body, want) in cases {
        let got = env(body);
        assert_eq!(got, pairs(want), "{body}");
        // The near miss: no variable named after the boolean a YAML 1.1 key would have become.
        assert!(
            got.iter().all(|(k, _)| k != "true" && k != "false"),
            "{body}"
        );
    }

    let gate = |line: &str| {
        format!("{HEAD}  - id: a\n    title: t\n    http: http://127.0.0.1:1/\n    {line}\n")
    };
    assert_eq!(
        errors(&gate("follow_redirects: true")),
        Vec::<String>::new()
    );
    assert_eq!(
        errors(&gate("follow_redirects: yes")),
        [
            "gates/s.yaml:7:23: error: expected `true` or `false` (YAML 1.2: `yes`, `no`, `on`, `off`, `y`, `n` are text, not booleans)"
        ]
    );
    // A number key keeps its text too (and is no variable name).
    assert_eq!(
        errors(&format!(
            "{HEAD}  - id: a\n    title: t\n    env: {{ 010: a }}\n    run: 'true'\n"
        )),
        ["gates/s.yaml:4:5: error: invalid environment variable name `010`"]
    );
    assert_eq!(
        errors(&format!(
            "{HEAD}  - id: a\n    title: t\n    env: {{ ~: a }}\n    run: 'true'\n"
        )),
        ["gates/s.yaml:6:12: error: expected a value here, found none (empty or `~`)"]
    );
}
