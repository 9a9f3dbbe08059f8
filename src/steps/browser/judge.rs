//! A `browser` step's expectations and captures, judged together on one look at the page
//! (`page.js`'s `state`), looked at again until they all hold or the wait ends: the first that
//! does not hold is the step's one-line message.

use std::time::Instant;

use serde_json::{Value, json};

use super::script::{POLL, Unanswered, call, selector};
use super::session::{Page, seen};
use crate::config::BrowserStep;
use crate::config::validate::selectors;
use crate::expect::CheckError;
use crate::steps::outcome::Failure;
use crate::vars::Vars;

/// Why a look did not pass.
enum Miss {
    /// A mismatch a later look may mend.
    Later(String),
    /// A mismatch no later look can mend (console errors past what the check allows).
    Never(String),
    /// The check cannot be judged (an undefined variable).
    Error(Failure),
}

impl From<CheckError> for Miss {
    fn from(e: CheckError) -> Miss {
        match e {
            CheckError::Mismatch(m) => Miss::Later(m),
            CheckError::Invalid(m) => Miss::Error(Failure::Error(m)),
        }
    }
}

/// The expectations and captures of a step, judged together on one look at the page.
pub(super) struct Judge<'a> {
    pub step: &'a BrowserStep,
    pub captures: &'a [(String, String)],
    pub vars: &'a Vars,
    pub typed: &'a crate::expect::value::Typed,
    pub errors_before: usize,
}

impl Judge<'_> {
    /// Look until everything holds (the captured values) or `until` (the last mismatch).
    pub async fn wait(
        &self,
        page: &Page,
        until: Instant,
    ) -> Result<Vec<(String, String)>, Failure> {
        let e = &self.step.expect;
        if e.is_empty() && self.captures.is_empty() {
            return Ok(Vec::new());
        }
        let visible: Vec<String> = e
            .visible
            .iter()
            .map(|s| selector(s.strip_prefix('!').unwrap_or(s), self.vars))
            .collect::<Result<_, _>>()?;
        let count: Vec<String> = e
            .count
            .iter()
            .map(|(s, _)| selector(s, self.vars))
            .collect::<Result<_, _>>()?;
        let mut wanted = Vec::new();
        for (_, sel) in self.captures {
            let sel = selector(sel, self.vars)?;
            let (elements, attr) = selectors::split_attribute(&sel).map_err(Failure::Error)?;
            wanted.push((elements.to_owned(), attr.map(str::to_owned)));
        }
        let args = json!({ "visible": visible, "count": count, "captures": wanted });
        loop {
            let look = async {
                if page.is_loading() {
                    return Err(Unanswered::Navigating);
                }
                call(page, "state", args.clone()).await
            };
            let looked = Instant::now();
            let answer = look.await;
            // Room for another look as long as this one took: the step's own timeout must not
            // end it first, without the reason.
            let room = looked.elapsed() * 2;
            let why = match answer {
                Ok(state) => match self.judge(page, &state, &visible, &count, &wanted) {
                    Ok(values) => return Ok(values),
                    Err(Miss::Later(why)) => why,
                    Err(Miss::Never(why)) => return Err(Failure::Check(why)),
                    Err(Miss::Error(f)) => return Err(f),
                },
                Err(Unanswered::Navigating) => "the page is loading".to_owned(),
                Err(Unanswered::Failed(e)) => return Err(Failure::Error(e)),
            };
            if Instant::now() + POLL + room >= until {
                return Err(Failure::Check(why));
            }
            tokio::time::sleep(POLL).await;
        }
    }

    fn judge(
        &self,
        page: &Page,
        state: &Value,
        visible: &[String],
        count: &[String],
        wanted: &[(String, Option<String>)],
    ) -> Result<Vec<(String, String)>, Miss> {
        use crate::expect::{Observed, check_observed};
        let e = &self.step.expect;
        let text = |k: &str| state[k].as_str().unwrap_or_default().to_owned();
        for (what, key, patterns) in [
            ("title", "title", &e.title),
            ("URL", "url", &e.url),
            ("page text", "text", &e.text),
        ] {
            let head = text(key);
            // `page.js` reads at most 1 MiB of each: a `!` or `equals` check needs all of it.
            let cut = (state[format!("{key}Cut")] == true)
                .then(|| format!("the {what} was cut at its first 1 MiB"));
            let observed = Observed {
                head: &head,
                tail: None,
                cut,
            };
            check_observed(what, patterns, &observed, self.vars)?;
        }
        for (i, written) in e.visible.iter().enumerate() {
            let seen = &state["visible"][i];
            let (matched, shown) = (
                seen["matched"].as_u64().unwrap_or(0),
                seen["visible"].as_u64().unwrap_or(0),
            );
            let sel = &visible[i];
            if written.starts_with('!') && shown > 0 {
                return Err(Miss::Later(format!(
                    "expected `{sel}` not to be visible, got {shown} visible"
                )));
            }
            if !written.starts_with('!') && shown == 0 {
                let got = match matched {
                    0 => "no element".to_owned(),
                    1 => "1 element, hidden".to_owned(),
                    n => format!("{n} elements, all hidden"),
                };
                return Err(Miss::Later(format!(
                    "expected `{sel}` to be visible, got {got}"
                )));
            }
        }
        let bindings = crate::expect::value::Bindings {
            text: self.vars,
            typed: self.typed,
        };
        for (i, (_, check)) in e.count.iter().enumerate() {
            let n = Value::from(state["count"][i].as_u64().unwrap_or(0));
            check.check(
                &format!("count of `{}`", count[i]),
                Some(&n),
                false,
                bindings,
            )?;
        }
        if let Some(check) = &e.console_errors {
            let (n, first) = {
                let seen = seen(&page.seen);
                let first = seen.lines.get(self.errors_before).cloned();
                ((seen.errors - self.errors_before) as u64, first)
            };
            let holds =
                |n: u64| check.check("console errors", Some(&Value::from(n)), false, bindings);
            holds(n).map_err(|err| {
                let message = match (Miss::from(err), first.as_ref()) {
                    (Miss::Later(m), Some(first)) => {
                        format!("{m} (first: {})", crate::expect::preview(first))
                    }
                    (Miss::Later(m), None) => m,
                    (other, _) => return other,
                };
                // Errors only add up: past what the check allows, waiting cannot help.
                if (n..n + 10_000).any(|m| holds(m).is_ok()) {
                    Miss::Later(message)
                } else {
                    Miss::Never(message)
                }
            })?;
        }
        let mut values = Vec::new();
        for (i, (name, _)) in self.captures.iter().enumerate() {
            let got = &state["captures"][i];
            let (sel, attr) = &wanted[i];
            match (got["found"] == true, got["value"].as_str(), attr) {
                (false, _, _) => {
                    return Err(Miss::Later(format!(
                        "capture `{name}`: no element matches `{sel}`"
                    )));
                }
                (true, None, Some(attr)) => {
                    return Err(Miss::Later(format!(
                        "capture `{name}`: `{sel}` has no attribute `{attr}`"
                    )));
                }
                (true, v, _) => values.push((name.clone(), v.unwrap_or_default().to_owned())),
            }
        }
        Ok(values)
    }
}
