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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use serde_saphyr::Location;

    use super::*;

    #[test]
    fn method_and_path_each_read_or_refused_in_plain_words() {
        let ok = [
            ("GET /users", "GET /users"),
            ("POST /repos/${REPO}/pulls", "POST /repos/${REPO}/pulls"),
            ("* /any", "* /any"),
            ("PURGE /cache", "PURGE /cache"),
            ("GET /^/users/\\d+$/", "GET /^/users/\\d+$/"),
            ("GET /^/v1.0/$/", "GET /^/v1.0/$/"),
            ("DELETE ${PATH}", "DELETE ${PATH}"),
        ];
        for (text, shown) in ok {
            let mut ctx = FileCtx::new(Path::new("s.yaml"), "");
            let t = target(&mut ctx, text, Location::UNKNOWN, "match");
            assert_eq!(t.map(|t| t.to_string()).as_deref(), Some(shown), "{text}");
            assert!(ctx.diagnostics.is_empty(), "{text}");
        }
        let bad = [
            ("/users", "takes METHOD PATH"),
            ("get /users", "write `GET`, not `get`"),
            ("G(T /users", "is not an HTTP method"),
            ("GET users", "must start with `/`"),
            ("GET /a?b=1", "holds a query or fragment"),
            ("GET /repos/", "write `/^/repos/$/` for exactly that path"),
            ("GET /v1.0/", "is read as a regex"),
            ("GET /a(b/", "invalid regex `/a(b/`: unclosed group"),
            ("GET /a/${X", "unclosed `${`"),
        ];
        for (text, want) in bad {
            let mut ctx = FileCtx::new(Path::new("s.yaml"), "");
            assert!(
                target(&mut ctx, text, Location::UNKNOWN, "match").is_none(),
                "{text}"
            );
            let said: Vec<String> = ctx.diagnostics.iter().map(|d| d.message.clone()).collect();
            assert!(said.iter().any(|m| m.contains(want)), "{text}: {said:?}");
        }
    }
}
