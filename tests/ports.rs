//! Ports nobody shares: concurrent gaterun runs whose services bind their ports for real.

mod common;

use std::collections::HashSet;

use common::{Project, processes_with};

/// Answers every request with the gate's id. Binds without SO_REUSEADDR, so a port anyone
/// else holds makes it fail loudly (EADDRINUSE, exit 1) instead of sharing.
const ECHO_ID: &str = r#"
import os, socket, sys
port = int(os.environ["PORT"])
s = socket.socket()
try:
    s.bind(("127.0.0.1", port))
except OSError:
    # Who has the port, for the record (`ss` where it exists), then fail loudly.
    os.system("ss -tanpe '( sport = :%d )' 2>&1" % port)
    raise
s.listen(64)
print("listening on", port, flush=True)
me = os.environ["GATE_ID"].encode()
while True:
    c, _ = s.accept()
    try:
        c.recv(4096)
        c.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(me), me))
    except OSError:
        pass
    c.close()
"#;

const RUNS: usize = 3;
const GATES: usize = 120;

/// The acceptance test of issue 13: three gaterun runs at once, 120 gates each, every gate
/// starting a service that binds its leased port and answers with its own gate id, and
/// checking that it got its own id. Wants 0 port collisions (no service fails to bind) and
/// 0 wrong passes (every gate passes, each on its own service's answer).
///
/// Five times in a row:
///
/// ```sh
/// for i in 1 2 3 4 5; do cargo test --test ports -- --nocapture three_concurrent_runs 2>&1 | grep -E '^(runs:|test result)'; done
/// ```
#[test]
fn three_concurrent_runs_of_120_gates_share_no_port() {
    if !common::python3() {
        return;
    }
    // Unique to this test process: the same test running elsewhere on the machine (another
    // checkout) must not count as our leftovers.
    let marker = format!("--marker-three-runs-{}", std::process::id());
    let projects: Vec<Project> = (0..RUNS)
        .map(|r| {
            let p = Project::new();
            p.file("echo_id.py", ECHO_ID);
            let mut yaml = format!("stage: 0\nname: Ports {r}\ngates:\n");
            for g in 0..GATES {
                let id = format!("r{r}-g{g}");
                yaml.push_str(&format!(
                    r#"  - id: {id}
    title: the service on my port is mine
    services:
      echo:
        run: python3 "$PROJECT_ROOT/echo_id.py" {marker}
        ready: {{ http: "${{ECHO_URL}}/", timeout: 60s }}
    http: ${{ECHO_URL}}/
    expect: {{ status: 200, body: ["/^{id}$/"] }}
"#
                ));
            }
            p.stage("ports.yaml", &yaml);
            p
        })
        .collect();
    let started = std::time::Instant::now();
    let children: Vec<_> = projects
        .iter()
        .map(|p| {
            p.cmd(&["stage", "0", "--jobs", "8"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("spawn gaterun")
        })
        .collect();
    let outputs: Vec<_> = children
        .into_iter()
        .map(|c| c.wait_with_output().expect("wait"))
        .collect();
    let elapsed = started.elapsed();

    let mut passed = 0;
    let mut failed = Vec::new();
    let mut collisions = 0;
    let mut ports = HashSet::new();
    for (r, p) in projects.iter().enumerate() {
        let results = p.results("stage-00");
        for gate in results["gates"].as_array().expect("gates") {
            let id = gate["id"].as_str().unwrap_or("");
            let log = p.read(&format!("phase-1/stage-00/logs/{id}.log"));
            if log.contains("Address already in use") {
                collisions += 1;
            }
            if let Some(at) = log.find("service echo started on port ") {
                let rest = &log[at + "service echo started on port ".len()..];
                ports.insert(rest.split_whitespace().next().unwrap_or("").to_owned());
            }
            if gate["status"] == "passed" {
                passed += 1;
            } else {
                failed.push(format!("run {r} {id}: {}", gate["message"]));
                eprintln!("--- run {r} {id}:\n{log}");
            }
        }
    }
    eprintln!(
        "runs: {RUNS} x {GATES} gates in {:.1}s: {passed} passed, {} failed, {collisions} port collisions, {} distinct ports",
        elapsed.as_secs_f64(),
        failed.len(),
        ports.len()
    );
    for (p, out) in projects.iter().zip(&outputs) {
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}\n{}\n{failed:?}",
            p.path().display(),
            String::from_utf8_lossy(&out.stdout)
        );
    }
    assert_eq!(collisions, 0);
    assert_eq!(failed, Vec::<String>::new());
    assert_eq!(passed, RUNS * GATES);
    assert_eq!(processes_with(&marker), Vec::<String>::new());
}
