//! Issue 15: the PID-namespace fallback (`--containment pid-namespace`). Each way a
//! process escaped the token search, 50 runs of its gate (`--repeat 50`), once as the user
//! running the tests (root in CI) and once as `nobody` through `runuser` (user + PID
//! namespaces): 0 survivors, 0 hangs, exit 0 (130 for Ctrl-C). Survivors are found by a
//! per-test random number in every process's command line after the run.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{Run, processes_with, run_guarded};

const RUNS: u32 = 50;
/// A hang guard for 50 runs of a gate, not a timing assertion.
const LIMIT: Duration = Duration::from_secs(300);
const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

#[derive(Clone, Copy, Debug)]
enum Who {
    /// The user running the tests.
    Me,
    /// `runuser -u nobody`.
    Nobody,
}

const BOTH: [Who; 2] = [Who::Me, Who::Nobody];

/// Whether `who` may make the namespaces here (`unshare`); a printed reason when not, a failure
/// under CI=true.
fn usable(who: Who) -> bool {
    let root = rustix::process::geteuid().is_root();
    let why = match who {
        Who::Nobody if !root => Some("runuser -u nobody needs root".to_owned()),
        Who::Nobody if Command::new("runuser").arg("--version").output().is_err() => {
            Some("runuser not found".to_owned())
        }
        _ => {
            let mut c = match who {
                Who::Me => Command::new("unshare"),
                Who::Nobody => {
                    let mut c = Command::new("runuser");
                    c.args(["-u", "nobody", "--", "unshare"]);
                    c
                }
            };
            if !(root && matches!(who, Who::Me)) {
                c.args(["-U", "--map-current-user"]);
            }
            let ok = c
                .args(["-pf", "true"])
                .output()
                .is_ok_and(|o| o.status.success());
            (!ok).then(|| format!("{who:?}: PID namespaces are not available (unshare -pf)"))
        }
    };
    match why {
        None => true,
        Some(why) => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "required under CI: {why}"
            );
            eprintln!("skipping: {why}");
            false
        }
    }
}

/// A project in a fresh world-readable directory (owned by nobody for `Who::Nobody`, with its
/// own copy of the binary: nobody cannot read every checkout's target dir).
struct Setup {
    who: Who,
    _dir: tempfile::TempDir,
    root: PathBuf,
    bin: PathBuf,
    marker: String,
}

impl Setup {
    /// `gates/s.yaml` holds `yaml` with `@M@` replaced by the marker; `scripts` are
    /// executable files (name and text, `@M@` replaced in both).
    fn new(who: Who, yaml: &str, scripts: &[(&str, &str)]) -> Setup {
        let marker = common::marker();
        let dir = tempfile::Builder::new()
            .prefix("gaterun-pidns-")
            .tempdir()
            .expect("temp dir");
        let root = dir.path().join("project");
        std::fs::create_dir_all(root.join("gates")).expect("mkdir");
        std::fs::write(root.join("gates/s.yaml"), yaml.replace("@M@", &marker)).expect("write");
        for (name, text) in scripts {
            let path = root.join(name.replace("@M@", &marker));
            std::fs::write(&path, text.replace("@M@", &marker)).expect("write script");
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        }
        let bin = match who {
            Who::Me => common::bin(),
            Who::Nobody => {
                let bin = dir.path().join("bin/gaterun");
                std::fs::create_dir_all(bin.parent().expect("parent")).expect("mkdir");
                std::fs::copy(common::bin(), &bin).expect("copy gaterun");
                bin
            }
        };
        // A temp root of its own: runs judge other runs by the locks in their TMPDIR, so a run
        // of another test (or checkout) never sweeps this test's killed run before it looks.
        std::fs::create_dir_all(dir.path().join("tmp")).expect("mkdir tmp");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
            .expect("chmod");
        if let Who::Nobody = who {
            chown_nobody(dir.path());
        }
        Setup {
            who,
            _dir: dir,
            root,
            bin,
            marker,
        }
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = match self.who {
            Who::Me => Command::new(&self.bin),
            Who::Nobody => {
                let mut c = Command::new("runuser");
                c.args(["-u", "nobody", "--"]).arg(&self.bin);
                c
            }
        };
        c.args(args);
        if !args.contains(&"--containment") {
            c.args(["--containment", "pid-namespace"]);
        }
        c.current_dir(&self.root)
            .env("TMPDIR", self._dir.path().join("tmp"))
            .env_remove("GITHUB_ACTIONS")
            .env("NO_COLOR", "1")
            .env("PATH", PATH);
        c
    }

    /// `stage 0 --repeat 50`, guarded against a hang.
    fn run(&self) -> Run {
        let repeat = RUNS.to_string();
        run_guarded(&mut self.cmd(&["stage", "0", "--repeat", &repeat]), LIMIT).0
    }

    /// The processes carrying the marker: several looks over half a second, so a process that
    /// re-forks itself all the time cannot slip between them. Killed, so a failure leaves none.
    fn survivors(&self) -> Vec<String> {
        let mut found = Vec::new();
        for _ in 0..5 {
            for p in processes_with(&self.marker) {
                if let Some(pid) = p.split(':').next().and_then(|p| p.parse::<i32>().ok())
                    && let Some(pid) = rustix::process::Pid::from_raw(pid)
                {
                    let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
                }
                found.push(p);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        found
    }

    /// `stage 0` started, its output discarded.
    fn start(&self) -> std::process::Child {
        self.cmd(&["stage", "0"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn gaterun")
    }

    /// `stage 0` started; once its gate has made the file `started`, gaterun gets `signal`.
    /// Returns how the command ended.
    fn signalled_once_started(&self, signal: rustix::process::Signal) -> std::process::ExitStatus {
        let _ = std::fs::remove_file(self.file("started"));
        let mut child = self.start();
        common::wait_for_file(&self.file("started"));
        let gaterun = gaterun_pid(&child);
        rustix::process::kill_process(
            rustix::process::Pid::from_raw(gaterun).expect("pid"),
            signal,
        )
        .expect("signal gaterun");
        wait_guarded(&mut child)
    }

    fn file(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }
}

fn chown_nobody(path: &Path) {
    let (uid, gid) = nobody_ids();
    std::os::unix::fs::chown(path, Some(uid), Some(gid)).expect("chown");
    if path.is_dir() {
        for e in std::fs::read_dir(path).expect("read dir").flatten() {
            chown_nobody(&e.path());
        }
    }
}

fn nobody_ids() -> (u32, u32) {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    passwd
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            if f.first() != Some(&"nobody") {
                return None;
            }
            Some((f.get(2)?.parse().ok()?, f.get(3)?.parse().ok()?))
        })
        .unwrap_or((65534, 65534))
}

/// 50 runs of one gate as `who`: exit 0, the gate passed every time, no process left.
fn case(who: Who, yaml: &str, scripts: &[(&str, &str)]) {
    if !usable(who) {
        return;
    }
    let s = Setup::new(who, yaml, scripts);
    let run = s.run();
    let survivors = s.survivors();
    run.code(0);
    assert_eq!(survivors, Vec::<String>::new(), "{who:?}: survivors");
    let results = std::fs::read_to_string(s.root.join("evidence/phase-1/stage-00/results.json"))
        .expect("results.json");
    assert!(
        results.contains(r#""status": "passed""#),
        "{who:?}: {results}"
    );
}

/// Without `--containment`, an unprivileged run (no cgroup it may make) takes the PID
/// namespace, says so at start and in results.json, and holds what escapes the token search.
#[test]
fn auto_takes_the_pid_namespace_for_an_unprivileged_user() {
    if !usable(Who::Nobody) {
        return;
    }
    let s = Setup::new(
        Who::Nobody,
        "stage: 0\nname: S\ngates:\n  - id: envi\n    title: t\n    run: 'env -i setsid sh -c \"exec sleep 7@M@\" & sleep 0.1'\n",
        &[],
    );
    let (run, _) = run_guarded(&mut s.cmd(&["stage", "0", "--containment", "auto"]), LIMIT);
    let survivors = s.survivors();
    run.code(0);
    assert!(
        run.stderr
            .contains("processes contained by a PID namespace per gate (in a user namespace)"),
        "{}",
        run.stderr
    );
    assert_eq!(survivors, Vec::<String>::new(), "survivors");
    let results: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(s.root.join("evidence/phase-1/stage-00/results.json"))
            .expect("results.json"),
    )
    .expect("json");
    assert_eq!(results["containment"], "pid-namespace");
}

/// `"$0" & exit 0` after setsid: a process that is never the same pid for long.
#[test]
fn a_process_that_reforks_itself_over_and_over_dies_with_its_gate() {
    for who in BOTH {
        case(
            who,
            "stage: 0\nname: S\ngates:\n  - id: refork\n    title: t\n    run: 'setsid \"$PROJECT_ROOT/refork-@M@.sh\" & sleep 0.1'\n",
            &[("refork-@M@.sh", "#!/bin/sh\n\"$0\" & exit 0\n")],
        );
    }
}

/// A daemon that overwrites its environment block with its title (perl `$0`), and one
/// started under another name (`exec -a`).
#[test]
fn a_daemon_that_sets_its_title_dies_with_its_gate() {
    if !common::tool("perl", &["perl", "-e", "1"], "apt-get install perl") {
        return;
    }
    for who in BOTH {
        case(
            who,
            "stage: 0\nname: S\ngates:\n  - id: title\n    title: t\n    run: |\n      setsid perl -e '$0 = \"@M@ \" . (\"x\" x 3000); sleep 987' &\n      setsid bash -c 'exec -a @M@-renamed sleep 987' &\n      sleep 0.1\n",
            &[],
        );
    }
}

/// A process that turns non-dumpable: a non-root run cannot read its environment.
#[test]
fn a_non_dumpable_daemon_dies_with_its_gate() {
    if !common::tool(
        "python3",
        &["/usr/bin/python3", "--version"],
        "apt-get install python3",
    ) {
        return;
    }
    for who in BOTH {
        case(
            who,
            "stage: 0\nname: S\ngates:\n  - id: hidden\n    title: t\n    run: |\n      setsid /usr/bin/python3 -c 'import ctypes, time; ctypes.CDLL(None).prctl(4, 0, 0, 0, 0); time.sleep(987)' @M@ &\n      sleep 0.2\n",
            &[],
        );
    }
}

/// What a readiness `run:` probe leaves behind (in its process group, which gaterun never
/// recorded, with no token; and after setsid), and the service itself.
#[test]
fn what_a_readiness_probe_starts_dies_with_its_gate() {
    for who in BOTH {
        case(
            who,
            "stage: 0\nname: S\ngates:\n  - id: probe\n    title: t\n    services:\n      api:\n        run: 'sleep @M@1'\n        ready: { run: 'env -i sleep @M@2 & setsid sleep @M@3 & true' }\n    steps:\n      - run: 'true'\n",
            &[],
        );
    }
}

/// `env -i setsid`: no token in its environment at all.
#[test]
fn an_env_cleared_setsid_daemon_dies_with_its_gate() {
    for who in BOTH {
        case(
            who,
            "stage: 0\nname: S\ngates:\n  - id: envi\n    title: t\n    run: 'env -i setsid sh -c \"sleep @M@\" & sleep 0.05'\n",
            &[],
        );
    }
}

/// A daemon started after the pid counter wrapped: the test moves the machine's counter back
/// (root only) between the gate's start and the daemon's, and checks the daemon got a pid
/// below gaterun's own.
#[test]
fn a_daemon_started_after_the_pid_counter_wraps_dies_with_its_gate() {
    if !rustix::process::geteuid().is_root() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "required under CI: root, to move the pid counter"
        );
        eprintln!("skipping: moving the pid counter (/proc/sys/kernel/ns_last_pid) needs root");
        return;
    }
    let yaml = "stage: 0\nname: S\ngates:\n  - id: wrap\n    title: t\n    run: |\n      touch \"$PROJECT_ROOT/ready\"\n      while [ ! -e \"$PROJECT_ROOT/go\" ]; do sleep 0.01; done\n      setsid sleep @M@ &\n      touch \"$PROJECT_ROOT/spawned\"\n      while [ ! -e \"$PROJECT_ROOT/checked\" ]; do sleep 0.01; done\n";
    for who in BOTH {
        if !usable(who) {
            continue;
        }
        let mut wrapped = 0;
        let s = Setup::new(who, yaml, &[]);
        for _ in 0..RUNS {
            for f in ["ready", "go", "spawned", "checked"] {
                let _ = std::fs::remove_file(s.file(f));
            }
            let mut child = s.start();
            common::wait_for_file(&s.file("ready"));
            // The next pids handed out on the machine start again above 300 — until the daemon
            // has one: then the counter goes back where it was, so other runs on the machine
            // see no more of a wrap than this.
            let counter = "/proc/sys/kernel/ns_last_pid";
            let before = std::fs::read_to_string(counter).expect("read the counter");
            std::fs::write(counter, "300").expect("move the counter");
            std::fs::write(s.file("go"), "").expect("go");
            common::wait_for_file(&s.file("spawned"));
            let _ = std::fs::write(counter, before.trim());
            let gaterun = gaterun_pid(&child);
            // The daemon (once it has exec'd), not the gate's script, which names it too.
            let deadline = Instant::now() + Duration::from_secs(10);
            let daemons = loop {
                let daemons: Vec<i32> = processes_with(&s.marker)
                    .iter()
                    .filter(|p| p.contains(&format!(": sleep {} ", s.marker)))
                    .filter_map(|p| p.split(':').next()?.parse().ok())
                    .collect();
                if !daemons.is_empty() || Instant::now() > deadline {
                    break daemons;
                }
                std::thread::sleep(Duration::from_millis(5));
            };
            assert!(!daemons.is_empty(), "{who:?}: the daemon did not start");
            if daemons.iter().all(|d| *d < gaterun) {
                wrapped += 1;
            }
            std::fs::write(s.file("checked"), "").expect("checked");
            let status = wait_guarded(&mut child);
            assert_eq!(status.code(), Some(0), "{who:?}");
            assert_eq!(s.survivors(), Vec::<String>::new(), "{who:?}: survivors");
        }
        eprintln!("{who:?}: the daemon's pid was below gaterun's in {wrapped}/{RUNS} runs");
        // Another process may take the low pids first now and then; most runs must wrap.
        assert!(
            wrapped > RUNS / 2,
            "{who:?}: the daemon's pid was below gaterun's in only {wrapped} runs"
        );
    }
}

/// gaterun's pid: the child itself, or runuser's child.
fn gaterun_pid(child: &std::process::Child) -> i32 {
    let pid = child.id() as i32;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        if comm.trim() == "gaterun" {
            return pid;
        }
        let kids =
            std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
        if let Some(kid) = kids.split_whitespace().find_map(|k| k.parse::<i32>().ok()) {
            let comm = std::fs::read_to_string(format!("/proc/{kid}/comm")).unwrap_or_default();
            if comm.trim() == "gaterun" {
                return kid;
            }
        }
        assert!(Instant::now() < deadline, "gaterun never started");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn wait_guarded(child: &mut std::process::Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("gaterun did not finish within 60 s: a hang");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Ctrl-C mid-gate, with every kind of escaper running: exit 130, evidence marked
/// interrupted, no process left.
#[test]
fn ctrl_c_mid_gate_leaves_no_process() {
    if !common::tool("perl", &["perl", "-e", "1"], "apt-get install perl")
        || !common::tool(
            "python3",
            &["/usr/bin/python3", "--version"],
            "apt-get install python3",
        )
    {
        return;
    }
    let yaml = "stage: 0\nname: S\ngates:\n  - id: busy\n    title: t\n    run: |\n      setsid \"$PROJECT_ROOT/refork-@M@.sh\" &\n      env -i setsid sh -c 'sleep @M@' &\n      setsid perl -e '$0 = \"@M@ \" . (\"x\" x 3000); sleep 987' &\n      setsid /usr/bin/python3 -c 'import ctypes, time; ctypes.CDLL(None).prctl(4, 0, 0, 0, 0); time.sleep(987)' @M@ &\n      touch \"$PROJECT_ROOT/started\"\n      sleep @M@\n";
    let scripts = [("refork-@M@.sh", "#!/bin/sh\n\"$0\" & exit 0\n")];
    for who in BOTH {
        if !usable(who) {
            continue;
        }
        let s = Setup::new(who, yaml, &scripts);
        for _ in 0..RUNS {
            let status = s.signalled_once_started(rustix::process::Signal::INT);
            assert_eq!(status.code(), Some(130), "{who:?}");
            assert_eq!(s.survivors(), Vec::<String>::new(), "{who:?}: survivors");
            let results =
                std::fs::read_to_string(s.root.join("evidence/phase-1/stage-00/results.json"))
                    .expect("results.json");
            assert!(
                results.contains(r#""status": "interrupted""#),
                "{who:?}: {results}"
            );
        }
    }
}

/// gaterun SIGKILLed mid-gate cannot stop anything; the gate's namespace (a non-dumpable
/// daemon in it) lives on until the next run starts, whose sweep of dead runs' processes kills
/// pid 1 (it carries the dead run's token), and with it the namespace.
#[test]
fn the_next_run_kills_the_namespace_of_a_sigkilled_run() {
    if !common::tool(
        "python3",
        &["/usr/bin/python3", "--version"],
        "apt-get install python3",
    ) {
        return;
    }
    let yaml = "stage: 0\nname: S\ngates:\n  - id: busy\n    title: t\n    run: |\n      setsid /usr/bin/python3 -c 'import ctypes, time; ctypes.CDLL(None).prctl(4, 0, 0, 0, 0); time.sleep(987)' @M@ &\n      env -i setsid sh -c 'sleep @M@' &\n      touch \"$PROJECT_ROOT/started\"\n      sleep @M@\n";
    for who in BOTH {
        if !usable(who) {
            continue;
        }
        let s = Setup::new(who, yaml, &[]);
        std::fs::write(
            s.file("gates/t.yaml"),
            "stage: 1\nname: T\ngates:\n  - id: t\n    title: t\n    run: 'true'\n",
        )
        .expect("write");
        if let Who::Nobody = who {
            chown_nobody(&s.file("gates/t.yaml"));
        }
        for _ in 0..10 {
            let _ = s.signalled_once_started(rustix::process::Signal::KILL);
            assert!(
                !processes_with(&s.marker).is_empty(),
                "{who:?}: the killed run's processes should still be there"
            );
            let (run, _) = run_guarded(&mut s.cmd(&["stage", "1", "--prereqs", "ignore"]), LIMIT);
            run.code(0);
            assert_eq!(s.survivors(), Vec::<String>::new(), "{who:?}: survivors");
        }
    }
}

/// What a gate sees in its namespace, and what gaterun sees of its commands: statuses and
/// signals as without it, a missing program named, and one namespace for all of a gate's
/// commands (a pid written by one step is the process in the next; `/proc` agrees with `$$`).
#[test]
fn commands_behave_as_before_and_share_the_gates_namespace() {
    let yaml = r#"stage: 0
name: S
gates:
  - id: code
    title: t
    run: 'exit 3'
    expect: { exit: 3 }
  - id: signalled
    title: t
    run: ['/bin/sh', '-c', 'kill -USR1 $$']
  - id: missing
    title: t
    run: ['/nonexistent-@M@']
  - id: shared
    title: t
    steps:
      - run: 'setsid sleep @M@ & echo $! > "$GATE_TMP/pid"; test "$$" -lt 50 && test "$(cat /proc/$$/comm)" = sh'
      - run: 'pid=$(cat "$GATE_TMP/pid"); grep -q @M@ /proc/$pid/cmdline && kill $pid && while kill -0 $pid 2>/dev/null; do sleep 0.01; done'
      - run: 'test "$(ps -e -o comm= | grep -c sleep)" = 0'
"#;
    for who in BOTH {
        if !usable(who) {
            continue;
        }
        let s = Setup::new(who, yaml, &[]);
        let (run, _) = run_guarded(&mut s.cmd(&["stage", "0"]), LIMIT);
        run.code(1);
        let results: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(s.root.join("evidence/phase-1/stage-00/results.json"))
                .expect("results.json"),
        )
        .expect("results.json parses");
        let gate = |id: &str| {
            results["gates"]
                .as_array()
                .and_then(|g| g.iter().find(|g| g["id"] == id))
                .cloned()
                .unwrap_or_default()
        };
        assert_eq!(
            gate("code")["status"],
            "passed",
            "{who:?}: {}",
            gate("code")
        );
        assert_eq!(
            gate("signalled")["message"],
            "expected exit 0, got killed by signal 10",
            "{who:?}"
        );
        assert_eq!(
            gate("missing")["message"],
            format!(
                "failed to start `/nonexistent-{}`: No such file or directory (os error 2)",
                s.marker
            ),
            "{who:?}"
        );
        assert_eq!(
            gate("shared")["status"],
            "passed",
            "{who:?}: {}",
            gate("shared")
        );
        assert_eq!(s.survivors(), Vec::<String>::new(), "{who:?}: survivors");
    }
}

/// A gate that signals pid 1 of its namespace every way it can (the kernel drops SIGSTOP and
/// SIGKILL sent to it from inside; pid 1 acts only on gaterun's SIGTERM), with a daemon that
/// ignores SIGTERM and a loop sending SIGTERM to pid 1 until the end.
#[test]
fn a_gate_that_signals_its_pid_1_leaves_nothing() {
    for who in BOTH {
        case(
            who,
            "stage: 0\nname: S\ngates:\n  - id: init\n    title: t\n    grace: 300ms\n    run: |\n      setsid sh -c 'trap \"\" TERM; exec sleep 7@M@' &\n      for s in STOP TERM HUP INT QUIT USR1 KILL; do kill -$s 1 2>/dev/null; done\n      kill -TERM -1 2>/dev/null\n      setsid sh -c 'while :; do kill -TERM 1 2>/dev/null; done; : @M@' &\n      sleep 0.2\n",
            &[],
        );
    }
}
