//! Issue 20: `METHOD PATH`, the target of a mock's route, of a `received` step's `match` and of
//! each entry of its `expect.order`. PATH is the path as sent (no query), or `/regex/`.

use serde_saphyr::Location;

use super::ctx::is_token_byte;
use super::ctx::{FileCtx, check_template};
use crate::config::model::mock::{PathMatch, Target};
use crate::vars;

/// Parse `METHOD PATH` (`*` for any method); `what` names the key in messages.
pub fn target(ctx: &mut FileCtx, text: &str, at: Location, what: &str) -> Option<Target> {
    let text = text.trim();
    let Some((method, path)) = text.split_once(char::is_whitespace) else {
        ctx.error(
            at,
            format!("`{what}` takes METHOD PATH (`GET /users`, `POST /^/users/\\d+$/`, `* /any`), got `{text}`"),
        );
        return None;
    };
    let path = path.trim();
    let method = match method {
        "*" => None,
        m if !m.bytes().all(is_token_byte) => {
            ctx.error(at, format!("`{what}`: `{m}` is not an HTTP method: a method is a token (letters, digits and !#$%&'*+-.^_`|~), or `*` for any"));
            return None;
        }
        m if m != m.to_ascii_uppercase() && is_standard(&m.to_ascii_uppercase()) => {
            let upper = m.to_ascii_uppercase();
            ctx.error(
                at,
                format!("`{what}`: HTTP methods are case-sensitive: write `{upper}`, not `{m}`"),
            );
            return None;
        }
        m => Some(m.to_owned()),
    };
    check_template(ctx, at, path)?;
    let probe = vars::check_syntax(path, "x").unwrap_or_default();
    let regex = path.len() >= 2 && path.starts_with('/') && path.ends_with('/');
    if !regex {
        if !path.starts_with('/') && !path.starts_with("${") {
            ctx.error(
                at,
                format!("`{what}`: the path must start with `/` (or be a `/regex/`), got `{path}`"),
            );
            return None;
        }
        if probe.contains(['?', '#']) {
            ctx.error(at, format!("`{what}`: `{path}` holds a query or fragment: PATH is the path alone; match the query with `query:`"));
            return None;
        }
        return Some(Target {
            method,
            path: PathMatch::Exact(path.to_owned()),
        });
    }
    let inner = &path[1..path.len() - 1];
    let probe_inner = vars::check_syntax(inner, "x").unwrap_or_default();
    // `/repos/` reads as a regex (between slashes) but holds nothing of one: the writer most
    // likely meant the literal path, which the regex `repos` would match far too loosely.
    if probe_inner
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"/-_.~%:@".contains(&b))
    {
        ctx.error(at, format!("`{what}`: `{path}` is read as a regex (a PATH between slashes), which finds `{inner}` anywhere in the path: write `/^{path}$/` for exactly that path, or leave out the trailing slash"));
        return None;
    }
    if let Err(e) = regex::Regex::new(&probe_inner) {
        let detail = e.to_string();
        let detail = detail
            .lines()
            .last()
            .unwrap_or_default()
            .trim_start_matches("error: ");
        ctx.error(at, format!("`{what}`: invalid regex `/{inner}/`: {detail}"));
        return None;
    }
    Some(Target {
        method,
        path: PathMatch::Regex(inner.to_owned()),
    })
}

fn is_standard(method: &str) -> bool {
    [
        "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "CONNECT",
    ]
    .contains(&method)
}
