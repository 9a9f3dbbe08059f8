//! Regexes of expectations: variables filled in as literal text, output read in lines, and
//! the regex crate's error cut to its one detail line.

use regex::Regex;

use crate::vars::{self, Vars};

/// Fill in a regex's variables, each escaped so that it matches its own text.
pub fn interpolate_regex(re: &str, vars: &Vars) -> Result<String, String> {
    if !re.contains("${") {
        return vars::interpolate(re, vars).map_err(|e| e.to_string());
    }
    let escaped: Vars = vars
        .iter()
        .map(|(k, v)| (k.clone(), regex::escape(v)))
        .collect();
    vars::interpolate(re, &escaped).map_err(|e| e.to_string())
}

/// Output is text in lines: `^` and `$` match at line boundaries, so `/^ok$/` matches a
/// command that printed `ok` and a newline.
pub fn compile(re: &str) -> Result<Regex, regex::Error> {
    super::memo::regex(re, true)
}

/// The detail line of the regex crate's error, without its multi-line drawing.
pub(crate) fn first_line(msg: &str) -> String {
    msg.lines()
        .filter(|l| l.starts_with("error:"))
        .map(|l| l.trim_start_matches("error: "))
        .next()
        .unwrap_or(msg)
        .to_owned()
}
