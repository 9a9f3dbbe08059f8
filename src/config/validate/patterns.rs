//! Text patterns (`stdout`, `body`, `contains`, `error`, header values): a string, or
//! `{ equals: TEXT }` for the whole text.

use super::ctx::FileCtx;
use crate::config::raw::{OneOrMany, RawPattern, Sp};
use crate::expect::Pattern;

pub fn patterns(ctx: &mut FileCtx, raw: Option<Sp<OneOrMany<RawPattern>>>) -> Vec<Pattern> {
    let Some(raw) = raw else { return Vec::new() };
    let mut out = Vec::new();
    for p in raw.value.0 {
        match text_pattern(p) {
            Ok(p) => out.push(p),
            Err(e) => ctx.error(raw.referenced, e),
        }
    }
    out
}

/// A text pattern: a string, or `{ equals: TEXT }` for the whole text.
pub fn text_pattern(raw: RawPattern) -> Result<Pattern, String> {
    match raw {
        RawPattern::Text(p) => Pattern::parse(&p),
        RawPattern::Map(entries) => match entries.as_slice() {
            [(key, serde_json::Value::String(text))] if key == "equals" => {
                Pattern::parse_whole(text)
            }
            [(key, other)] if key == "equals" => Err(format!(
                "`equals` takes the whole text as a string, got {other}"
            )),
            _ => Err(format!(
                "a text pattern is a string, or `{{ equals: TEXT }}` for the whole text; got a map with {}",
                keys_of(&entries)
            )),
        },
    }
}

fn keys_of(entries: &[(String, serde_json::Value)]) -> String {
    let keys: Vec<String> = entries.iter().map(|(k, _)| format!("`{k}`")).collect();
    if keys.is_empty() {
        "no keys".to_owned()
    } else {
        keys.join(", ")
    }
}
