//! gaterun itself against what its environment does to it: SIGHUP, a closed pipe, files that
//! are no files, links that loop, durations and ids too large to use.

mod common;

use std::time::{Duration, Instant};

use common::{Project, processes_with};

/// SIGHUP (a closed terminal, a CI runner's cancel) is handled like Ctrl-C: every gate stopped,
/// evidence written and marked interrupted, exit 130, no process left.
#[test]
fn sighup_stops_the_gates_and_writes_the_evidence() {
    let m = common::marker();
    let p = Project::new();
    p.stage(
        "s.yaml",
        &"stage: 0\nname: Long\ngates:\n  - id: a\n    title: sleeps\n    run: 'touch \"$PROJECT_ROOT/started\"; sleep 987633'\n"
        .replace("987633", &m),
    );
    let status = p.signal_after(&["stage", "0"], "started", rustix::process::Signal::HUP);
    assert_eq!(status.code(), Some(130));
    assert_eq!(processes_with(&format!("sleep {m}")), Vec::<String>::new());
    assert_eq!(p.results("stage-00")["status"], "interrupted");
}

/// `gaterun list | head -1`: a closed stdout ends the output, not the program (no panic).
#[test]
fn a_closed_stdout_is_no_panic() {
    let p = Project::new();
    p.stage(
        "s.yaml",
        "stage: 0\nname: S\ngates:\n  - id: a\n    title: t\n    run: 'true'\n",
    );
    for args in [&["list"][..], &["check"], &["schema"]] {
        let mut child = p
            .cmd(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn");
        drop(child.stdout.take());
        let out = child.wait_with_output().expect("wait");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_ne!(out.status.code(), Some(101), "{args:?}: {stderr}");
    }
}

/// Files and values `check` must refuse, located, fast: a FIFO and `/dev/zero` as stage files,
/// a symlink loop in gates/, a timeout of 300,000,000,000 years, a 300-character id.
#[test]
fn what_cannot_be_used_is_refused_at_once() {
    let run_check = |p: &Project| {
        let mut child = p
            .cmd(&["check"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if child.try_wait().expect("wait").is_some() {
                break;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("check hung");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let out = child.wait_with_output().expect("output");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let ok = "stage: 0\nname: S\ngates:\n  - id: a\n    title: t\n    run: 'true'\n";

    // A FIFO, and a link to a device that never ends.
    for make in [
        (|path: &std::path::Path| {
            rustix::fs::mknodat(
                rustix::fs::CWD,
                path,
                rustix::fs::FileType::Fifo,
                rustix::fs::Mode::from_raw_mode(0o644),
                0,
            )
            .expect("mkfifo")
        }) as fn(&std::path::Path),
        |path| std::os::unix::fs::symlink("/dev/zero", path).expect("ln"),
    ] {
        let p = Project::new();
        p.stage("00.yaml", ok);
        make(&p.path().join("gates/01.yaml"));
        let (code, err) = run_check(&p);
        assert_eq!(code, Some(2), "{err}");
        assert!(
            err.contains("gates/01.yaml") && err.contains("not a regular file"),
            "{err}"
        );
    }

    let p = Project::new();
    p.stage("sub/00.yaml", ok);
    std::os::unix::fs::symlink("..", p.path().join("gates/sub/up")).expect("ln");
    std::os::unix::fs::symlink(".", p.path().join("gates/sub/here")).expect("ln");
    let (code, err) = run_check(&p);
    assert_eq!(code, Some(0), "a loop of links is walked once: {err}");

    let p = Project::new();
    p.stage(
        "00.yaml",
        "stage: 0\nname: S\ngates:\n  - id: a\n    title: t\n    timeout: 300000000000y\n    run: 'true'\n",
    );
    let (code, err) = run_check(&p);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("gates/00.yaml:6:14") && err.contains("too long: at most 7 days"),
        "{err}"
    );

    let p = Project::new();
    let id = "a".repeat(300);
    p.stage(
        "00.yaml",
        &format!("stage: 0\nname: S\ngates:\n  - id: {id}\n    title: t\n    run: 'true'\n"),
    );
    let (code, err) = run_check(&p);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("gate id of 300 characters is too long"),
        "{err}"
    );
}

/// A stage started while its prerequisite is being re-run, and then fails, waits for that run
/// and is blocked by its failure: the prerequisite check is done again under the evidence lock.
#[test]
fn the_prerequisite_check_is_redone_after_waiting_for_the_lock() {
    let p = Project::new();
    p.stage(
        "00.yaml",
        "stage: 0\nname: A\ngates:\n  - id: a\n    title: t\n    run: 'true'\n",
    );
    p.stage(
        "01.yaml",
        "stage: 1\nname: B\ngates:\n  - id: b\n    title: t\n    run: 'if [ -f \"$PROJECT_ROOT/fail\" ]; then touch \"$PROJECT_ROOT/started\"; sleep 2; exit 1; fi'\n",
    );
    p.stage(
        "02.yaml",
        "stage: 2\nname: C\ngates:\n  - id: c\n    title: t\n    run: 'true'\n",
    );
    p.run(&["stage", "0"]).code(0);
    p.run(&["stage", "1"]).code(0);
    std::fs::write(p.path().join("fail"), "").expect("write");
    let first = p
        .cmd(&["stage", "1"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    common::wait_for_file(&p.path().join("started"));
    // Stage 1 passed when this starts, and fails while it waits.
    let second = p.run(&["stage", "2"]);
    let first = first.wait_with_output().expect("wait");
    assert_eq!(first.status.code(), Some(1));
    assert_eq!(second.code, 3, "{}{}", second.stdout, second.stderr);
    assert!(second.stderr.contains("stage 1 (B)"), "{}", second.stderr);
}

/// SIGINT after the evidence lock is taken but before the gates start (here during the sweep
/// of 5,000 temp roots left by dead runs, in a TMPDIR of the test's own): the run stops with
/// 130, it does not go on as if nothing had come. Before, the signal listener was made after
/// the sweep and the signal was swallowed: the gate ran and passed, exit 0.
#[test]
fn a_signal_before_the_gates_start_is_not_lost() {
    let p = Project::new();
    let tmp_dir = tempfile::tempdir().expect("temp dir");
    let tmp = tmp_dir.path();
    for i in 0..5_000u32 {
        std::fs::create_dir_all(tmp.join(format!("gaterun-{}r{i:08x}/a", 100_000 + i)))
            .expect("stale temp root");
    }
    let m = format!("98{}", std::process::id());
    p.stage(
        "s.yaml",
        &format!(
            "stage: 0\nname: S\ngates:\n  - id: a\n    title: t\n    timeout: 60s\n    run: 'sleep {m}'\n"
        ),
    );
    let mut child = p
        .cmd(&["stage", "0"])
        .env("TMPDIR", tmp)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    let lock = p.evidence(".gaterun.lock");
    let start = Instant::now();
    while !lock.exists() && start.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(2));
    }
    rustix::process::kill_process(
        rustix::process::Pid::from_child(&child),
        rustix::process::Signal::INT,
    )
    .expect("kill");
    let status = child.wait().expect("wait");
    let left = processes_with(&format!("sleep {m}"));
    assert_eq!(status.code(), Some(130), "the signal was lost");
    assert_eq!(left, Vec::<String>::new());
}
