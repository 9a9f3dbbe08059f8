//! `METHOD PATH` with the gate's variables filled in: a route's target, a `received` step's
//! `match` and `order` entries. A variable in a regex matches its own text.

use regex::Regex;

use crate::config::{PathMatch, Target};
use crate::vars::{self, Vars};

#[derive(Debug)]
pub struct Resolved {
    method: Option<String>,
    path: Path,
    /// `POST /repos/acme/app/pulls`: as written, variables filled in.
    pub shown: String,
}

#[derive(Debug)]
enum Path {
    Exact(String),
    Regex(Regex),
}

impl Resolved {
    pub fn new(t: &Target, vars: &Vars) -> Result<Resolved, String> {
        let method = t.method.clone();
        let (path, shown_path) = match &t.path {
            PathMatch::Exact(p) => {
                let p = vars::interpolate(p, vars).map_err(|e| e.to_string())?;
                (Path::Exact(p.clone()), p)
            }
            PathMatch::Regex(r) => {
                let r = crate::expect::interpolate_regex(r, vars)?;
                let re = Regex::new(&r).map_err(|e| format!("invalid regex `/{r}/`: {e}"))?;
                (Path::Regex(re), format!("/{r}/"))
            }
        };
        let shown = format!("{} {shown_path}", method.as_deref().unwrap_or("*"));
        Ok(Resolved {
            method,
            path,
            shown,
        })
    }

    pub fn matches(&self, method: &str, path: &str) -> bool {
        if self.method.as_deref().is_some_and(|m| m != method) {
            return false;
        }
        match &self.path {
            Path::Exact(p) => p == path,
            Path::Regex(re) => re.is_match(path),
        }
    }

    /// The groups of a regex path in `path`: by number (`1`) and by name.
    pub fn groups(&self, path: &str) -> Vec<(String, String)> {
        let Path::Regex(re) = &self.path else {
            return Vec::new();
        };
        let Some(caps) = re.captures(path) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, name) in re.capture_names().enumerate().skip(1) {
            if let Some(m) = caps.get(i) {
                out.push((i.to_string(), m.as_str().to_owned()));
                if let Some(name) = name {
                    out.push((name.to_owned(), m.as_str().to_owned()));
                }
            }
        }
        out
    }
}
