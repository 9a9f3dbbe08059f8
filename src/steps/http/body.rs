//! The request body as bytes, made once per step (a 307/308 hop sends it again): JSON, text,
//! a url-encoded form, multipart form data, a file's bytes or base64, with its variables filled
//! in, the Content-Type it implies, and what the log shows of it (a form and text as sent,
//! files and binary bodies as their size).

use std::fmt::Write;
use std::path::PathBuf;

use super::json::invalid;
use super::redact::{LOG_BODY_CAP, capped};
use crate::config::{HttpBody, MultipartPart};
use crate::files::ReadError;
use crate::runner::gate::ctx::GateCtx;
use crate::steps::outcome::Failure;
use crate::steps::probe::io_reason;
use crate::vars;

/// The largest file a request sends (`body_file`, a multipart `file:`).
const FILE_CAP: u64 = 64 << 20;

pub(super) struct Prepared {
    pub bytes: Vec<u8>,
    /// Sent unless the step sets its own `Content-Type`.
    pub content_type: Option<String>,
    /// The log's view of the body, after a `>` line.
    pub log: String,
}

pub(super) async fn prepare(ctx: &GateCtx, body: &HttpBody) -> Result<Prepared, Failure> {
    let fill = |text: &str| vars::interpolate(text, &ctx.vars).map_err(invalid);
    Ok(match body {
        HttpBody::Json(v) => {
            let v = vars::interpolate_json(v, &ctx.vars).map_err(invalid)?;
            let text = v.to_string();
            Prepared {
                log: capped(&text, LOG_BODY_CAP),
                bytes: text.into_bytes(),
                content_type: Some("application/json".to_owned()),
            }
        }
        HttpBody::Text(b) => {
            let text = fill(b)?;
            Prepared {
                log: capped(&text, LOG_BODY_CAP),
                bytes: text.into_bytes(),
                content_type: None,
            }
        }
        HttpBody::Form(pairs) => {
            let mut form = url::form_urlencoded::Serializer::new(String::new());
            for (name, value) in pairs {
                form.append_pair(name, &fill(value)?);
            }
            let text = form.finish();
            Prepared {
                log: capped(&text, LOG_BODY_CAP),
                bytes: text.into_bytes(),
                content_type: Some("application/x-www-form-urlencoded".to_owned()),
            }
        }
        HttpBody::Multipart(parts) => multipart(ctx, parts).await?,
        HttpBody::File(path) => {
            let rel = fill(path)?;
            let bytes = read(ctx, "body_file", &rel).await?;
            Prepared {
                log: format!("[body from file {rel}: {} bytes]", bytes.len()),
                bytes,
                content_type: None,
            }
        }
        HttpBody::Base64(text) => {
            let bytes = crate::text::decode_base64(&fill(text)?)
                .map_err(|e| Failure::Error(format!("`body_base64` is not base64: {e}")))?;
            Prepared {
                log: format!("[body from base64: {} bytes]", bytes.len()),
                bytes,
                content_type: None,
            }
        }
    })
}

async fn multipart(ctx: &GateCtx, parts: &[(String, MultipartPart)]) -> Result<Prepared, Failure> {
    let fill = |text: &str| vars::interpolate(text, &ctx.vars).map_err(invalid);
    // Each part: its headers, its content.
    let mut filled: Vec<(String, Vec<u8>)> = Vec::new();
    let mut log = String::new();
    for (name, part) in parts {
        let disposition = format!("form-data; name=\"{}\"", quoted(name));
        match part {
            MultipartPart::Text(text) => {
                let text = fill(text)?;
                let _ = writeln!(log, "[part {name}: {}]", capped(&text, 1024));
                filled.push((
                    format!("Content-Disposition: {disposition}\r\n"),
                    text.into_bytes(),
                ));
            }
            MultipartPart::File {
                path,
                content_type,
                filename,
            } => {
                let rel = fill(path)?;
                let bytes = read(ctx, &format!("multipart.{name}.file"), &rel).await?;
                let filename = match filename {
                    Some(f) => fill(f)?,
                    None => PathBuf::from(&rel)
                        .file_name()
                        .map(|f| f.to_string_lossy().into_owned())
                        .unwrap_or_else(|| rel.clone()),
                };
                let content_type = match content_type {
                    Some(t) => fill(t)?,
                    None => media_type(&rel).to_owned(),
                };
                let _ = writeln!(
                    log,
                    "[part {name}: file {rel} as {filename} ({content_type}), {} bytes]",
                    bytes.len()
                );
                filled.push((
                    format!(
                        "Content-Disposition: {disposition}; filename=\"{}\"\r\nContent-Type: {}\r\n",
                        quoted(&filename),
                        content_type.replace(['\r', '\n'], " ")
                    ),
                    bytes,
                ));
            }
        }
    }
    let boundary = boundary(&filled);
    let mut bytes = Vec::new();
    for (head, content) in &filled {
        bytes.extend_from_slice(format!("--{boundary}\r\n{head}\r\n").as_bytes());
        bytes.extend_from_slice(content);
        bytes.extend_from_slice(b"\r\n");
    }
    bytes.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    Ok(Prepared {
        bytes,
        content_type: Some(format!("multipart/form-data; boundary={boundary}")),
        log: log.trim_end().to_owned(),
    })
}

/// A name or file name inside `"…"` of a Content-Disposition, escaped as browsers do it
/// (WHATWG): `"` and line breaks percent-encoded.
fn quoted(text: &str) -> String {
    text.replace('"', "%22")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A boundary that occurs in no part.
fn boundary(parts: &[(String, Vec<u8>)]) -> String {
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    boundary_from(seed ^ (u128::from(std::process::id()) << 64), parts)
}

fn boundary_from(seed: u128, parts: &[(String, Vec<u8>)]) -> String {
    let mut n = seed;
    loop {
        let candidate = format!("gaterun-{n:032x}");
        let found = parts.iter().any(|(head, content)| {
            head.contains(&candidate)
                || content
                    .windows(candidate.len())
                    .any(|w| w == candidate.as_bytes())
        });
        if !found {
            return candidate;
        }
        n = n
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
    }
}

/// A file the request sends: relative to the gate's workdir and inside it, a regular file of
/// at most [`FILE_CAP`]. Its problems are the step's error, naming the path.
async fn read(ctx: &GateCtx, key: &str, rel: &str) -> Result<Vec<u8>, Failure> {
    crate::files::inside(rel).map_err(|why| Failure::Error(format!("`{key}` {rel}: {why}")))?;
    let (workdir, name) = (ctx.workdir.clone(), rel.to_owned());
    let read = tokio::task::spawn_blocking(move || {
        // The real path, every link resolved and inside the workdir, is the one read.
        super::paths::read_target(&workdir, &name)
            .map(|full| crate::files::read(&full, FILE_CAP, crate::files::Links::Refuse))
    })
    .await
    .map_err(|e| Failure::Error(e.to_string()))?
    .map_err(|why| Failure::Error(format!("failed to read `{key}` {rel}: {why}")))?;
    read.map_err(|e| {
        let why = match &e {
            ReadError::Io { source, .. } => io_reason(source),
            ReadError::Refused { why, .. } => why.clone(),
        };
        Failure::Error(format!("failed to read `{key}` {rel}: {why}"))
    })
}

/// A file part's media type from its extension; `application/octet-stream` for any other.
fn media_type(path: &str) -> &'static str {
    let ext = std::path::Path::new(path)
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "txt" | "text" | "log" => "text/plain",
        "html" | "htm" => "text/html",
        "css" => "text/css",
        "csv" => "text/csv",
        "md" => "text/markdown",
        "js" | "mjs" => "text/javascript",
        "json" => "application/json",
        "xml" => "application/xml",
        "yaml" | "yml" => "application/yaml",
        "pdf" => "application/pdf",
        "zip" => "application/zip",
        "gz" => "application/gzip",
        "tar" => "application/x-tar",
        "wasm" => "application/wasm",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "svg" => "image/svg+xml",
        "ico" => "image/x-icon",
        "mp3" => "audio/mpeg",
        "wav" => "audio/wav",
        "mp4" => "video/mp4",
        "webm" => "video/webm",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_types_and_escapes() {
        assert_eq!(media_type("r.TXT"), "text/plain");
        assert_eq!(media_type("a/b.json"), "application/json");
        assert_eq!(media_type("blob"), "application/octet-stream");
        assert_eq!(media_type("x.unknown"), "application/octet-stream");
        assert_eq!(quoted("a\"b\r\nc"), "a%22b%0D%0Ac");
    }

    #[test]
    fn the_boundary_is_in_no_part() {
        let first = boundary_from(7, &[]);
        let parts = vec![("h".to_owned(), format!("x{first}y").into_bytes())];
        let other = boundary_from(7, &parts);
        assert!(other.starts_with("gaterun-") && other != first, "{other}");
    }
}
