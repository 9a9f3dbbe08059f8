//! Which strings of the model a run fills `${NAME}` into, for `check` (config/undefined.rs).
//! Every string of a step but its shell command is interpolated when the step runs (spec §7),
//! so `check` reads a step's strings from its `Debug` text, which holds them all without a
//! list of fields a new key would have to join. What the run leaves as written is taken out
//! first: object keys of JSON values (a body, an expected value), the names of an `http`
//! step's headers, query and form fields and multipart parts, a part's content type, `sign`'s
//! header and prefix, the mock a `received` step names.

use std::fmt::Debug;

use super::model::{HttpBody, HttpStep, MultipartPart, StepKind};

/// The text whose `${NAME}`s the run fills in when it runs a step of this kind (not `run`,
/// `use` nor `start`: their parts are read one by one).
pub fn step_text(kind: &StepKind) -> String {
    match kind {
        StepKind::Http(h) => debug_text(&sent(h)),
        StepKind::Received(r) => {
            let mut r = (**r).clone();
            r.mock.clear();
            debug_text(&r)
        }
        kind => debug_text(kind),
    }
}

/// `value`'s `Debug` text without its map keys: a quoted string followed by `: ` is one
/// (struct fields are not quoted, and a pair in a list is a tuple).
pub fn debug_text(value: &impl Debug) -> String {
    let text = format!("{value:?}");
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(open) = rest.find('"') {
        out.push_str(&rest[..open]);
        let body = &rest[open + 1..];
        let mut end = body.len();
        let mut escaped = false;
        for (i, c) in body.char_indices() {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => {
                    end = i;
                    break;
                }
                _ => {}
            }
        }
        let after = body.get(end + 1..).unwrap_or("");
        if !after.starts_with(": ") {
            out.push_str(&body[..end]);
        }
        out.push(' ');
        rest = after;
    }
    out.push_str(rest);
    out
}

/// An `http` step with what the run sends as written emptied.
fn sent(h: &HttpStep) -> HttpStep {
    let mut h = h.clone();
    let names = |pairs: &mut Vec<(String, String)>| pairs.iter_mut().for_each(|(n, _)| n.clear());
    names(&mut h.headers);
    names(&mut h.query);
    match &mut h.body {
        Some(HttpBody::Form(pairs)) => names(pairs),
        Some(HttpBody::Multipart(parts)) => {
            for (name, part) in parts {
                name.clear();
                if let MultipartPart::File { content_type, .. } = part {
                    *content_type = None;
                }
            }
        }
        _ => {}
    }
    if let Some(sign) = &mut h.sign {
        sign.header.clear();
        sign.prefix.clear();
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_keys_are_taken_out_values_kept() {
        let v = serde_json::json!({"${KEY}": "${VALUE}", "list": ["${ITEM}"], "q": "a\"${B}\": c"});
        let text = debug_text(&v);
        assert!(!text.contains("${KEY}"), "{text}");
        for kept in ["${VALUE}", "${ITEM}", "${B}"] {
            assert!(text.contains(kept), "{kept} in {text}");
        }
        let pairs = vec![("${NAME}".to_owned(), "v".to_owned())];
        assert!(debug_text(&pairs).contains("${NAME}"));
    }
}
