//! What an `http` step sends beyond its method, URL and headers: `query`, and its one body
//! (`json`, `body`, `form`, `multipart`, `body_file` or `body_base64`), and the paths it reads
//! and writes (`body_file`, a multipart `file:`, `save`), which stay inside the gate's workdir,
//! and the HTTP version it asks for or expects.

use serde_saphyr::Location;

use super::ctx::{FileCtx, check_template};
use crate::config::model::{HttpBody, HttpVersion, MultipartPart};
use crate::config::raw::{OneOrMany, OrderedMap, RawPart, RawStep, Scalar, Sp};
use crate::vars;

/// The body keys, of which a step takes one.
const BODY_KEYS: &[&str] = &[
    "json",
    "body",
    "form",
    "multipart",
    "body_file",
    "body_base64",
];

/// `query:` or `form:` entries: a list value repeats the key.
pub fn pairs(
    ctx: &mut FileCtx,
    key: &str,
    raw: Option<OrderedMap<OneOrMany<Scalar>>>,
    at: Location,
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (name, values) in raw.map(|m| m.0).unwrap_or_default() {
        if name.is_empty() {
            ctx.error(at, format!("`{key}` has an empty name"));
        }
        for value in values.0 {
            check_template(ctx, at, &value.0);
            out.push((name.clone(), value.0));
        }
    }
    out
}

/// The step's body, if any; two body keys are an error.
pub fn body(ctx: &mut FileCtx, raw: &mut RawStep, at: Location) -> Option<HttpBody> {
    let written: Vec<&str> = raw
        .kind_keys()
        .into_iter()
        .filter(|k| BODY_KEYS.contains(k))
        .collect();
    if let [first, second, ..] = written.as_slice() {
        ctx.error(
            at,
            format!(
                "an `http` step sends one body, this one has `{first}` and `{second}` (one of {})",
                BODY_KEYS
                    .iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
        return None;
    }
    if let Some(j) = raw.json.take() {
        return Some(HttpBody::Json(j));
    }
    if let Some(b) = raw.body.take() {
        return Some(HttpBody::Text(b));
    }
    if raw.form.is_some() {
        return Some(HttpBody::Form(pairs(ctx, "form", raw.form.take(), at)));
    }
    if let Some(parts) = raw.multipart.take() {
        return multipart(ctx, parts, raw, at);
    }
    if let Some(path) = raw.body_file.take() {
        return project_path(ctx, "body_file", &path).map(HttpBody::File);
    }
    let b64 = raw.body_base64.take()?;
    check_template(ctx, b64.referenced, &b64.value)?;
    if !b64.value.contains("${")
        && let Err(e) = crate::text::decode_base64(&b64.value)
    {
        ctx.error(b64.referenced, format!("`body_base64` is not base64: {e}"));
        return None;
    }
    Some(HttpBody::Base64(b64.value))
}

fn multipart(
    ctx: &mut FileCtx,
    parts: OrderedMap<RawPart>,
    raw: &RawStep,
    at: Location,
) -> Option<HttpBody> {
    if let Some((name, _)) = raw.headers.as_ref().and_then(|h| {
        h.0.iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-type"))
    }) {
        ctx.error(
            at,
            format!("`multipart` sets the Content-Type itself (with its boundary): remove the `{name}` header"),
        );
        return None;
    }
    if parts.0.is_empty() {
        ctx.error(at, "`multipart` is empty: give it fields");
        return None;
    }
    let mut out = Vec::new();
    for (name, part) in parts.0 {
        if name.is_empty() {
            ctx.error(at, "`multipart` has a field with an empty name");
            continue;
        }
        let part = match part {
            RawPart::Text(text) => {
                check_template(ctx, at, &text);
                MultipartPart::Text(text)
            }
            RawPart::File(f) => {
                let key = format!("multipart.{name}.file");
                let path = Sp {
                    value: f.file,
                    referenced: at,
                };
                let Some(path) = project_path(ctx, &key, &path) else {
                    continue;
                };
                for text in [&f.content_type, &f.filename].into_iter().flatten() {
                    check_template(ctx, at, text);
                }
                MultipartPart::File {
                    path,
                    content_type: f.content_type,
                    filename: f.filename,
                }
            }
        };
        out.push((name, part));
    }
    Some(HttpBody::Multipart(out))
}

/// A path an `http` step reads or writes, relative to the gate's workdir and inside it:
/// not absolute, and no `..` that climbs out of it (checked again once its variables are
/// filled in).
pub fn project_path(ctx: &mut FileCtx, key: &str, raw: &Sp<String>) -> Option<String> {
    check_template(ctx, raw.referenced, &raw.value)?;
    let probe = vars::check_syntax(&raw.value, "x").unwrap_or_default();
    if let Err(why) = crate::files::inside(&probe) {
        ctx.error(
            raw.referenced,
            format!("`{key}`: {why}, got `{}`", raw.value),
        );
        return None;
    }
    Some(raw.value.clone())
}

/// `save`: a [`project_path`] that names a file (not `.`, `a/..` nor `out/`).
pub fn save_path(ctx: &mut FileCtx, raw: &Sp<String>) -> Option<String> {
    let path = project_path(ctx, "save", raw)?;
    let probe = vars::check_syntax(&path, "x").unwrap_or_default();
    if let Err(why) = crate::files::names_file(&probe) {
        ctx.error(raw.referenced, format!("`save`: {why}, got `{path}`"));
        return None;
    }
    Some(path)
}

/// `"1.0"`, `"1.1"` or `"2"`, as written (`1.0` unquoted is the text `1.0`, not the number 1).
pub fn version(ctx: &mut FileCtx, key: &str, raw: &Sp<Scalar>) -> Option<HttpVersion> {
    let text = raw.as_written(ctx.text);
    let parsed = HttpVersion::parse(text.trim());
    if parsed.is_none() {
        ctx.error(
            raw.referenced,
            format!(
                "`{key}` is one of {}, got `{text}`",
                HttpVersion::NAMES
                    .iter()
                    .map(|n| format!("\"{n}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
    }
    parsed
}
