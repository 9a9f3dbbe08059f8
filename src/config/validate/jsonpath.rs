//! JSONPath selectors (`expect.json`, `http` captures), checked here and compiled again by the
//! `http` step: a leaf, so the step executor can name it without the validator.

use crate::vars;

pub fn jsonpath(path: &str) -> Result<serde_json_path::JsonPath, String> {
    let probe = vars::check_syntax(path, "x").map_err(|e| e.to_string())?;
    serde_json_path::JsonPath::parse(&probe).map_err(|e| format!("invalid JSONPath `{path}`: {e}"))
}

/// Whether a JSONPath can select more than one node. RFC 9535 allows only singular queries
/// in a filter comparison, so the parser itself answers.
pub fn can_select_many(path: &str) -> bool {
    let probe = vars::check_syntax(path, "x").unwrap_or_else(|_| path.to_owned());
    serde_json_path::JsonPath::parse(&format!("$[?{probe} == 1]")).is_err()
}

#[cfg(test)]
mod jsonpath_tests {
    #[test]
    fn paths_that_can_select_several_nodes() {
        for (path, many) in [
            ("$.a", false),
            ("$.a.b[0]", false),
            ("$['a']['b-c']", false),
            ("$.items[-1]", false),
            ("$.${FIELD}", false),
            ("$.items[*]", true),
            ("$.items[*].id", true),
            ("$..id", true),
            ("$.items[0:1]", true),
            ("$.items[0,1]", true),
            ("$.items[?@.id > 1]", true),
            ("$.*", true),
        ] {
            assert_eq!(super::can_select_many(path), many, "{path}");
        }
    }
}
