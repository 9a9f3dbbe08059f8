//! The ledger that cannot be fooled: `gaterun verify` and the prerequisite check catch evidence
//! that does not agree — a hand-edited results.json, a mixed merge, a full disk, a tampered
//! file, a gate writing into evidence — naming the file and the reason; untouched evidence
//! verifies clean. The in-toto Statement validates against the attestation schema.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{Project, Run, Tmpfs, collect_files, run_guarded};

/// Stage 0 (two gates; `b` fails when `fail-b` exists), stage 1, stage 2.
fn project() -> Project {
    let p = Project::new();
    p.stage(
        "phase-1/00.yaml",
        "stage: 0\nname: Zero\ngates:\n  - {id: a, title: t, run: 'echo a-ran'}\n  - {id: b, title: t, run: 'test ! -e fail-b'}\n",
    );
    p.stage(
        "phase-1/01.yaml",
        "stage: 1\nname: One\ngates:\n  - {id: c, title: t, run: 'true'}\n",
    );
    p.stage(
        "phase-1/02.yaml",
        "stage: 2\nname: Two\ngates:\n  - {id: d, title: t, run: 'true'}\n",
    );
    p
}

fn verify(p: &Project, dir: &str) -> Run {
    let (run, _) = run_guarded(&mut p.cmd(&["verify", dir]), Duration::from_secs(60));
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    run
}

/// Every line of `verify`'s output about `file` holds `reason`.
#[track_caller]
fn names(run: &Run, file: &str, reason: &str) {
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .lines()
            .any(|l| l.starts_with(&format!("{file}: ")) && l.contains(reason)),
        "no line `{file}: …{reason}…` in:\n{}",
        run.stdout
    );
}

/// What a case does to an evidence directory, or to a JSON document.
type Edit = Box<dyn Fn(&Path)>;
type JsonEdit = Box<dyn Fn(&mut serde_json::Value)>;

/// `gaterun <args>` is blocked by a prerequisite (exit 3), its message holding each of `wants`.
#[track_caller]
fn blocked(p: &Project, args: &[&str], wants: &[&str]) {
    let run = p.run(args);
    run.code(3);
    for want in wants {
        assert!(run.stderr.contains(want), "{want}:\n{}", run.stderr);
    }
}

fn edit_json(path: &Path, f: impl Fn(&mut serde_json::Value)) {
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("read")).expect("json");
    f(&mut v);
    std::fs::write(path, serde_json::to_string_pretty(&v).expect("json")).expect("write");
}

fn sha256_hex(path: &Path) -> String {
    let out = Command::new("sha256sum")
        .arg(path)
        .output()
        .expect("sha256sum");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .expect("digest")
        .to_owned()
}

#[test]
fn untouched_evidence_verifies_clean_and_a_tampered_file_is_named() {
    let p = project();
    p.run(&["phase", "1"]).code(0);
    let clean = verify(&p, "evidence");
    clean.code(0);
    assert!(clean.stdout.starts_with("ok: "), "{}", clean.stdout);
    let manifest: serde_json::Value =
        serde_json::from_str(&p.read("MANIFEST.json")).expect("manifest");
    // The manifest covers every evidence file but itself, the Statement and the lock.
    let mut files = Vec::new();
    collect_files(&p.path().join("evidence"), &mut files);
    for f in &files {
        let rel = f
            .strip_prefix(p.path().join("evidence"))
            .expect("inside")
            .to_string_lossy()
            .into_owned();
        let listed = manifest["files"][&rel].as_str();
        if ["MANIFEST.json", "attestation.intoto.json", ".gaterun.lock"].contains(&rel.as_str()) {
            assert_eq!(listed, None, "{rel}");
        } else {
            assert_eq!(
                listed,
                Some(format!("sha256:{}", sha256_hex(f)).as_str()),
                "{rel}"
            );
        }
    }
    assert_eq!(
        manifest["stages"]["phase-1/stage-00"]["definition_hash"],
        p.results("stage-00")["definition_hash"]
    );
    assert!(
        manifest["stages"]["phase-1/stage-00"]["file_sha256"]
            .as_str()
            .is_some_and(|h| h
                == format!(
                    "sha256:{}",
                    sha256_hex(&p.path().join("gates/phase-1/00.yaml"))
                ))
    );

    // Any evidence file edited after the run is named; each case on a fresh copy.
    let cases: Vec<(&str, Edit, &str, &str)> = vec![
        (
            "log",
            Box::new(|d: &Path| append(&d.join("phase-1/stage-00/logs/a.log"), "more\n")),
            "phase-1/stage-00/logs/a.log",
            "differs from MANIFEST.json",
        ),
        (
            "summary",
            Box::new(|d: &Path| append(&d.join("summary.md"), "\nall good\n")),
            "summary.md",
            "differs from MANIFEST.json",
        ),
        (
            "log-of-the-phase",
            Box::new(|d: &Path| append(&d.join("phase-1/IMPLEMENTATION_LOG.md"), "x")),
            "phase-1/IMPLEMENTATION_LOG.md",
            "differs from MANIFEST.json",
        ),
        (
            "added",
            Box::new(|d: &Path| std::fs::write(d.join("phase-1/extra.md"), "x").expect("write")),
            "phase-1/extra.md",
            "not listed in MANIFEST.json",
        ),
        (
            "removed",
            Box::new(|d: &Path| {
                std::fs::remove_file(d.join("phase-1/stage-01/report.md")).expect("rm")
            }),
            "phase-1/stage-01/report.md",
            "missing",
        ),
        (
            "symlink",
            Box::new(|d: &Path| {
                std::os::unix::fs::symlink("/etc/passwd", d.join("phase-1/stage-01/notes.md"))
                    .expect("ln")
            }),
            "phase-1/stage-01/notes.md",
            "symbolic link",
        ),
        (
            "manifest",
            Box::new(|d: &Path| {
                edit_json(&d.join("MANIFEST.json"), |m| {
                    m["files"]["phase-1/stage-00/logs/a.log"] =
                        format!("sha256:{}", "0".repeat(64)).into()
                })
            }),
            "MANIFEST.json",
            "differs from the subject's in attestation.intoto.json",
        ),
    ];
    for (name, edit, file, reason) in cases {
        let copy = format!("copy-{name}");
        copy_dir(&p.path().join("evidence"), &p.path().join(&copy));
        // The near miss: the copy, untouched, verifies clean.
        verify(&p, &copy).code(0);
        edit(&p.path().join(&copy));
        let run = verify(&p, &copy);
        names(&run, file, reason);
    }
    // A tampered manifest entry also names the file it lists.
    let run = verify(&p, "copy-manifest");
    names(
        &run,
        "phase-1/stage-00/logs/a.log",
        "differs from MANIFEST.json",
    );
    // Usage: a directory that is not there.
    let run = verify(&p, "nowhere");
    assert_eq!(run.code, 2, "{}", run.stderr);
}

fn append(path: &Path, text: &str) {
    use std::io::Write;
    std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .expect("open")
        .write_all(text.as_bytes())
        .expect("append");
}

fn copy_dir(from: &Path, to: &Path) {
    let ok = Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "cp -a");
}

/// Stage 0 failed; its results.json is flipped to passed by hand. The prerequisite check, the
/// sign-off and `verify` each refuse it, naming the file and what contradicts it — also when
/// the editor fixed the manifest's hash too.
#[test]
fn a_hand_edited_results_json_is_no_pass() {
    let p = project();
    p.file("fail-b", "");
    p.run(&["stage", "0"]).code(1);
    let results = p.evidence("phase-1/stage-00/results.json");
    let flip = |v: &mut serde_json::Value| {
        v["status"] = "passed".into();
        for g in v["gates"].as_array_mut().expect("gates") {
            g["status"] = "passed".into();
            g["message"] = serde_json::Value::Null;
        }
    };
    edit_json(&results, flip);
    blocked(
        &p,
        &["stage", "1"],
        &[
            "stage 0 (Zero) of phase 1 has not passed: its evidence does not agree",
            "phase-1/stage-00/results.json: its sha256 differs from MANIFEST.json's",
        ],
    );
    let list = p.run(&["list"]);
    assert!(
        list.stdout
            .contains("not counted: its evidence does not agree (`gaterun verify`)"),
        "{}",
        list.stdout
    );
    let run = verify(&p, "evidence");
    names(
        &run,
        "phase-1/stage-00/results.json",
        "status passed, but history.jsonl says this run failed",
    );
    names(
        &run,
        "phase-1/stage-00/junit.xml",
        "says the stage failed, but results.json says passed",
    );
    names(
        &run,
        "phase-1/stage-00/report.md",
        "says fail (1/2 gates), but results.json says passed (2/2 gates)",
    );
    names(
        &run,
        "phase-1/stage-00/results.json",
        "differs from MANIFEST.json",
    );

    // The editor rewrites the manifest's hash as well: the other files still contradict it.
    let digest = format!("sha256:{}", sha256_hex(&results));
    edit_json(&p.evidence("MANIFEST.json"), |m| {
        m["files"]["phase-1/stage-00/results.json"] = digest.clone().into()
    });
    blocked(
        &p,
        &["stage", "1"],
        &["phase-1/stage-00/junit.xml: says the stage failed, but results.json says passed"],
    );
    let signoff = p.run(&["signoff", "--phase", "1"]);
    signoff.code(1);
    assert!(
        signoff.stderr.contains("its evidence does not agree"),
        "{}",
        signoff.stderr
    );
    assert!(!p.evidence("phase-1/SIGNOFF.md").exists());

    // The near miss: stage 0 passes for real, and stage 1 runs on it.
    std::fs::remove_file(p.path().join("fail-b")).expect("rm");
    p.run(&["stage", "0"]).code(0);
    p.run(&["stage", "1"]).code(0);
    verify(&p, "evidence").code(0);
    assert!(!p.run(&["list"]).stdout.contains("not counted"));
}

/// A SIGNOFF.md that counts a stage its history failed, or shows "Passed 1" beside a pass rate
/// of 0/1, is named.
#[test]
fn a_signoff_beside_a_failed_history_is_named() {
    let p = project();
    p.stage(
        "phase-1/10.yaml",
        "stage: 10\nname: Sign-off\ngates:\n  - id: s\n    title: t\n    run: ['${GATERUN}', signoff, --phase, '1', --evidence, '${GATERUN_EVIDENCE}']\n",
    );
    p.run(&["phase", "1"]).code(0);
    let signoff = p.read("phase-1/SIGNOFF.md");
    assert!(signoff.contains("| 0 | Zero | 2 | 2 |"), "{signoff}");
    verify(&p, "evidence").code(0);
    // The sign-off as a hand edit would leave it: stage 0 passed 1 of 1, at a rate of 0/1.
    let forged = signoff.replace("| 0 | Zero | 2 | 2 |", "| 0 | Zero | 1 | 1 |");
    let forged = forged.replace("100% (2/2)", "0% (0/1)");
    std::fs::write(p.evidence("phase-1/SIGNOFF.md"), forged).expect("write");
    let run = verify(&p, "evidence");
    names(
        &run,
        "phase-1/SIGNOFF.md",
        "stage 0: says 1 gates passed beside a pass rate of 0% (0/1)",
    );
    names(
        &run,
        "phase-1/SIGNOFF.md",
        "stage 0: says 1/1 passed, but its results.json 2/2",
    );
    // A criteria stage failing takes the sign-off with it.
    p.file("fail-b", "");
    p.run(&["stage", "0"]).code(1);
    assert!(!p.evidence("phase-1/SIGNOFF.md").exists());
}

/// A FIFO in place of a results.json: the prerequisite check, `list`, `signoff` and `verify`
/// name it at once instead of blocking with the evidence lock held.
#[test]
fn a_fifo_in_place_of_results_json_blocks_nothing() {
    let p = project();
    p.run(&["stage", "0"]).code(0);
    let results = p.evidence("phase-1/stage-00/results.json");
    std::fs::remove_file(&results).expect("rm");
    let ok = Command::new("mkfifo")
        .arg(&results)
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "mkfifo");
    let limit = Duration::from_secs(60);
    let (run, _) = run_guarded(&mut p.cmd(&["stage", "1"]), limit);
    run.code(3);
    assert!(
        run.stderr.contains("results.json") && run.stderr.contains("not a regular file"),
        "{}",
        run.stderr
    );
    let (run, _) = run_guarded(&mut p.cmd(&["list"]), limit);
    run.code(0);
    assert!(run.stdout.contains("unreadable evidence"), "{}", run.stdout);
    let (run, _) = run_guarded(&mut p.cmd(&["signoff", "--phase", "1"]), limit);
    run.code(1);
    let (run, _) = run_guarded(&mut p.cmd(&["report"]), limit);
    run.code(0);
    let run = verify(&p, "evidence");
    names(&run, "phase-1/stage-00/results.json", "not a regular file");
}

/// A gate writes a passing results.json for a failed stage through `GATERUN_EVIDENCE` (a copy:
/// nothing reaches the evidence), then through the evidence's real path (the manifest keeps
/// the hash gaterun wrote): neither becomes a pass.
#[test]
fn a_gate_writing_evidence_does_not_make_a_pass() {
    let p = project();
    p.file("fail-b", "");
    p.run(&["stage", "0"]).code(1);
    let forge = |target: &str| {
        format!(
            "stage: 1\nname: One\ngates:\n  - id: c\n    title: t\n    run: |\n      f=\"{target}/phase-1/stage-00/results.json\"\n      test -f \"$f\" || exit 7\n      sed -i 's/\"failed\"/\"passed\"/g' \"$f\"\n      grep -q failed \"$f\" && exit 8\n      exit 0\n"
        )
    };
    p.stage("phase-1/01.yaml", &forge("$GATERUN_EVIDENCE"));
    p.run(&["stage", "1", "--prereqs", "ignore"]).code(0);
    // The gate's copy changed; the evidence did not.
    assert_eq!(p.results("stage-00")["status"], "failed");
    blocked(
        &p,
        &["stage", "2"],
        &["stage 0 (Zero) of phase 1 has not passed: its last run failed"],
    );

    // Through the real path: the manifest kept what gaterun wrote.
    p.stage("phase-1/01.yaml", &forge("$PROJECT_ROOT/evidence"));
    p.run(&["stage", "1", "--prereqs", "ignore"]).code(0);
    assert_eq!(
        p.results("stage-00")["status"],
        "passed",
        "the gate did write it"
    );
    blocked(
        &p,
        &["stage", "2"],
        &["phase-1/stage-00/results.json: its sha256 differs from MANIFEST.json's"],
    );
    let run = verify(&p, "evidence");
    names(
        &run,
        "phase-1/stage-00/results.json",
        "differs from MANIFEST.json",
    );
}

/// A gate plants files in its own stage's directory while gaterun builds it aside (its path is
/// known: `.stage-NN.new-<pid>`): a log of a gate that does not exist, a file beside
/// results.json, a directory and a link. None of them reaches the evidence; what gaterun wrote
/// verifies clean.
#[test]
fn files_a_gate_plants_in_its_stage_directory_are_not_evidence() {
    let p = project();
    p.stage(
        "phase-1/00.yaml",
        "stage: 0\nname: Zero\ngates:\n  - id: plant\n    title: t\n    run: |\n      set -e\n      d=$(ls -d \"$PROJECT_ROOT\"/evidence/phase-1/.stage-00.new-*)\n      echo forged > \"$d/logs/other.log\"\n      echo forged > \"$d/extra.md\"\n      mkdir \"$d/more\" && echo forged > \"$d/more/x\"\n      ln -s /etc/hostname \"$d/logs/link.log\"\n      echo planted\n",
    );
    p.run(&["stage", "0"]).code(0);
    let dir = p.path().join("evidence/phase-1/stage-00");
    for f in ["logs/other.log", "extra.md", "more/x", "logs/link.log"] {
        assert!(
            std::fs::symlink_metadata(dir.join(f)).is_err(),
            "{f} was kept"
        );
    }
    assert!(
        p.read("phase-1/stage-00/logs/plant.log")
            .contains("planted")
    );
    verify(&p, "evidence").code(0);
    // The near miss: the same file put there after the run is named.
    std::fs::write(dir.join("extra.md"), "forged").expect("write");
    let run = verify(&p, "evidence");
    names(&run, "phase-1/stage-00/extra.md", "");
}

/// The stage's gates share one copy of the evidence: one that removes it (or anything else
/// that removes the run's temp directory) leaves the next gate a copy made anew, whole.
#[test]
fn a_removed_evidence_copy_is_made_again() {
    let p = project();
    p.run(&["stage", "0"]).code(0);
    p.stage(
        "phase-1/01.yaml",
        "stage: 1\nname: One\nserial: true\ngates:\n  - {id: sees, title: t, run: 'test -f \"$GATERUN_EVIDENCE/phase-1/stage-00/results.json\"'}\n  - {id: removes, title: t, run: 'rm -rf \"$GATERUN_EVIDENCE\" && ! test -e \"$GATERUN_EVIDENCE\"'}\n  - {id: sees-again, title: t, run: 'test -f \"$GATERUN_EVIDENCE/phase-1/stage-00/results.json\" && test -f \"$GATERUN_EVIDENCE/MANIFEST.json\"'}\n",
    );
    p.run(&["stage", "1"]).code(0);
    verify(&p, "evidence").code(0);
}

/// Hand-built shards: a merged stage directory glued from two definitions, and a shard whose
/// results.json was flipped, are caught by `verify`, the prerequisite check and `merge`.
#[test]
fn a_mixed_merge_is_caught() {
    let p = project();
    // Enough gates that each of two shards has some.
    let stage0 = |title: &str| {
        let mut y = String::from(
            "stage: 0\nname: Zero\ngates:\n  - {id: b, title: t, run: 'test ! -e fail-b'}\n",
        );
        for i in 0..10 {
            y.push_str(&format!("  - {{id: g{i}, title: {title}, run: 'true'}}\n"));
        }
        y
    };
    p.stage("phase-1/00.yaml", &stage0("first"));
    p.run(&["stage", "0", "--shard", "1/2", "--evidence", "one"])
        .code(0);
    p.run(&["stage", "0", "--shard", "2/2", "--evidence", "two"])
        .code(0);
    // The near miss: genuine shards merge into evidence that verifies, and stage 1 runs on it.
    p.run(&["merge", "one", "two", "--evidence", "merged"])
        .code(0);
    verify(&p, "merged").code(0);
    p.run(&["stage", "1", "--evidence", "merged"]).code(0);

    // Stage 0 changes; a shard of the new definition is glued into the merged directory.
    p.stage("phase-1/00.yaml", &stage0("changed"));
    p.run(&["stage", "0", "--evidence", "other"]).code(0);
    let glued = p.path().join("merged/phase-1/stage-00/results.json");
    std::fs::copy(p.path().join("other/phase-1/stage-00/results.json"), &glued).expect("cp");
    let run = verify(&p, "merged");
    names(
        &run,
        "phase-1/stage-00/junit.xml",
        "its definition_hash differs from results.json's",
    );
    names(
        &run,
        "phase-1/stage-00/results.json",
        "differs from MANIFEST.json",
    );
    blocked(
        &p,
        &["stage", "1", "--evidence", "merged"],
        &["phase-1/stage-00/", "its evidence does not agree"],
    );

    // A shard whose failed run was flipped to passed is refused by merge, naming it.
    p.file("fail-b", "");
    p.run(&["stage", "0", "--shard", "1/1", "--evidence", "bad"])
        .code(1);
    edit_json(
        &p.path().join("bad/phase-1/stage-00/partial/results.json"),
        |v| {
            v["status"] = "passed".into();
            for g in v["gates"].as_array_mut().expect("gates") {
                g["status"] = "passed".into();
            }
        },
    );
    let out = p.run(&["merge", "bad", "--evidence", "merged-bad"]);
    out.code(2);
    assert!(
        out.stderr
            .contains("its evidence does not agree: phase-1/stage-00/partial/"),
        "{}",
        out.stderr
    );
    assert!(!p.path().join("merged-bad/phase-1").exists());
}

/// Stage 1, whose gate fails printing 2 MiB once `big` exists (more than a 1 MiB tmpfs holds).
const BIG_FAILING_STAGE_1: &str = "stage: 1\nname: One\ngates:\n  - id: c\n    title: t\n    run: 'if test -e big; then head -c 2097152 /dev/zero | tr \"\\0\" x; exit 1; fi'\n";

/// The disk fills during `phase`: stage 1's new (failed) result cannot be written. Its earlier
/// pass, the earlier summary and junit.xml must not stand for it: `verify` and the prerequisite
/// check name what is missing and what the history says.
#[test]
fn a_full_disk_during_phase_leaves_no_pass_claimed() {
    let p = project();
    // Stage 1's gate fails, printing 2 MiB, once `big` exists.
    p.stage("phase-1/01.yaml", BIG_FAILING_STAGE_1);
    let Some(_mount) = Tmpfs::mount(&p.path().join("evidence"), "1m") else {
        return;
    };
    p.run(&["phase", "1"]).code(0);
    verify(&p, "evidence").code(0);
    p.file("big", "");
    let (run, _) = run_guarded(&mut p.cmd(&["phase", "1"]), Duration::from_secs(60));
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("No space left"), "{}", run.stderr);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    stage_1_lost_and_named(&p, "evidence");
    // With room again, the phase runs and verifies clean.
    drop(_mount);
    std::fs::remove_file(p.path().join("big")).expect("rm");
    p.run(&["phase", "1"]).code(0);
    verify(&p, "evidence").code(0);
}

/// The disk fills during `merge`: a shard's failed stage 1 (2 MiB of log) cannot be written
/// over the earlier merge's pass, which must not stay behind claiming it.
#[test]
fn a_full_disk_during_merge_leaves_no_pass_claimed() {
    let p = project();
    p.stage("phase-1/01.yaml", BIG_FAILING_STAGE_1);
    // One shard holding stages 0 and 1, run again below.
    let shard = |stage: &str| {
        let args = [
            "stage",
            stage,
            "--shard",
            "1/1",
            "--evidence",
            "shard",
            "--prereqs",
            "ignore",
        ];
        p.run(&args)
    };
    shard("0").code(0);
    shard("1").code(0);
    let Some(_mount) = Tmpfs::mount(&p.path().join("merged"), "1m") else {
        return;
    };
    p.run(&["merge", "shard", "--evidence", "merged"]).code(0);
    verify(&p, "merged").code(0);
    p.file("big", "");
    shard("1").code(1);
    let (run, _) = run_guarded(
        &mut p.cmd(&["merge", "shard", "--evidence", "merged"]),
        Duration::from_secs(60),
    );
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("No space left"), "{}", run.stderr);
    stage_1_lost_and_named(&p, "merged");
}

/// Stage 1's new result could not be written to evidence `dir`: nothing there claims it, and
/// `verify` and the prerequisite check both name the missing results.json and the history's
/// failed run.
#[track_caller]
fn stage_1_lost_and_named(p: &Project, dir: &str) {
    let d = p.path().join(dir);
    assert!(!d.join("phase-1/stage-01").exists());
    for f in ["summary.md", "junit.xml"] {
        assert!(!d.join(f).exists(), "{f} of the earlier run was left");
    }
    let run = verify(p, dir);
    names(
        &run,
        "phase-1/stage-01/results.json",
        "missing, but history.jsonl records a run of the stage (failed at",
    );
    blocked(
        p,
        &["stage", "2", "--evidence", dir],
        &[
            "stage 1 (One) of phase 1 has not passed: phase-1/stage-01/results.json is missing, but history.jsonl records a run (failed at",
        ],
    );
}

/// The Statement validates against the in-toto Statement v1 + test-result schema (written from
/// the in-toto/attestation spec files, tests/fixtures), its subjects are the evidence files with
/// their digests, and its result follows the gates: a near miss of each kind fails validation.
#[test]
fn the_in_toto_statement_validates_and_follows_the_results() {
    let p = project();
    p.file("fail-b", "");
    p.run(&["phase", "1"]).code(1);
    let statement: serde_json::Value =
        serde_json::from_str(&p.read("attestation.intoto.json")).expect("json");
    assert_eq!(statement["_type"], "https://in-toto.io/Statement/v1");
    assert_eq!(
        statement["predicateType"],
        "https://in-toto.io/attestation/test-result/v0.1"
    );
    let pred = &statement["predicate"];
    assert_eq!(pred["result"], "FAILED");
    // A gate blocked by a failed stage is no pass either.
    assert_eq!(
        pred["failedTests"],
        serde_json::json!([
            "phase-1/stage-00/b",
            "phase-1/stage-01/c",
            "phase-1/stage-02/d"
        ])
    );
    assert_eq!(pred["passedTests"], serde_json::json!([]));
    assert_eq!(
        pred["warnedTests"],
        serde_json::json!(["phase-1/stage-00/a"])
    );
    assert_eq!(pred["configuration"][0]["name"], "gates/phase-1/00.yaml");
    for s in statement["subject"].as_array().expect("subjects") {
        let name = s["name"].as_str().expect("name");
        assert_eq!(
            s["digest"]["sha256"].as_str(),
            Some(sha256_hex(&p.evidence(name)).as_str()),
            "{name}"
        );
    }
    let names: Vec<&str> = statement["subject"]
        .as_array()
        .expect("subjects")
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert!(names.contains(&"MANIFEST.json") && names.contains(&"phase-1/stage-00/results.json"));

    if !common::tool(
        "python3 jsonschema",
        &["python3", "-c", "import jsonschema"],
        "pip install jsonschema",
    ) {
        return;
    }
    let schema = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/in-toto-test-result-statement.schema.json");
    let validate = |doc: &serde_json::Value| {
        python_check(&p, doc, &["-c", VALIDATE, &schema.display().to_string()])
    };
    let (ok, why) = validate(&statement);
    assert!(ok, "{why}");
    // Passing evidence validates too, with result PASSED.
    std::fs::remove_file(p.path().join("fail-b")).expect("rm");
    p.run(&["phase", "1"]).code(0);
    let passed: serde_json::Value =
        serde_json::from_str(&p.read("attestation.intoto.json")).expect("json");
    assert_eq!(passed["predicate"]["result"], "PASSED");
    let (ok, why) = validate(&passed);
    assert!(ok, "{why}");
    // Near misses: each breaks the schema.
    let mut broken = statement_near_misses();
    broken.extend::<Vec<(&str, JsonEdit)>>(vec![
        (
            "no configuration",
            Box::new(|v| {
                v["predicate"]
                    .as_object_mut()
                    .expect("object")
                    .remove("configuration");
            }),
        ),
        (
            "no subject",
            Box::new(|v| v["subject"] = serde_json::json!([])),
        ),
        (
            "digest",
            Box::new(|v| v["subject"][0]["digest"]["sha256"] = "ABC".into()),
        ),
        (
            "no digest",
            Box::new(|v| {
                v["subject"][0]
                    .as_object_mut()
                    .expect("object")
                    .remove("digest");
            }),
        ),
    ]);
    for (name, breaks) in broken {
        let mut doc = passed.clone();
        breaks(&mut doc);
        let (ok, _) = validate(&doc);
        assert!(!ok, "{name}: validated");
    }

    // The in-toto project's own definitions: its Python package parses the Statement and the
    // predicate into its protobuf messages (no unknown field, every type right) and runs its
    // Statement validation (type, subjects, digests, predicate).
    if !common::tool(
        "python3 in_toto_attestation",
        &["python3", "-c", "import in_toto_attestation"],
        "pip install in-toto-attestation",
    ) {
        return;
    }
    let official = |doc: &serde_json::Value| python_check(&p, doc, &["-c", OFFICIAL]);
    for doc in [&statement, &passed] {
        let (ok, why) = official(doc);
        assert!(ok, "{why}");
    }
    let mut broken = statement_near_misses();
    broken.extend::<Vec<(&str, JsonEdit)>>(vec![
        (
            "unknown predicate field",
            Box::new(|v| v["predicate"]["passed"] = 1.into()),
        ),
        (
            "a test that is not a string",
            Box::new(|v| v["predicate"]["failedTests"] = serde_json::json!([1])),
        ),
        (
            "no subject",
            Box::new(|v| v["subject"] = serde_json::json!([])),
        ),
        (
            "digest not a map",
            Box::new(|v| v["subject"][0]["digest"] = "xyz".into()),
        ),
    ]);
    for (name, breaks) in broken {
        let mut doc = passed.clone();
        breaks(&mut doc);
        let (ok, _) = official(&doc);
        assert!(!ok, "{name}: accepted by in_toto_attestation");
    }
}

/// Statements both validations must refuse: another Statement type, a result outside the
/// spec's three.
fn statement_near_misses() -> Vec<(&'static str, JsonEdit)> {
    vec![
        (
            "type",
            Box::new(|v| v["_type"] = "https://in-toto.io/Statement/v0.1".into()),
        ),
        (
            "result",
            Box::new(|v| v["predicate"]["result"] = "OK".into()),
        ),
    ]
}

/// `python3 <args> <file>` on `doc` written to a file: whether it exits 0, and what it printed.
fn python_check(p: &Project, doc: &serde_json::Value, args: &[&str]) -> (bool, String) {
    let path = p.path().join("statement.json");
    std::fs::write(&path, serde_json::to_string(doc).expect("json")).expect("write");
    let out = Command::new("python3")
        .args(args)
        .arg(&path)
        .output()
        .expect("python3");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

/// Validate a Statement (argv 1) with the in-toto attestation package: strict protobuf parsing
/// of the Statement and of the test-result predicate, the package's Statement validation, and
/// the predicate's result one of the spec's three values.
const OFFICIAL: &str = r#"
import json, sys
from google.protobuf import json_format
from in_toto_attestation.v1 import statement_pb2
from in_toto_attestation.v1.statement import Statement
from in_toto_attestation.predicates.test_result.v0 import test_result_pb2
text = open(sys.argv[1]).read()
st = json_format.Parse(text, statement_pb2.Statement())
Statement.copy_from_pb(st).validate()
doc = json.loads(text)
if doc.get("predicateType") != "https://in-toto.io/attestation/test-result/v0.1":
    sys.exit("predicateType")
pred = json_format.Parse(json.dumps(doc["predicate"]), test_result_pb2.TestResult())
if pred.result not in ("PASSED", "WARNED", "FAILED"):
    sys.exit("result " + pred.result)
"#;

/// Validate a JSON document (argv 2) against a JSON Schema (argv 1), draft 2020-12.
const VALIDATE: &str = r#"
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
doc = json.load(open(sys.argv[2]))
jsonschema.Draft202012Validator.check_schema(schema)
v = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
errors = list(v.iter_errors(doc))
for e in errors:
    print("/".join(map(str, e.path)) + ": " + e.message)
sys.exit(1 if errors else 0)
"#;

/// A reviewer's `verify` away from the project (a downloaded artifact): it says the stage files
/// were not checked, and why, instead of `ok … and the stage files`; `verify .` names `.`; a
/// DIR that is a link is refused as one, not as "not an evidence directory".
#[test]
fn verify_away_from_the_project_says_what_it_did_not_check() {
    let p = project();
    p.run(&["phase", "1"]).code(0);
    // The near miss: from the project, the stage files are checked and said so.
    let home = verify(&p, "evidence");
    home.code(0);
    assert!(
        home.stdout.contains("and the stage files"),
        "{}",
        home.stdout
    );
    let away = tempfile::tempdir().expect("tempdir");
    let copy = away.path().join("evidence");
    assert!(
        Command::new("cp")
            .arg("-a")
            .arg(p.path().join("evidence"))
            .arg(&copy)
            .status()
            .expect("cp")
            .success()
    );
    let run = |dir: &Path, arg: &str| {
        let out = Command::new(common::bin())
            .args(["verify", arg])
            .current_dir(dir)
            .env_remove("GITHUB_ACTIONS")
            .output()
            .expect("gaterun");
        Run::from(out)
    };
    let v = run(away.path(), "evidence");
    v.code(0);
    assert!(
        v.stdout.starts_with("ok: ") && v.stdout.contains("stage files not checked"),
        "{}",
        v.stdout
    );
    assert!(v.stderr.contains("no gates directory"), "{}", v.stderr);
    let dot = run(&copy, ".");
    dot.code(0);
    assert!(
        dot.stdout.contains("the evidence in . agrees"),
        "{}",
        dot.stdout
    );
    std::os::unix::fs::symlink(&copy, away.path().join("link")).expect("symlink");
    let link = run(away.path(), "link");
    link.code(2);
    assert!(
        link.stderr.contains("link is a symbolic link"),
        "{}",
        link.stderr
    );
}

/// `verify` and `merge` work without valid stage files, and then still find the evidence
/// where gaterun.yaml puts it (one rule for the project's directories); without the setting,
/// `evidence/`.
#[test]
fn without_valid_stage_files_the_configured_evidence_directory_is_the_one_read() {
    let p = Project::new();
    p.file("gaterun.yaml", "evidence: out\n");
    p.stage(
        "phase-1/00.yaml",
        "stage: 0\nname: Zero\ngates:\n  - {id: a, title: t, run: 'true'}\n",
    );
    p.run(&["stage", "0"]).code(0);
    assert!(p.path().join("out/phase-1/stage-00/results.json").is_file());
    // A shard to merge, before the stage files break.
    copy_dir(&p.path().join("out"), &p.path().join("shard"));
    p.stage("phase-1/01.yaml", "stage: [\n");
    let run = p.run(&["verify"]);
    run.code(0);
    assert!(
        run.stdout.contains("ok: the evidence in out agrees"),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr.contains("the stage files did not load"),
        "{}",
        run.stderr
    );
    // The near miss: evidence/ is not where this project's evidence is.
    assert!(!p.path().join("evidence").exists());
    let merged = p.run(&["merge", "shard"]);
    merged.code(0);
    assert!(merged.stdout.contains("into "), "{}", merged.stdout);
    assert!(
        merged
            .stdout
            .contains(&format!("{}", p.path().join("out").display())),
        "{}",
        merged.stdout
    );
    assert!(!p.path().join("evidence").exists(), "merge wrote evidence/");

    // Without the setting: evidence/, and `out` is not looked at.
    std::fs::write(p.path().join("gaterun.yaml"), "{}\n").expect("write");
    let run = p.run(&["verify"]);
    run.code(2);
    assert!(
        run.stderr.contains("evidence is not an evidence directory"),
        "{}",
        run.stderr
    );
}

/// The note `verify` prints when the stage files do not load quotes the first error, which may
/// quote a crafted key: it stays one inert line, never a workflow command of its own.
#[test]
fn a_crafted_stage_file_quoted_by_verify_stays_one_line() {
    let p = Project::new();
    p.stage(
        "phase-1/00.yaml",
        "stage: 0\nname: x\n\"a\\n::error::crafted\": 1\ngates: []\n",
    );
    let run = p.run(&["verify"]);
    assert!(
        run.stderr.lines().all(|l| !l.starts_with("::")),
        "{}",
        run.stderr
    );
    // The key is still named, escaped.
    assert!(
        run.stderr.contains("unknown key 'a\\u{a}::error::crafted'"),
        "{}",
        run.stderr
    );
}
