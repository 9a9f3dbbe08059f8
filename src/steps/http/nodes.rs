//! What an `expect.xpath` or `expect.css` selector selected, against its expectation: the same
//! judgement for both. A node list is the nodes' texts: patterns read them joined by newlines,
//! matchers read the list (`count`, `exists`, `contains` an element, `equals` a list) or, for
//! `equals` a plain value, `matches`, `type` and the comparisons, its one node. A selection of
//! nothing fails unless `count` or `exists` asks about it, so a mistyped selector never passes
//! a `!` pattern.

use serde_json::Value;

use super::response::BODY_CAP;
use crate::config::NodeExpect;
use crate::expect::value::{Matcher, ValueCheck, render};
use crate::expect::{self, CheckError, Observed};
use crate::runner::gate::ctx::GateCtx;
use crate::steps::outcome::Failure;

/// The texts of what a selector selected, at most [`BODY_CAP`] in all: the texts of nested
/// elements repeat each other, so a body of 16 MiB could otherwise make gigabytes of them.
pub(super) fn texts(
    what: &str,
    nodes: impl Iterator<Item = String>,
) -> Result<Vec<String>, Failure> {
    let mut total = 0usize;
    let mut out = Vec::new();
    for text in nodes {
        total += text.len();
        if total > BODY_CAP {
            return Err(Failure::Check(format!(
                "{what} selected more than {} MiB of text, more than a check reads",
                BODY_CAP >> 20
            )));
        }
        out.push(text);
    }
    Ok(out)
}

/// The result of a selector.
pub(super) enum Selected {
    /// The texts of the nodes selected, in document order.
    Nodes(Vec<String>),
    /// A typed value (an XPath expression that is a string, a number or a boolean).
    Value(Value),
}

pub(super) fn judge(
    what: &str,
    expect: &NodeExpect,
    selected: Selected,
    ctx: &GateCtx,
) -> Result<(), Failure> {
    let texts = match selected {
        Selected::Value(v) => return judge_value(what, expect, &v, ctx),
        Selected::Nodes(texts) => texts,
    };
    let asks_about_nothing = |m: &Matcher| matches!(m, Matcher::Count(_) | Matcher::Exists(_));
    match expect {
        NodeExpect::Matchers(ValueCheck::All(matchers))
            if texts.is_empty() && matchers.iter().any(asks_about_nothing) => {}
        _ if texts.is_empty() => {
            return Err(Failure::Check(format!(
                "expected {what} to select something, got nothing"
            )));
        }
        _ => {}
    }
    match expect {
        NodeExpect::Patterns(patterns) => {
            let joined = texts.join("\n");
            let observed = Observed {
                head: &joined,
                tail: None,
                cut: None,
            };
            Ok(expect::check_observed(
                what, patterns, &observed, &ctx.vars,
            )?)
        }
        NodeExpect::Matchers(ValueCheck::All(matchers)) => {
            let list = list_of(&texts);
            for m in matchers {
                let one = ValueCheck::All(vec![m.clone()]);
                let on_the_list = match m {
                    Matcher::Count(_) | Matcher::Exists(_) | Matcher::Contains(_) => true,
                    Matcher::Equals(v) => v.is_array(),
                    _ => false,
                };
                if on_the_list {
                    one.check(what, Some(&list), true, ctx.bindings())?;
                } else if let [text] = texts.as_slice() {
                    one.check(
                        what,
                        Some(&Value::String(text.clone())),
                        false,
                        ctx.bindings(),
                    )?;
                } else {
                    return Err(Failure::Check(format!(
                        "expected {what} to select one node, got {}: {}",
                        texts.len(),
                        render(&list)
                    )));
                }
            }
            Ok(())
        }
        NodeExpect::Matchers(other) => {
            Ok(other.check(what, Some(&list_of(&texts)), true, ctx.bindings())?)
        }
    }
}

fn list_of(texts: &[String]) -> Value {
    Value::Array(texts.iter().cloned().map(Value::String).collect())
}

/// A typed XPath value: matchers by type (`3` is not `"3"`); patterns on its text.
fn judge_value(what: &str, expect: &NodeExpect, v: &Value, ctx: &GateCtx) -> Result<(), Failure> {
    match expect {
        NodeExpect::Patterns(patterns) => {
            let text = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            Ok(expect::check_all(what, patterns, &text, &ctx.vars)?)
        }
        NodeExpect::Matchers(check) => {
            let result: Result<(), CheckError> = check.check(what, Some(v), false, ctx.bindings());
            Ok(result?)
        }
    }
}
