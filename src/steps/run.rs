//! The `run` step: a shell string (`sh -c`) or an argv list; expectations on the exit code and
//! on stdout/stderr; captures from stdout.

use std::process::ExitStatus;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};

use super::log::GateLog;
use super::outcome::{Deadline, Failure, cancelled};
use crate::config::{Command, RunExpect};
use crate::expect::{self, CheckError};
use crate::process::{self, CappedBuffer};
use crate::runner::command::gate_command;
use crate::runner::gate::ctx::GateCtx;
use crate::vars;

/// Per stream of one attempt: what `expect` and `capture` look at.
const STREAM_CAP: usize = 4 << 20;
/// How long to keep reading after the command exited, for output still in the pipe. A
/// background process holding the pipe open does not hold up the step past this.
const DRAIN: Duration = Duration::from_millis(100);

pub async fn attempt(
    ctx: &mut GateCtx,
    command: &Command,
    expect: &RunExpect,
    captures: &[(String, String)],
    deadline: &Deadline,
) -> Result<(), Failure> {
    let mut cmd = gate_command(command, &ctx.vars, &ctx.token, &ctx.workdir)
        .map_err(|e| Failure::Error(e.to_string()))?;
    let program = match command {
        Command::Shell(_) => "sh".to_owned(),
        Command::Argv(argv) => argv[0].clone(),
    };
    let mut child = process::spawn(&mut cmd)
        .map_err(|e| Failure::Check(format!("failed to start `{program}`: {e}")))?;
    let pid = child.id();
    if let Some(pid) = pid {
        ctx.groups.push(pid);
    }
    let stdout = Arc::new(Mutex::new(CappedBuffer::new(STREAM_CAP)));
    let stderr = Arc::new(Mutex::new(CappedBuffer::new(STREAM_CAP)));
    let mut readers = Vec::new();
    if let Some(out) = child.stdout.take() {
        readers.push(tokio::spawn(pump(out, stdout.clone(), ctx.log.clone())));
    }
    if let Some(err) = child.stderr.take() {
        readers.push(tokio::spawn(pump(err, stderr.clone(), ctx.log.clone())));
    }

    let mut cancel = ctx.cancel.clone();
    let died = ctx.services.watch(&ctx.cancel);
    let outcome = tokio::select! {
        status = child.wait() => Ok(status),
        _ = tokio::time::sleep_until(deadline.at.into()) => Err(Failure::Timeout(deadline.message.clone())),
        _ = cancelled(&mut cancel) => Err(Failure::Interrupted),
        i = died => Err(Failure::ServiceExited(i)),
    };
    let status = match outcome {
        Ok(status) => status,
        Err(failure) => {
            // Stop everything the gate runs now; the gate ends with this step.
            ctx.services.gate_ending();
            if let Some(problem) = process::terminate(&ctx.token, &ctx.groups, ctx.grace).await {
                ctx.log_line(&format!("── {problem}"));
            }
            let _ = child.wait().await;
            process::release(pid);
            ctx.readers.extend(readers);
            return Err(failure);
        }
    };
    process::release(pid);
    let status =
        status.map_err(|e| Failure::Error(format!("failed to wait for `{program}`: {e}")))?;

    // Read what is still in the pipes; leave readers of pipes held open by background
    // processes running (their output still reaches the gate log) until the gate ends.
    let drain_until = tokio::time::Instant::now() + DRAIN;
    for mut r in readers {
        if tokio::time::timeout_at(drain_until, &mut r).await.is_err() {
            ctx.readers.push(r);
        }
    }
    let (out_head, out_tail) = lock(&stdout).segments();
    let (err_head, err_tail) = lock(&stderr).segments();
    let stdout = observed(&out_head, &out_tail, "stdout");
    let stderr = observed(&err_head, &err_tail, "stderr");

    check_exit(status, &expect.exit)?;
    expect::check_observed("stdout", &expect.stdout, &stdout, &ctx.vars)?;
    expect::check_observed("stderr", &expect.stderr, &stderr, &ctx.vars)?;
    for (name, selector) in captures {
        let value = capture(selector, &stdout, "stdout", &ctx.vars).map_err(|e| match e {
            CheckError::Mismatch(m) => Failure::Check(format!("capture `{name}`: {m}")),
            CheckError::Invalid(m) => Failure::Error(format!("capture `{name}`: {m}")),
        })?;
        ctx.capture(name, serde_json::Value::String(value));
    }
    Ok(())
}

/// A stream as the checks read it: whole, or its head and tail when it outgrew the cap.
fn observed<'a>(head: &'a str, tail: &'a Option<String>, stream: &str) -> expect::Observed<'a> {
    expect::Observed {
        head,
        tail: tail.as_deref(),
        cut: tail.as_ref().map(|_| {
            format!(
                "the {stream} was longer than the {} MiB a check reads (its head and tail were kept)",
                STREAM_CAP >> 20
            )
        }),
    }
}

fn lock(b: &Mutex<CappedBuffer>) -> std::sync::MutexGuard<'_, CappedBuffer> {
    b.lock().unwrap_or_else(|e| e.into_inner())
}

/// Copy a pipe into the step's buffer and the gate's log until EOF.
async fn pump(mut pipe: impl AsyncRead + Unpin, own: Arc<Mutex<CappedBuffer>>, log: GateLog) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match pipe.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                lock(&own).push(&buf[..n]);
                log.push(&buf[..n]);
            }
        }
    }
}

fn check_exit(status: ExitStatus, expected: &[i64]) -> Result<(), Failure> {
    use std::os::unix::process::ExitStatusExt;
    let want = expected
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(" or ");
    match status.code() {
        Some(code) if expected.contains(&i64::from(code)) => Ok(()),
        Some(code) => {
            // The shell's own codes, which otherwise read like the command's.
            let hint = match code {
                127 => " (the shell found no such command)",
                126 => " (the shell could not execute the command)",
                _ => "",
            };
            Err(Failure::Check(format!(
                "expected exit {want}, got {code}{hint}"
            )))
        }
        None => {
            let sig = status.signal().unwrap_or(0);
            Err(Failure::Check(format!(
                "expected exit {want}, got killed by signal {sig}"
            )))
        }
    }
}

/// The first group of the selector's regex, in the head of the text (stdout, an `http`
/// body), else in its tail (never in the marker of a cut, nor across it).
pub(crate) fn capture(
    selector: &str,
    stdout: &expect::Observed,
    what: &str,
    vars: &vars::Vars,
) -> Result<String, CheckError> {
    let body = selector
        .strip_prefix('/')
        .and_then(|s| s.strip_suffix('/'))
        .unwrap_or(selector);
    let body = expect::interpolate_regex(body, vars).map_err(CheckError::Invalid)?;
    let re =
        expect::compile(&body).map_err(|e| CheckError::Invalid(format!("invalid regex: {e}")))?;
    // On a cut text, a match must hold whatever the cut removed (`expect::cut`).
    let found = |text: &str, edge: expect::cut::Edge| {
        if stdout.cut.is_none() {
            return re
                .captures(text)
                .and_then(|c| c.get(1))
                .map(|m| m.as_str().to_owned());
        }
        let groups = expect::cut::captures(&re, text, edge)?;
        groups.get(1).cloned().flatten().map(|r| text[r].to_owned())
    };
    found(stdout.head, expect::cut::Edge::End)
        .or_else(|| stdout.tail.and_then(|t| found(t, expect::cut::Edge::Start)))
        .ok_or_else(|| {
            CheckError::Mismatch(format!(
                "/{body}/ did not match {what}, got {}",
                expect::preview(stdout.head)
            ))
        })
}
