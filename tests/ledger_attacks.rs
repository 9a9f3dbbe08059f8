//! Attacks on the ledger after issue 15's `verify`: crafted evidence (and stage files) must
//! reach no terminal as a workflow command, an escape sequence or a reordered line; a file
//! `verify` cannot name is still named; shards of different commits are no one result; a stage
//! directory replaced by a link is not read through. Each attack has its near miss.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{Project, Run, run_guarded};

/// Stage 0 (two gates), stage 1 (one gate).
fn project() -> Project {
    let p = Project::new();
    p.stage(
        "phase-1/00.yaml",
        "stage: 0\nname: Zero\ngates:\n  - {id: a, title: t, run: 'true'}\n  - {id: b, title: t, run: 'true'}\n",
    );
    p.stage(
        "phase-1/01.yaml",
        "stage: 1\nname: One\ngates:\n  - {id: c, title: t, run: 'true'}\n",
    );
    p
}

fn run(p: &Project, args: &[&str]) -> Run {
    let (run, _) = run_guarded(&mut p.cmd(args), Duration::from_secs(60));
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    run
}

/// Nothing in `text` a terminal or the GitHub runner would act on: no line that is a workflow
/// command, no escape sequence, no character that reorders or hides the text around it.
#[track_caller]
fn inert(what: &str, text: &str) {
    no_escapes(what, text);
    for line in text.lines() {
        assert!(
            !line.trim_start().starts_with("::"),
            "{what}: a workflow command in:\n{text}"
        );
    }
}

/// No escape sequence or reordering character: what a terminal must never get from a file.
/// (A line starting with `::` is text on a terminal: only `--github` makes it inert.)
#[track_caller]
fn no_escapes(what: &str, text: &str) {
    for bad in ['\x1b', '\u{202e}', '\u{2066}', '\u{200f}', '\r'] {
        assert!(
            !text.contains(bad),
            "{what}: {bad:?} printed raw in:\n{text}"
        );
    }
}

/// Grow a file to `len` bytes without writing them (a sparse file: free to plant).
fn grow_sparse(path: &Path, len: u64) {
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .expect("open");
    f.set_len(len).expect("grow, sparse");
}

fn edit_json(path: &Path, f: impl Fn(&mut serde_json::Value)) {
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("read")).expect("json");
    f(&mut v);
    std::fs::write(path, serde_json::to_string_pretty(&v).expect("json")).expect("write");
}

/// File names and results.json values crafted to print a workflow command, an ANSI escape or a
/// bidi override through `verify`, `list`, `signoff` and the prerequisite check (before: each
/// printed them raw; `verify --github` printed `::error::…` at the start of a line).
#[test]
fn crafted_evidence_prints_nothing_hostile() {
    let p = project();
    run(&p, &["phase", "1"]).code(0);
    // The near miss: genuine evidence verifies clean, and its lines are inert too.
    let clean = run(&p, &["verify", "--github"]);
    clean.code(0);
    inert("verify of genuine evidence", &clean.stdout);

    let token = format!("pwned-{}", std::process::id());
    let ev = p.path().join("evidence");
    for name in [
        format!("::error::{token}"),
        format!("phase-1/x\n::warning::{token}"),
        format!("phase-1/\x1b[31m{token}\x1b[0m"),
        format!("phase-1/a\u{202e}{token}"),
    ] {
        std::fs::write(ev.join(name), "x").expect("write");
    }
    edit_json(&ev.join("phase-1/stage-00/results.json"), |r| {
        r["started_at"] = format!("\x1b[31mX\r\n::error::{token}\u{2066}").into();
        r["gates"][0]["id"] = format!("a\n::error::{token}").into();
    });
    let v = run(&p, &["verify", "--github"]);
    v.code(1);
    inert("verify --github", &v.stdout);
    inert("verify --github (stderr)", &v.stderr);
    // Still named: each crafted file, escaped, on its own line.
    assert!(
        v.stdout
            .lines()
            .filter(|l| l.contains(&token) && l.contains("not listed in MANIFEST.json"))
            .count()
            == 4,
        "{}",
        v.stdout
    );
    let v = run(&p, &["verify"]);
    v.code(1);
    no_escapes("verify", &v.stdout);

    let l = run(&p, &["list", "--github"]);
    l.code(0);
    inert("list --github", &l.stdout);
    assert!(l.stdout.contains("not counted"), "{}", l.stdout);

    let s = run(&p, &["signoff", "--phase", "1", "--github"]);
    s.code(1);
    inert("signoff --github (stdout)", &s.stdout);
    inert("signoff --github (stderr)", &s.stderr);
    assert!(
        s.stderr.contains("stage 0 (Zero) has not passed"),
        "{}",
        s.stderr
    );

    let b = run(&p, &["stage", "1", "--github"]);
    b.code(3);
    inert("stage 1 blocked (stderr)", &b.stderr);
    assert!(
        b.stderr.contains("phase-1/stage-00/results.json"),
        "{}",
        b.stderr
    );
}

/// A stage file's title and name reach `list`: a newline in a title must not start a line of
/// its own (a workflow command under `--github`), nor an escape reach the terminal.
#[test]
fn a_crafted_title_prints_nothing_hostile_in_list() {
    let p = Project::new();
    let token = format!("title-{}", std::process::id());
    p.stage(
        "phase-1/00.yaml",
        &format!(
            "stage: 0\nname: \"Z\\u202Eero\"\ngates:\n  - {{id: a, title: \"t\\n::error::{token}\\u001b[31m\", run: 'true'}}\n"
        ),
    );
    run(&p, &["stage", "0"]).code(0);
    let l = run(&p, &["list", "--github"]);
    l.code(0);
    inert("list --github", &l.stdout);
    // The near miss: the title is still shown, escaped, on the gate's line.
    assert!(
        l.stdout
            .lines()
            .any(|x| x.trim_start().starts_with("passed") && x.contains(&token)),
        "{}",
        l.stdout
    );
}

/// A file or directory whose name is not UTF-8 (before: skipped by the walk, so `verify` said
/// `ok` beside a file the manifest does not list).
#[test]
fn a_name_that_is_not_utf8_is_named_by_verify() {
    use std::os::unix::ffi::OsStrExt;
    let p = project();
    run(&p, &["phase", "1"]).code(0);
    run(&p, &["verify"]).code(0);
    let ev = p.path().join("evidence");
    let file = ev.join(std::ffi::OsStr::from_bytes(b"phase-1/bad\xffname"));
    std::fs::write(&file, "x").expect("write");
    let v = run(&p, &["verify"]);
    v.code(1);
    assert!(
        v.stdout
            .lines()
            .any(|l| l.starts_with("phase-1/bad") && l.contains("not UTF-8")),
        "{}",
        v.stdout
    );
    std::fs::remove_file(&file).expect("rm");
    let dir = ev.join(std::ffi::OsStr::from_bytes(b"phase-\xff"));
    std::fs::create_dir(&dir).expect("mkdir");
    std::fs::write(dir.join("results.json"), "{}").expect("write");
    let v = run(&p, &["verify"]);
    v.code(1);
    assert!(
        v.stdout
            .lines()
            .any(|l| l.starts_with("phase-") && l.contains("not UTF-8")),
        "{}",
        v.stdout
    );
    // The near miss: removed again, the evidence verifies clean.
    std::fs::remove_dir_all(&dir).expect("rm");
    run(&p, &["verify"]).code(0);
}

fn git(dir: &Path, args: &[&str]) {
    let ok = Command::new("git")
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir)
        .stdout(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "git {args:?}");
}

/// Shards of one stage run at different commits (before: merged into one full pass claimed at
/// the first shard's commit, though half its gates never ran there).
#[test]
fn shards_of_different_commits_are_not_merged() {
    let p = Project::new();
    let mut y = String::from("stage: 0\nname: S\ngates:\n");
    for i in 0..12 {
        y.push_str(&format!("  - {{id: g{i}, title: t, run: 'true'}}\n"));
    }
    p.stage("phase-1/00.yaml", &y);
    p.file(".gitignore", "one/\ntwo/\nthree/\nmerged/\nevidence/\n");
    git(p.path(), &["init", "-q"]);
    git(p.path(), &["add", "."]);
    git(p.path(), &["commit", "-q", "-m", "first"]);
    run(&p, &["stage", "0", "--shard", "1/2", "--evidence", "one"]).code(0);
    p.file("code.txt", "changed\n");
    git(p.path(), &["add", "."]);
    git(p.path(), &["commit", "-q", "-m", "second"]);
    run(&p, &["stage", "0", "--shard", "2/2", "--evidence", "two"]).code(0);
    let commit = |dir: &str| {
        serde_json::from_str::<serde_json::Value>(
            &std::fs::read_to_string(
                p.path()
                    .join(dir)
                    .join("phase-1/stage-00/partial/results.json"),
            )
            .expect("read"),
        )
        .expect("json")["commit"]
            .as_str()
            .expect("a commit")
            .to_owned()
    };
    let (c1, c2) = (commit("one"), commit("two"));
    assert_ne!(c1, c2);
    let m = run(&p, &["merge", "one", "two", "--evidence", "merged"]);
    m.code(2);
    assert!(
        m.stderr.contains("refusing to merge stage 0 of phase 1")
            && m.stderr.contains(&c1[..12])
            && m.stderr.contains(&c2[..12]),
        "{}",
        m.stderr
    );
    assert!(!p.path().join("merged/phase-1").exists());
    // The near miss: shard 1/2 run again at the second commit merges with shard 2/2.
    run(&p, &["stage", "0", "--shard", "1/2", "--evidence", "three"]).code(0);
    run(&p, &["merge", "three", "two", "--evidence", "merged"]).code(0);
    run(&p, &["verify", "merged"]).code(0);
}

/// A stage directory replaced by a link to a copy outside the evidence (before: `list` read
/// and showed the results.json it leads to).
#[test]
fn a_stage_directory_replaced_by_a_link_is_not_read_through() {
    let p = project();
    run(&p, &["phase", "1"]).code(0);
    let l = run(&p, &["list"]);
    assert!(l.stdout.contains("passed 2/2"), "{}", l.stdout);
    let ev = p.path().join("evidence");
    let outside = p.path().join("outside-stage-00");
    std::fs::rename(ev.join("phase-1/stage-00"), &outside).expect("mv");
    edit_json(&outside.join("results.json"), |r| {
        r["started_at"] = "1999-01-01T00:00:00Z".into();
    });
    std::os::unix::fs::symlink(&outside, ev.join("phase-1/stage-00")).expect("symlink");
    let l = run(&p, &["list"]);
    l.code(0);
    assert!(
        !l.stdout.contains("1999"),
        "read through the link:\n{}",
        l.stdout
    );
    assert!(l.stdout.contains("unreadable evidence"), "{}", l.stdout);
    let b = run(&p, &["stage", "1"]);
    b.code(3);
    assert!(b.stderr.contains("symbolic link"), "{}", b.stderr);
    let v = run(&p, &["verify"]);
    v.code(1);
    assert!(
        v.stdout
            .lines()
            .any(|l| l.starts_with("phase-1/stage-00: a symbolic link")),
        "{}",
        v.stdout
    );
}

/// The largest resident set of the children this test process has waited for, in KiB.
fn children_max_rss_kib() -> i64 {
    // SAFETY: getrusage fills the struct it is given; a zeroed rusage is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: RUSAGE_CHILDREN and a valid pointer to an rusage.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    assert_eq!(rc, 0, "getrusage");
    usage.ru_maxrss
}

/// A history.jsonl of 1 GiB (sparse, NUL bytes: valid UTF-8, one line) (before: a stage run read
/// it whole for the report's pass rates, 2 GiB of memory for a 2 GiB history; a larger one
/// exhausts the machine). Now read only up to the cap `verify` holds it to.
#[test]
fn a_huge_history_is_not_read_whole() {
    let p = project();
    run(&p, &["stage", "0"]).code(0);
    grow_sparse(&p.path().join("evidence/history.jsonl"), 1 << 30);
    let r = run(&p, &["stage", "0"]);
    r.code(0);
    let kib = children_max_rss_kib();
    assert!(
        kib < 512 << 10,
        "a gaterun run held {kib} KiB: the history was read whole"
    );
    // The near miss: the evidence with such a history does not verify (too large to read),
    // and the stage it records does not count.
    let v = run(&p, &["verify"]);
    v.code(1);
    assert!(
        v.stdout
            .lines()
            .any(|l| l.starts_with("history.jsonl: ") && l.contains("larger than")),
        "{}",
        v.stdout
    );
    run(&p, &["stage", "1"]).code(3);
}

/// A file nested deeper than a path can name (`PATH_MAX`), made with `mkdirat` (before: the walk
/// skipped a directory it could not read, and `verify` said `ok` beside an unlisted file).
#[test]
fn a_directory_verify_cannot_read_is_named() {
    use rustix::fs::{CWD, Mode, OFlags, mkdirat, openat};
    let p = project();
    run(&p, &["phase", "1"]).code(0);
    run(&p, &["verify"]).code(0);
    let top = p.path().join("evidence/phase-1");
    let mut fd =
        openat(CWD, &top, OFlags::DIRECTORY | OFlags::RDONLY, Mode::empty()).expect("open");
    // 1100 levels of `dddd/`: 5500 bytes, past the 4096 a path may have.
    for _ in 0..1100 {
        mkdirat(&fd, "dddd", Mode::from_raw_mode(0o755)).expect("mkdirat");
        fd = openat(
            &fd,
            "dddd",
            OFlags::DIRECTORY | OFlags::RDONLY,
            Mode::empty(),
        )
        .expect("openat");
    }
    let file = openat(
        &fd,
        "planted.txt",
        OFlags::CREATE | OFlags::WRONLY,
        Mode::from_raw_mode(0o644),
    )
    .expect("create");
    rustix::io::write(&file, b"x").expect("write");
    let v = run(&p, &["verify"]);
    v.code(1);
    assert!(
        v.stdout
            .lines()
            .any(|l| l.starts_with("phase-1/dddd/")
                && l.ends_with("a directory that cannot be read")),
        "{}",
        v.stdout
    );
    // The near miss: removed again, the evidence verifies clean.
    std::process::Command::new("rm")
        .arg("-rf")
        .arg(top.join("dddd"))
        .status()
        .expect("rm");
    run(&p, &["verify"]).code(0);
}

/// A gate writing `phase-1/SIGNOFF.md` by the evidence's real path, before stage 10 passed
/// (before: gaterun re-hashed SIGNOFF.md after every full stage, whoever wrote it, so the planted
/// sign-off was adopted into the manifest and `verify` said `ok`).
#[test]
fn a_signoff_a_gate_plants_is_not_adopted() {
    let p = Project::new();
    p.stage(
        "phase-1/00.yaml",
        "stage: 0\nname: Zero\ngates:\n  - id: a\n    title: t\n    run: 'printf \"# Phase 1 sign-off\\n\\nsigned off by a gate\\n\" > \"$PROJECT_ROOT/evidence/phase-1/SIGNOFF.md\"'\n",
    );
    p.stage(
        "phase-1/10.yaml",
        "stage: 10\nname: Sign-off\ngates:\n  - {id: s, title: t, run: '\"$GATERUN\" signoff --phase 1'}\n",
    );
    run(&p, &["stage", "0"]).code(0);
    assert!(
        p.read("phase-1/SIGNOFF.md")
            .contains("signed off by a gate")
    );
    let v = run(&p, &["verify"]);
    v.code(1);
    assert!(
        v.stdout
            .lines()
            .any(|l| l.starts_with("phase-1/SIGNOFF.md: not listed in MANIFEST.json")),
        "{}",
        v.stdout
    );
    // The near miss: stage 10 passing has gaterun write the sign-off itself, which verifies.
    run(&p, &["stage", "10"]).code(0);
    assert!(
        !p.read("phase-1/SIGNOFF.md")
            .contains("signed off by a gate")
    );
    run(&p, &["verify"]).code(0);
}

/// A gate flipping an earlier failed results.json to `passed` by the evidence's real path, during
/// a later (here partial) run (before: the manifest kept the hash gaterun wrote, but the in-toto
/// Statement's predicate was computed from the file on disk: `result: PASSED`, the flipped gates
/// among `passedTests` — what `attest: true` signs).
#[test]
fn a_flipped_results_json_never_reaches_the_statement_as_a_pass() {
    let p = Project::new();
    p.stage(
        "phase-1/00.yaml",
        "stage: 0\nname: Zero\ngates:\n  - {id: a, title: t, run: 'sh flip.sh'}\n  - {id: b, title: t, run: 'test ! -e fail-b'}\n",
    );
    p.file(
        "flip.sh",
        "if [ -e flip ]; then sed -i 's/\"failed\"/\"passed\"/g' \"$PROJECT_ROOT/evidence/phase-1/stage-00/results.json\"; fi\n",
    );
    p.file("fail-b", "");
    let statement = || -> serde_json::Value {
        serde_json::from_str(&p.read("attestation.intoto.json")).expect("statement")
    };
    run(&p, &["stage", "0"]).code(1);
    assert_eq!(statement()["predicate"]["result"], "FAILED");
    p.file("flip", "");
    run(&p, &["stage", "0", "--gate", "a"]).code(0);
    let flipped: serde_json::Value =
        serde_json::from_str(&p.read("phase-1/stage-00/results.json")).expect("json");
    assert_eq!(flipped["status"], "passed", "the gate flipped it");
    let s = statement();
    assert_eq!(s["predicate"]["result"], "FAILED", "{s:#}");
    assert!(
        !s["predicate"]["passedTests"]
            .as_array()
            .expect("passedTests")
            .iter()
            .any(|t| t == "phase-1/stage-00/b"),
        "{s:#}"
    );
    let v = run(&p, &["verify"]);
    v.code(1);
    assert!(
        v.stdout.lines().any(|l| l
            .starts_with("phase-1/stage-00/results.json: its sha256 differs from MANIFEST.json's")),
        "{}",
        v.stdout
    );
    // The near miss: run whole again with b passing, the Statement says PASSED.
    std::fs::remove_file(p.path().join("flip")).expect("rm");
    std::fs::remove_file(p.path().join("fail-b")).expect("rm");
    run(&p, &["stage", "0"]).code(0);
    assert_eq!(statement()["predicate"]["result"], "PASSED");
    run(&p, &["verify"]).code(0);
}

/// What can stand in place of an evidence file: a FIFO, a directory, a socket; a results.json or
/// manifest nested 100000 deep; a report.md past its cap; manifest entries naming `..`, an
/// absolute path, a NUL, a newline and a workflow command. `verify` names each file, at once
/// (under a hang guard), without a panic, reading nothing outside the evidence.
#[test]
fn anything_in_place_of_an_evidence_file_is_named_at_once() {
    let p = project();
    run(&p, &["phase", "1"]).code(0);
    let ev = p.path().join("evidence");
    let pristine = p.path().join("pristine");
    let cp = |from: &Path, to: &Path| {
        let _ = std::fs::remove_dir_all(to);
        assert!(
            Command::new("cp")
                .arg("-a")
                .arg(from)
                .arg(to)
                .status()
                .is_ok_and(|s| s.success())
        );
    };
    cp(&ev, &pristine);
    type Plant = Box<dyn Fn(&Path)>;
    let fifo: Plant = Box::new(|f: &Path| {
        assert!(
            Command::new("mkfifo")
                .arg(f)
                .status()
                .is_ok_and(|s| s.success())
        );
    });
    let dir: Plant = Box::new(|f: &Path| std::fs::create_dir(f).expect("mkdir"));
    let socket: Plant = Box::new(|f: &Path| {
        std::mem::forget(std::os::unix::net::UnixListener::bind(f).expect("bind"));
    });
    let nested: Plant = Box::new(|f: &Path| {
        std::fs::write(f, "[".repeat(100_000) + &"]".repeat(100_000)).expect("write")
    });
    let huge: Plant = Box::new(|f: &Path| {
        let file = std::fs::File::create(f).expect("create");
        file.set_len(65 << 20).expect("sparse 65 MiB");
    });
    let files = [
        "MANIFEST.json",
        "attestation.intoto.json",
        "history.jsonl",
        "summary.md",
        "junit.xml",
        "phase-1/stage-00/results.json",
        "phase-1/stage-00/junit.xml",
        "phase-1/stage-00/report.md",
    ];
    let mut cases = 0;
    for file in files {
        for (kind, plant) in [
            ("fifo", &fifo),
            ("dir", &dir),
            ("socket", &socket),
            ("nested", &nested),
            ("huge", &huge),
        ] {
            cp(&pristine, &ev);
            std::fs::remove_file(ev.join(file)).expect("rm");
            plant(&ev.join(file));
            let v = run(&p, &["verify"]);
            assert_eq!(v.code, 1, "{kind} as {file}:\n{}{}", v.stdout, v.stderr);
            assert!(
                v.stdout
                    .lines()
                    .any(|l| l.starts_with(&format!("{file}: "))),
                "{kind} as {file} not named:\n{}",
                v.stdout
            );
            cases += 1;
        }
    }
    assert_eq!(cases, 40);
    // Manifest entries that name what gaterun never writes: each named, none read.
    cp(&pristine, &ev);
    let token = format!("outside-{}", std::process::id());
    std::fs::write(p.path().join(&token), "never read").expect("write");
    edit_json(&ev.join("MANIFEST.json"), |m| {
        for key in [
            format!("../{token}"),
            p.path().join(&token).display().to_string(),
            format!("a\0{token}"),
            format!("x\n::error::{token}"),
            format!("phase-1/stage-00/../../../{token}/results.json"),
        ] {
            m["files"][key] = "sha256:00".into();
        }
    });
    let v = run(&p, &["verify", "--github"]);
    v.code(1);
    inert("verify --github", &v.stdout);
    assert_eq!(
        v.stdout
            .lines()
            .filter(|l| l.contains(&token) && l.contains("missing, but MANIFEST.json lists it"))
            .count(),
        5,
        "{}",
        v.stdout
    );
    // The near miss: the pristine copy verifies clean.
    cp(&pristine, &ev);
    run(&p, &["verify"]).code(0);
}

/// A gate log grown to 1 GiB (sparse: free to plant) (before: `verify` hashed all of it, 35 s per
/// GiB in a debug build, so a few hundred planted GiB held it for hours). A log larger than any
/// gaterun writes (its cap, 8 MiB, and a margin) is named without being read.
#[test]
fn a_log_larger_than_gaterun_writes_is_named_unread() {
    let p = project();
    run(&p, &["phase", "1"]).code(0);
    let log = p.path().join("evidence/phase-1/stage-00/logs/a.log");
    grow_sparse(&log, 1 << 30);
    let v = run(&p, &["verify"]);
    v.code(1);
    assert!(
        v.stdout
            .lines()
            .any(|l| l.starts_with("phase-1/stage-00/logs/a.log: larger than")),
        "{}",
        v.stdout
    );
    // The near miss: a log edited within the cap is hashed and named as changed.
    std::fs::write(&log, "edited\n").expect("write");
    let v = run(&p, &["verify"]);
    assert!(
        v.stdout.lines().any(|l| l
            .starts_with("phase-1/stage-00/logs/a.log: its sha256 differs from MANIFEST.json's")),
        "{}",
        v.stdout
    );
}
