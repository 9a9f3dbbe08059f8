//! `gaterun merge` reads downloaded shards: whatever a shard holds, nothing outside it is read
//! and nothing outside the target evidence directory is written.

mod common;

use std::path::Path;

use common::Project;

/// A real shard of one gate, then `edit` applied to its results.json or files.
fn shard(p: &Project, name: &str) -> std::path::PathBuf {
    p.stage(
        "s.yaml",
        "stage: 0\nname: S\ngates:\n  - id: a\n    title: t\n    run: echo from-the-gate\n",
    );
    p.run(&["stage", "0", "--shard", "1/1", "--evidence", name])
        .code(0);
    p.path().join(name).join("phase-1/stage-00/partial")
}

/// What a case does to a shard.
type Edit = Box<dyn Fn(&Path)>;

fn set_log(dir: &Path, log: &str) {
    let path = dir.join("results.json");
    let mut r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
    r["gates"][0]["log"] = serde_json::Value::String(log.to_owned());
    std::fs::write(path, serde_json::to_string(&r).expect("json")).expect("write");
}

#[test]
fn crafted_shards_are_refused_and_nothing_outside_is_touched() {
    let p = Project::new();
    let secret = p.path().join("dotenv");
    std::fs::write(&secret, "TOKEN=outside-the-shard\n").expect("write");
    let victim = p.path().join("victim.txt");
    std::fs::write(&victim, "untouched\n").expect("write");
    let cases: Vec<(&str, Edit, &str)> = vec![
        (
            "absolute",
            Box::new(|d: &Path| set_log(d, "/etc/passwd")),
            "names its log",
        ),
        (
            "parent",
            Box::new(|d: &Path| set_log(d, "../../../../victim.txt")),
            "names its log",
        ),
        (
            "symlinked-log",
            Box::new({
                let secret = secret.clone();
                move |d: &Path| {
                    std::fs::remove_file(d.join("logs/a.log")).expect("rm");
                    std::os::unix::fs::symlink(&secret, d.join("logs/a.log")).expect("ln");
                }
            }),
            "a symbolic link in a shard is never followed",
        ),
        (
            "dev-zero",
            Box::new(|d: &Path| {
                std::fs::remove_file(d.join("logs/a.log")).expect("rm");
                std::os::unix::fs::symlink("/dev/zero", d.join("logs/a.log")).expect("ln");
            }),
            "a symbolic link in a shard is never followed",
        ),
        (
            "symlinked-results",
            Box::new({
                let secret = secret.clone();
                move |d: &Path| {
                    std::fs::remove_file(d.join("results.json")).expect("rm");
                    std::os::unix::fs::symlink(&secret, d.join("results.json")).expect("ln");
                }
            }),
            "a symbolic link in a shard is never followed",
        ),
        (
            "bad-id",
            Box::new(|d: &Path| {
                let path = d.join("results.json");
                let mut r: serde_json::Value =
                    serde_json::from_str(&std::fs::read_to_string(&path).expect("read"))
                        .expect("json");
                r["gates"][0]["id"] = "../../x".into();
                r["gates"][0]["log"] = "logs/../../x.log".into();
                std::fs::write(path, serde_json::to_string(&r).expect("json")).expect("write");
            }),
            "invalid gate id",
        ),
    ];
    for (name, edit, error) in cases {
        let dir = shard(&p, name);
        edit(&dir);
        let target = format!("merged-{name}");
        let out = p.run(&["merge", name, "--evidence", &target]);
        assert_eq!(out.code, 2, "{name}: {}{}", out.stdout, out.stderr);
        assert!(out.stderr.contains(error), "{name}: {}", out.stderr);
        // At most the evidence lock was made: no evidence from the refused shard.
        let written: Vec<String> = std::fs::read_dir(p.path().join(&target))
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| n != ".gaterun.lock")
                    .collect()
            })
            .unwrap_or_default();
        assert!(written.is_empty(), "{name}: wrote {written:?}");
        assert_eq!(
            std::fs::read_to_string(&victim).expect("victim"),
            "untouched\n",
            "{name}"
        );
    }
    // The near miss: the same shard, untouched, merges, and its log is read.
    shard(&p, "clean");
    p.run(&["merge", "clean", "--evidence", "merged-clean"])
        .code(0);
    let junit = std::fs::read_to_string(p.path().join("merged-clean/junit.xml")).expect("junit");
    assert!(!junit.contains("outside-the-shard"));
}

/// A symbolic link planted in evidence/ as the lock or the history is never followed: its
/// target is neither truncated nor appended to.
#[test]
fn symlinks_planted_in_evidence_are_not_followed() {
    for planted in [".gaterun.lock", "history.jsonl"] {
        let p = Project::new();
        p.stage(
            "s.yaml",
            "stage: 0\nname: S\ngates:\n  - id: a\n    title: t\n    run: 'true'\n",
        );
        let victim = p.path().join("victim.txt");
        std::fs::write(&victim, "untouched\n").expect("write");
        std::fs::create_dir_all(p.path().join("evidence")).expect("mkdir");
        std::os::unix::fs::symlink(&victim, p.path().join("evidence").join(planted)).expect("ln");
        let out = p.run(&["stage", "0"]);
        assert_ne!(out.code, 0, "{planted}: {}{}", out.stdout, out.stderr);
        assert_eq!(
            std::fs::read_to_string(&victim).expect("victim"),
            "untouched\n",
            "{planted}"
        );
    }
}

/// Shards of one stage run from different stage files are refused, naming the stage and the
/// directories; shards of one definition merge.
#[test]
fn shards_of_different_definitions_are_refused() {
    let p = Project::new();
    // Twelve gates, so each of two shards has some.
    let stage = |title: &str| {
        let mut y = String::from("stage: 0\nname: S\ngates:\n");
        for i in 0..12 {
            y.push_str(&format!(
                "  - id: g{i}\n    title: {title}\n    run: 'true'\n"
            ));
        }
        y
    };
    p.stage("s.yaml", &stage("first"));
    p.run(&["stage", "0", "--shard", "1/2", "--evidence", "one"])
        .code(0);
    p.stage("s.yaml", &stage("second"));
    p.run(&["stage", "0", "--shard", "2/2", "--evidence", "two"])
        .code(0);
    let out = p.run(&["merge", "one", "two", "--evidence", "merged"]);
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains("refusing to merge stage 0 of phase 1")
            && out.stderr.contains("one/phase-1/stage-00")
            && out.stderr.contains("two/phase-1/stage-00"),
        "{}",
        out.stderr
    );
    assert!(!p.path().join("merged/phase-1").exists());
    // The near miss: both shards of one definition merge into a full result.
    p.run(&["stage", "0", "--shard", "1/2", "--evidence", "one"])
        .code(0);
    p.run(&["merge", "one", "two", "--evidence", "merged"])
        .code(0);
    assert!(
        p.path()
            .join("merged/phase-1/stage-00/results.json")
            .is_file()
    );
}

/// A crafted shard's refusal quotes what the shard holds: under `--github` that quote reaches
/// stderr, which the runner reads too, and must not become a workflow command.
#[test]
fn a_refused_shard_quotes_nothing_the_runner_would_run() {
    let p = Project::new();
    let dir = shard(&p, "evil");
    let path = dir.join("results.json");
    let mut r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
    r["gates"][0]["id"] = "x ##[add-mask]gates ::set-output name=a::b".into();
    std::fs::write(&path, serde_json::to_string(&r).expect("json")).expect("write");
    let out = p.run(&["merge", "evil", "--evidence", "merged", "--github"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("invalid gate id"), "{}", out.stderr);
    for line in out.stderr.lines().chain(out.stdout.lines()) {
        assert!(
            !line.contains("##[") && !line.trim_start().starts_with("::"),
            "{line}"
        );
    }
}
