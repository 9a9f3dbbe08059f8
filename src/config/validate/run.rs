//! A `run` step: its command, the exit codes and output it expects, its `/regex/` captures.

use super::command::command;
use super::ctx::FileCtx;
use super::kind::Input;
use super::patterns::patterns;
use crate::config::model::{RunExpect, StepKind};
use crate::vars;

pub fn build(ctx: &mut FileCtx, input: Input) -> Option<StepKind> {
    let Input { raw, expect, .. } = input;
    let run = raw.run?;
    let command = command(ctx, run.value, run.referenced);
    let exit = match expect.exit {
        Some(e) => {
            if e.value.0.is_empty() || e.value.0.iter().any(|c| !(0..=255).contains(c)) {
                ctx.error(e.referenced, "`exit` takes exit codes from 0 to 255");
            }
            e.value.0
        }
        None => vec![0],
    };
    let run_expect = RunExpect {
        exit,
        stdout: patterns(ctx, expect.stdout),
        stderr: patterns(ctx, expect.stderr),
    };
    Some(StepKind::Run {
        command: command?,
        expect: run_expect,
    })
}

/// A `run` capture selector: `/regex/` with exactly one group, matched on stdout.
pub fn capture(sel: &str) -> Result<(), String> {
    let checked = vars::check_syntax(sel, "x").map_err(|e| e.to_string())?;
    let Some(body) = checked.strip_prefix('/').and_then(|s| s.strip_suffix('/')) else {
        return Err(format!(
            "a `run` capture is `/regex/` with one group, got `{sel}`"
        ));
    };
    let re = crate::expect::compile(body).map_err(|e| format!("invalid regex `{sel}`: {e}"))?;
    if re.captures_len() != 2 {
        return Err(format!(
            "`{sel}` must have exactly one group `( )`, it has {}",
            re.captures_len() - 1
        ));
    }
    Ok(())
}
