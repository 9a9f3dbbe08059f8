//! `expect.xpath`: XPath 1.0 on an XML (or XHTML) body, with sxd-document and sxd-xpath.
//!
//! The body must be well-formed XML. Its root element's namespace prefixes may be used in an
//! expression, and `_` names its default namespace (`//_:title` in XHTML), as in Hurl. A
//! node-set is the list of its nodes' string values (an attribute's value); a string, number
//! or boolean result is that one typed value. sxd-document expands no entity beyond the five
//! predefined ones (no entity bomb); its tree is walked recursively, so a body nested too
//! deeply is refused before it is parsed (`nesting`).

use serde_json::Value;
use sxd_document::dom::ChildOfRoot;

use super::nodes::{Selected, judge, texts};
use crate::config::NodeExpect;
use crate::config::validate::selectors;
use crate::runner::gate::ctx::GateCtx;
use crate::steps::outcome::{Deadline, Failure};

pub(super) async fn check(
    ctx: &GateCtx,
    checks: &[(String, NodeExpect)],
    text: &str,
    deadline: &Deadline,
) -> Result<(), Failure> {
    let mut written = Vec::new();
    for (expr, _) in checks {
        let w = selectors::interpolate(expr, &ctx.vars).map_err(Failure::Error)?;
        // Compiled here for its error; again on the thread (an `XPath` is not `Send`).
        selectors::xpath(&w).map_err(Failure::Error)?;
        written.push((expr.clone(), w));
    }
    let text = text.to_owned();
    // Parsed and selected off the runtime (`offload`); judged here, in order.
    let selected = super::offload::off_thread(deadline, ctx.cancel.clone(), move || {
        select(&text, &written)
    })
    .await??;
    for ((expr, expect), got) in checks.iter().zip(selected) {
        judge(&format!("xpath {expr}"), expect, got?, ctx)?;
    }
    Ok(())
}

/// Each expression's result, up to the first that fails.
fn select(
    text: &str,
    written: &[(String, String)],
) -> Result<Vec<Result<Selected, Failure>>, Failure> {
    let not_xml = |why: String| {
        Failure::Check(format!(
            "expected an XML body for expect.xpath, got one that is not well-formed ({why})"
        ))
    };
    super::nesting::xml(text).map_err(|refused| match refused {
        super::nesting::Refused::Syntax(why) => not_xml(why),
        super::nesting::Refused::Cost(why) => Failure::Check(format!(
            "expected an XML body for expect.xpath that a check can read, got one with {why}"
        )),
    })?;
    let package = sxd_document::parser::parse(text).map_err(|e| not_xml(e.to_string()))?;
    let doc = package.as_document();
    let mut context = sxd_xpath::Context::new();
    if let Some(root) = doc.root().children().into_iter().find_map(|c| match c {
        ChildOfRoot::Element(e) => Some(e),
        _ => None,
    }) {
        for ns in root.namespaces_in_scope() {
            context.set_namespace(ns.prefix(), ns.uri());
        }
        if let Some(uri) = root.default_namespace_uri() {
            context.set_namespace("_", uri);
        }
    }
    let mut out = Vec::new();
    for (expr, w) in written {
        let got = evaluate(&context, doc.root(), expr, w);
        let failed = got.is_err();
        out.push(got);
        if failed {
            break;
        }
    }
    Ok(out)
}

fn evaluate(
    context: &sxd_xpath::Context<'_>,
    root: sxd_document::dom::Root<'_>,
    expr: &str,
    written: &str,
) -> Result<Selected, Failure> {
    let what = format!("xpath {expr}");
    let compiled = selectors::xpath(written).map_err(Failure::Error)?;
    let value = compiled
        .evaluate(context, root)
        .map_err(|e| Failure::Error(format!("xpath {expr}: {e}")))?;
    Ok(match value {
        sxd_xpath::Value::Nodeset(nodes) => Selected::Nodes(texts(
            &what,
            nodes.document_order().iter().map(|n| n.string_value()),
        )?),
        sxd_xpath::Value::String(s) => Selected::Value(Value::String(s)),
        sxd_xpath::Value::Boolean(b) => Selected::Value(Value::Bool(b)),
        sxd_xpath::Value::Number(n) => Selected::Value(number(n)),
    })
}

/// An XPath number as JSON: an integer when it is one, `NaN` and the infinities as their
/// XPath text (never a number, never null).
fn number(n: f64) -> Value {
    if n.is_finite() {
        if n.fract() == 0.0 && n.abs() < 9.0e15 {
            // Exact below 2^53: the cast keeps the value.
            #[allow(clippy::cast_possible_truncation)]
            return Value::from(n as i64);
        }
        return serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number);
    }
    Value::String(
        if n.is_nan() {
            "NaN"
        } else if n > 0.0 {
            "Infinity"
        } else {
            "-Infinity"
        }
        .to_owned(),
    )
}
