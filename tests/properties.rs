//! Property tests: whatever bytes a gate prints, the JUnit is valid XML that validates against
//! the schema and the markdown keeps its structure; wherever a secret's output is split (into
//! writes, or by the log cap's cut), no piece of the secret survives.

mod common;

use std::sync::Mutex;

use gaterun::evidence::{junit, markdown};
use gaterun::process::CappedBuffer;
use gaterun::results::{FailedRun, GateResult, StageNotes, StageResult, Status, StepResult};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

/// Bytes a hostile gate might print: everything, with the dangerous ones made likely.
fn hostile_bytes() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        any::<u8>().prop_map(|b| vec![b]),
        Just(b"\x1b[31m".to_vec()),
        Just(b"\x1b]0;title\x07".to_vec()),
        Just(b"]]>".to_vec()),
        Just(b"<![CDATA[".to_vec()),
        Just(b"</details>".to_vec()),
        Just(b"```".to_vec()),
        Just(b"|".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b"\0".to_vec()),
        Just("\u{FFFE}\u{FFFF}é😀".as_bytes().to_vec()),
        Just(b"\xed\xa0\x80".to_vec()), // a UTF-8-encoded surrogate: invalid
        Just(b"&amp;<tag a=\"b\">".to_vec()),
        Just(b"[Approve](https://evil.example/a)".to_vec()),
        Just(b"![img](https://evil.example/i.png)".to_vec()),
        Just(b"<https://evil.example>".to_vec()),
        Just(b"<a href=\"https://evil.example\">".to_vec()),
        Just(b"`".to_vec()),
    ];
    proptest::collection::vec(piece, 0..200).prop_map(|v| v.concat())
}

fn stage_with_output(output: &[u8], message: &[u8]) -> StageResult {
    let mut buf = CappedBuffer::new(1 << 20);
    buf.push(output);
    let text = buf.to_text();
    let message = Some(String::from_utf8_lossy(message).into_owned());
    let gate = |id: &str, status: Status| GateResult {
        id: id.into(),
        title: "prints anything".into(),
        status,
        duration_ms: 12,
        attempts: 2,
        message: if status == Status::Passed {
            None
        } else {
            message.clone()
        },
        file: "gates/00.yaml".into(),
        line: 4,
        log: format!("logs/{id}.log"),
        steps: vec![StepResult {
            kind: "run".into(),
            name: "run: cat".into(),
            status,
            duration_ms: 12,
            message: message.clone(),
            attempts: 1,
        }],
        flaky: status == Status::Passed,
        failed_runs: vec![FailedRun {
            run: 1,
            status: Status::Failed,
            duration_ms: 3,
            message: message.clone(),
        }],
        peak_memory_bytes: None,
        cpu_time_ms: None,
        output: text.clone(),
        screenshots: Vec::new(),
    };
    StageResult {
        gaterun_version: "0.0.0".into(),
        phase: 1,
        stage: "2".into(),
        name: "Stage | two".into(),
        definition_hash: "sha256:0".into(),
        status: Status::Failed,
        partial: false,
        selection: None,
        started_at: "2026-01-01T00:00:00Z".into(),
        duration_ms: 20,
        commit: None,
        blocked_by: None,
        containment: None,
        setup: None,
        gates: vec![gate("fails", Status::Failed), gate("flaky", Status::Passed)],
    }
}

/// What the stage file says beside the result in its report.
fn notes() -> StageNotes {
    StageNotes {
        file: "gates/00.yaml".into(),
        goal: None,
        // The stage file's own markdown (author-written, not gate output).
        risk: Some("Roll back with `migrate down 1`.".into()),
        open_questions: vec![],
    }
}

/// Well-formed XML with only characters XML 1.0 allows.
fn assert_well_formed(xml: &str) -> Result<(), TestCaseError> {
    for c in xml.chars() {
        let ok = matches!(c, '\t' | '\n' | '\r')
            || ('\u{20}'..='\u{D7FF}').contains(&c)
            || ('\u{E000}'..='\u{FFFD}').contains(&c)
            || c >= '\u{10000}';
        prop_assert!(ok, "character {:?} is not allowed in XML 1.0", c);
    }
    let mut reader = quick_xml::Reader::from_str(xml);
    reader.config_mut().check_end_names = true;
    let mut depth = 0i32;
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Start(_)) => depth += 1,
            Ok(quick_xml::events::Event::End(_)) => depth -= 1,
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(_) => {}
            Err(e) => return Err(TestCaseError::fail(format!("not well-formed: {e}"))),
        }
    }
    prop_assert_eq!(depth, 0);
    Ok(())
}

/// Rendered as GitHub would (CommonMark with tables), the markdown links only to evidence files
/// gaterun names: whatever a gate printed, no link, image or HTML of its own.
fn assert_inert(md: &str) -> Result<(), TestCaseError> {
    use pulldown_cmark::{Event, Options, Parser, Tag};
    for event in Parser::new_ext(md, Options::ENABLE_TABLES) {
        match event {
            Event::Start(Tag::Link { dest_url, .. }) => {
                let ours = ["junit.xml", "results.json"].contains(&dest_url.as_ref())
                    || dest_url.starts_with("logs/");
                prop_assert!(ours, "a link from gate output: {}", dest_url);
                prop_assert!(
                    !dest_url.contains("evil"),
                    "a link from gate output: {}",
                    dest_url
                );
            }
            Event::Start(Tag::Image { dest_url, .. }) => {
                return Err(TestCaseError::fail(format!("an image: {dest_url}")));
            }
            Event::Html(h) | Event::InlineHtml(h) => {
                let h = h.trim();
                let ours = ["<details>", "</details>", "</summary>"].contains(&h)
                    || h.starts_with("<details><summary>");
                prop_assert!(ours, "raw HTML from gate output: {}", h);
            }
            _ => {}
        }
    }
    Ok(())
}

/// The markdown keeps its structure: fences close, `<details>` balance outside them, every
/// table row has the header's number of cells.
fn assert_markdown_structure(md: &str) -> Result<(), TestCaseError> {
    let mut fence: Option<String> = None;
    let mut open_details = 0i32;
    let mut table_cells: Option<usize> = None;
    for line in md.lines() {
        if let Some(f) = &fence {
            if line == f {
                fence = None;
            }
            continue;
        }
        if line.starts_with("```") {
            let ticks: String = line.chars().take_while(|&c| c == '`').collect();
            fence = Some(ticks);
            continue;
        }
        // A code span is literal text: a `</details>` in it closes nothing.
        let outside = without_code_spans(line);
        open_details += outside.matches("<details>").count() as i32;
        open_details -= outside.matches("</details>").count() as i32;
        prop_assert!(open_details >= 0, "a </details> closes nothing: {}", line);
        if line.starts_with('|') {
            let cells = unescaped_pipes(line);
            match table_cells {
                None => table_cells = Some(cells),
                Some(n) => prop_assert_eq!(cells, n, "table row broken: {}", line),
            }
        } else {
            table_cells = None;
        }
    }
    prop_assert!(fence.is_none(), "a code fence was left open");
    prop_assert_eq!(open_details, 0);
    Ok(())
}

/// The line without its code spans (a run of N backticks up to the next run of exactly N).
fn without_code_spans(line: &str) -> String {
    let chars: Vec<char> = line.chars().collect();
    let run_at = |i: usize| chars[i..].iter().take_while(|&&c| c == '`').count();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] != '`' {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let n = run_at(i);
        let mut j = i + n;
        let close = loop {
            if j >= chars.len() {
                break None;
            }
            if chars[j] == '`' {
                let m = run_at(j);
                if m == n {
                    break Some(j + m);
                }
                j += m;
            } else {
                j += 1;
            }
        };
        match close {
            Some(end) => i = end,
            None => {
                out.extend(&chars[i..i + n]);
                i += n;
            }
        }
    }
    out
}

fn unescaped_pipes(line: &str) -> usize {
    let mut n = 0;
    let mut escaped = false;
    for c in line.chars() {
        match (c, escaped) {
            ('\\', false) => escaped = true,
            ('|', false) => n += 1,
            _ => escaped = false,
        }
    }
    n
}

#[test]
fn any_output_gives_valid_junit_and_well_formed_markdown() {
    let samples: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let mut runner = TestRunner::new(Config {
        cases: 512,
        ..Config::default()
    });
    runner
        .run(&(hostile_bytes(), hostile_bytes()), |(output, message)| {
            let r = stage_with_output(&output, &message);
            let mut report = quick_junit::Report::new("gaterun");
            report.add_test_suite(junit::stage_suite(&r, "evidence/phase-1/stage-00"));
            let xml = junit::to_xml(&report);
            assert_well_formed(&xml)?;
            let report = markdown::stage_report(&r, &notes(), &Default::default());
            let summary = markdown::summary(std::slice::from_ref(&r));
            assert_markdown_structure(&report)?;
            assert_markdown_structure(&summary)?;
            assert_inert(&report)?;
            assert_inert(&summary)?;
            let mut s = samples.lock().unwrap();
            if s.len() < 64 {
                s.push(xml);
            }
            Ok(())
        })
        .unwrap();
    // And the schema, on a sample of what was generated.
    let dir = tempfile::tempdir().unwrap();
    for (i, xml) in samples.lock().unwrap().iter().enumerate() {
        let path = dir.path().join(format!("junit-{i}.xml"));
        std::fs::write(&path, xml).unwrap();
        common::validate_junit(&path);
    }
}

#[test]
fn a_secret_is_masked_wherever_the_output_is_split() {
    // The secret is upper-case letters; everything else the gate prints (and gaterun's cut
    // marker) has none: so any upper-case letter left in the log is a piece of the secret.
    let filler = proptest::collection::vec(
        prop_oneof![
            (b'a'..=b'z').prop_map(|b| b),
            Just(b'\n'),
            Just(b' '),
            Just(b'='),
            Just(0xffu8)
        ],
        0..300,
    );
    let strategy = (
        proptest::collection::vec(b'A'..=b'Z', 1..40),
        filler.clone(),
        filler,
        1usize..4,
        proptest::collection::vec(1usize..50, 1..40),
        prop_oneof![Just(usize::MAX), 8usize..600],
    );
    let mut runner = TestRunner::new(Config {
        cases: 2048,
        ..Config::default()
    });
    runner
        .run(&strategy, |(secret, before, after, times, splits, cap)| {
            let mut printed = before.clone();
            for _ in 0..times {
                printed.extend_from_slice(&secret);
                printed.extend_from_slice(&after);
            }
            let mut buf = CappedBuffer::new(cap.min(1 << 20));
            let mut rest = &printed[..];
            for n in splits.iter().cycle() {
                if rest.is_empty() {
                    break;
                }
                let n = (*n).min(rest.len());
                buf.push(&rest[..n]);
                rest = &rest[n..];
            }
            let secret = String::from_utf8(secret).unwrap();
            let log = buf.to_text_masked(std::slice::from_ref(&secret));
            prop_assert!(
                !log.bytes().any(|b| b.is_ascii_uppercase()),
                "a piece of the secret {:?} survived: {:?}",
                secret,
                log
            );
            Ok(())
        })
        .unwrap();
}
