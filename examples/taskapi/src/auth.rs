//! Log in, log out, and who may ask what. Off unless `TASKAPI_USERS=user:password,…` is set
//! (phase 1's gates drive the API without it); on, every page and API route but `/healthz`,
//! the login page and its script needs a session: a random token in an `HttpOnly`,
//! `SameSite=Strict` cookie, held in memory (a restart logs everyone out). A page asked for
//! without one redirects to the login page; an API route answers 401.

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::{Value, json};

use crate::http::{Form, Request, Response, random_hex};

pub const COOKIE: &str = "taskapi_session";

static SESSIONS: Mutex<Option<HashMap<String, String>>> = Mutex::new(None);

/// `user:password` pairs from `TASKAPI_USERS`; none means authentication is off.
fn users() -> Vec<(String, String)> {
    std::env::var("TASKAPI_USERS")
        .unwrap_or_default()
        .split(',')
        .filter_map(|pair| pair.trim().split_once(':'))
        .map(|(u, p)| (u.to_owned(), p.to_owned()))
        .collect()
}

pub fn enabled() -> bool {
    !users().is_empty()
}

/// The user a request's session belongs to; `Some("")` when authentication is off.
pub fn user(req: &Request) -> Option<String> {
    if !enabled() {
        return Some(String::new());
    }
    let token = req.cookie(COOKIE)?;
    let sessions = SESSIONS.lock().ok()?;
    sessions.as_ref()?.get(token).cloned()
}

/// Routes anyone may ask for.
pub fn public(req: &Request) -> bool {
    matches!(
        (req.method.as_str(), req.path.as_str()),
        (
            "GET",
            "/healthz" | "/favicon.ico" | "/ui/login" | "/ui/app.js" | "/ui/icon.svg"
        ) | ("POST", "/login" | "/webhooks/tracker")
    )
}

/// The refusal for a request without a session, or None to let it through.
pub fn refuse(req: &Request) -> Option<Response> {
    if public(req) || user(req).is_some() {
        return None;
    }
    if req.path == "/ui" || req.path.starts_with("/ui/") {
        return Some(Response::redirect("/ui/login"));
    }
    // The fault: the API forgets the session check when only a page was meant to be public.
    if crate::api::fault("api-without-session") && req.method == "GET" {
        return None;
    }
    Some(Response::error(401, "not logged in"))
}

/// `POST /login`: a form (from the login page) or JSON `{user, password}`.
pub fn login(req: &Request) -> Response {
    let (user, password) = if req.is_json() {
        let body: Value = serde_json::from_slice(&req.body).unwrap_or_default();
        let field = |k: &str| body[k].as_str().unwrap_or("").to_owned();
        (field("user"), field("password"))
    } else {
        let form = Form::parse(&req.body);
        (
            form.field("user").to_owned(),
            form.field("password").to_owned(),
        )
    };
    let known = users().iter().any(|(u, p)| *u == user && *p == password);
    if !known {
        return if req.is_json() {
            Response::error(401, "invalid user or password")
        } else {
            crate::ui::login_page(401, Some("Invalid user or password."))
        };
    }
    let token = match random_hex(24) {
        Ok(t) => t,
        Err(e) => return Response::error(500, e),
    };
    if let Ok(mut sessions) = SESSIONS.lock() {
        sessions
            .get_or_insert_with(HashMap::new)
            .insert(token.clone(), user.clone());
    }
    let cookie = format!("{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict");
    let response = if req.is_json() {
        Response::json(200, json!({ "user": user }))
    } else {
        Response::redirect("/ui/")
    };
    response.with("Set-Cookie", cookie)
}

/// `POST /logout`: the session ends on the server too, so a copy of its cookie is worthless.
pub fn logout(req: &Request) -> Response {
    if let (Some(token), Ok(mut sessions)) = (req.cookie(COOKIE), SESSIONS.lock())
        && let Some(map) = sessions.as_mut()
    {
        map.remove(token);
    }
    let response = if req.is_json() {
        Response::json(200, json!({ "logged_out": true }))
    } else {
        Response::redirect("/ui/login")
    };
    response.with(
        "Set-Cookie",
        format!("{COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict"),
    )
}
