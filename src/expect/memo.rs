//! Compiled regexes and JSONPaths kept by their text, for the whole run: a mock judges every
//! request with the same matchers, and an `eventually` step judges again on each look.
//! Compiling `/fix/` and parsing `$.title` again for each request was an eighth of a mock's
//! time under load. Only what compiled is kept (an error is rare and reported each time), and
//! the store is emptied past a bound, so a run of many distinct patterns stays small.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;

const BOUND: usize = 1024;

type Store<K, V> = Mutex<Option<HashMap<K, V>>>;

static REGEXES: Store<(bool, String), regex::Regex> = Mutex::new(None);
static PATHS: Store<String, serde_json_path::JsonPath> = Mutex::new(None);

fn kept<K: Hash + Eq, V: Clone, E>(
    store: &Store<K, V>,
    key: K,
    make: impl FnOnce() -> Result<V, E>,
) -> Result<V, E> {
    if let Some(v) = store
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .as_ref()
        .and_then(|m| m.get(&key))
    {
        return Ok(v.clone());
    }
    let v = make()?;
    let mut guard = store.lock().unwrap_or_else(|e| e.into_inner());
    let map = guard.get_or_insert_with(HashMap::new);
    if map.len() >= BOUND {
        map.clear();
    }
    map.insert(key, v.clone());
    Ok(v)
}

/// `re` compiled (`multi_line`: `^`/`$` at line boundaries), with the project's size limit.
pub fn regex(re: &str, multi_line: bool) -> Result<regex::Regex, regex::Error> {
    kept(&REGEXES, (multi_line, re.to_owned()), || {
        regex::RegexBuilder::new(re)
            .multi_line(multi_line)
            .size_limit(1 << 22)
            .build()
    })
}

/// `path` parsed.
pub fn json_path(path: &str) -> Result<serde_json_path::JsonPath, serde_json_path::ParseError> {
    kept(&PATHS, path.to_owned(), || {
        serde_json_path::JsonPath::parse(path)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_regex_matches_as_a_fresh_one_and_keeps_its_mode() {
        let lines = regex("^ok$", true).expect("compiles");
        let whole = regex("^ok$", false).expect("compiles");
        assert!(lines.is_match("x\nok\n"));
        assert!(
            !whole.is_match("x\nok\n"),
            "the other mode is its own entry"
        );
        assert!(regex("^ok$", true).expect("kept").is_match("ok"));
        assert!(regex("(", true).is_err());
        assert!(
            regex("(", true).is_err(),
            "an error is not kept as a success"
        );
    }

    #[test]
    fn a_kept_path_selects_as_a_fresh_one() {
        let v = serde_json::json!({"a": {"b": 2}});
        assert_eq!(
            json_path("$.a.b").expect("parses").query(&v).all(),
            [&serde_json::json!(2)]
        );
        assert_eq!(
            json_path("$.a.b").expect("kept").query(&v).all(),
            [&serde_json::json!(2)]
        );
        assert!(json_path("$.[").is_err());
    }
}
