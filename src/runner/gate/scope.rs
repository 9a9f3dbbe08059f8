//! A step's own `env` and `workdir`: set on the gate context for the step (all its attempts
//! under `eventually`), then put back, so the next step sees the gate as it was. An entry may
//! use the gate's variables and the entries before it, never replace a name gaterun sets.

use std::path::PathBuf;

use super::ctx::GateCtx;
use crate::config::Step;
use crate::steps::outcome::Failure;
use crate::vars;

/// What the step replaced, to put back.
#[derive(Default)]
pub struct Saved {
    vars: Vec<(String, Option<String>, Option<serde_json::Value>)>,
    workdir: Option<PathBuf>,
}

/// Set the step's variables and directory; on an error, nothing stays set.
pub fn enter(step: &Step, ctx: &mut GateCtx) -> Result<Saved, Failure> {
    let mut saved = Saved::default();
    match set(step, ctx, &mut saved) {
        Ok(()) => Ok(saved),
        Err(message) => {
            leave(saved, ctx);
            Err(Failure::Error(message))
        }
    }
}

fn set(step: &Step, ctx: &mut GateCtx, saved: &mut Saved) -> Result<(), String> {
    for (k, template) in &step.env {
        if let Some((_, what)) = ctx.fixed.iter().find(|(name, _)| name == k) {
            return Err(format!(
                "step env `{k}`: `{k}` is {what} that gaterun sets for this gate; use it as `${{{k}}}` in a value under another name"
            ));
        }
        let value =
            vars::interpolate(template, &ctx.vars).map_err(|e| format!("step env `{k}`: {e}"))?;
        let before = ctx.vars.insert(k.clone(), value);
        // A captured value's type would otherwise win over the step's text in checks.
        let typed = ctx.typed.remove(k);
        saved.vars.push((k.clone(), before, typed));
    }
    if let Some(w) = &step.workdir {
        let rel = vars::interpolate(w, &ctx.vars).map_err(|e| format!("workdir: {e}"))?;
        let root = ctx.vars.get("PROJECT_ROOT").cloned().unwrap_or_default();
        let dir = PathBuf::from(root).join(&rel);
        if !dir.is_dir() {
            return Err(format!("workdir {} is not a directory", dir.display()));
        }
        saved.workdir = Some(std::mem::replace(&mut ctx.workdir, dir));
    }
    Ok(())
}

/// Put back what the step replaced.
pub fn leave(saved: Saved, ctx: &mut GateCtx) {
    for (k, before, typed) in saved.vars.into_iter().rev() {
        match before {
            Some(v) => ctx.vars.insert(k.clone(), v),
            None => ctx.vars.remove(&k),
        };
        if let Some(t) = typed {
            ctx.typed.insert(k, t);
        }
    }
    if let Some(w) = saved.workdir {
        ctx.workdir = w;
    }
}
