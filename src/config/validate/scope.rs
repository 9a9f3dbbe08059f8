//! What a step adds around its kind: `eventually` (a budget, or `{ within, every }`), its own
//! `env` and `workdir`, and which of the gate's databases a `sql` step runs on (`db:`).

use serde_saphyr::Location;

use super::ctx::{FileCtx, check_template, duration};
use super::databases::Choices;
use super::defaults::env_entries;
use super::matrix::BUILT_INS;
use crate::config::diagnostic::suggest;
use crate::config::model::Eventually;
use crate::config::raw::{OrderedMap, RawEventually, Scalar, Sp};

pub fn eventually(ctx: &mut FileCtx, raw: &Sp<RawEventually>) -> Option<Eventually> {
    match &raw.value {
        RawEventually::Within(s) => {
            let within = duration(
                ctx,
                &Sp {
                    value: s.clone(),
                    referenced: raw.referenced,
                },
                "eventually",
            )?;
            Some(Eventually {
                within,
                every: None,
            })
        }
        RawEventually::Every(m) => {
            let within = duration(ctx, &m.within, "eventually.within");
            let every = duration(ctx, &m.every, "eventually.every");
            let (within, every) = (within?, every?);
            if every > within {
                ctx.error(
                    m.every.referenced,
                    format!(
                        "`eventually.every` of {} is longer than `within` of {}: the step would be attempted once",
                        humantime::format_duration(every),
                        humantime::format_duration(within)
                    ),
                );
                return None;
            }
            Some(Eventually {
                within,
                every: Some(every),
            })
        }
    }
}

/// A step's `env`: valid names, none that gaterun sets for every gate.
pub fn env(ctx: &mut FileCtx, raw: &OrderedMap<Sp<Scalar>>, at: Location) -> Vec<(String, String)> {
    let entries = env_entries(ctx, raw, Some(at));
    for (k, _) in &entries {
        if BUILT_INS.contains(&k.as_str()) {
            ctx.error(
                at,
                format!("step env `{k}`: `{k}` is a built-in variable that gaterun sets for this gate; use it as `${{{k}}}` in a value under another name"),
            );
        }
    }
    entries
}

pub fn workdir(ctx: &mut FileCtx, raw: &Sp<String>) -> Option<String> {
    check_template(ctx, raw.referenced, &raw.value)?;
    if raw.value.trim().is_empty() {
        ctx.error(raw.referenced, "`workdir` is empty");
        return None;
    }
    if std::path::Path::new(&raw.value).is_absolute() {
        ctx.error(
            raw.referenced,
            format!(
                "`workdir` is relative to the project root, got the absolute path `{}`",
                raw.value
            ),
        );
        return None;
    }
    Some(raw.value.clone())
}

/// The database a `sql` step runs on: the one it names, else the gate's `database:`, else the
/// only one of `databases:`. `Ok(None)`: the gate's `database:`.
pub fn db(
    ctx: &mut FileCtx,
    raw: Option<&Sp<String>>,
    kind_at: Location,
    choices: &Choices,
) -> Result<Option<String>, ()> {
    let named: Vec<&str> = choices.named.iter().map(String::as_str).collect();
    match raw {
        Some(name) if choices.open || named.contains(&name.value.as_str()) => {
            Ok(Some(name.value.clone()))
        }
        Some(name) => {
            let hint = match suggest(&name.value, &named) {
                Some(near) => format!(", did you mean `{near}`?"),
                None if named.is_empty() => ": this gate has no `databases:`".to_owned(),
                None => format!(" (its databases: {})", named.join(", ")),
            };
            ctx.error(
                name.referenced,
                format!("`db` names an unknown database `{}`{hint}", name.value),
            );
            Err(())
        }
        None if choices.single => Ok(None),
        None => match named.as_slice() {
            [one] => Ok(Some((*one).to_owned())),
            _ => {
                ctx.error(
                    kind_at,
                    format!(
                        "this `sql` step needs `db:` to say which database it runs on: {}",
                        named.join(", ")
                    ),
                );
                Err(())
            }
        },
    }
}
