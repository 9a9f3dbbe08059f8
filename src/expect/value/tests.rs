//! The value expectations as tables: every form passes its value and fails its near miss.

use serde_json::{Value, json};

use super::*;
use crate::expect::error::CheckError;
use crate::vars::Vars;

fn body(text: &str) -> Value {
    serde_json::from_str(text).expect("test JSON")
}

/// Each row: the expectation as written, a value that must pass, and a near miss that must
/// fail with the message given.
#[test]
fn every_form_passes_its_value_and_fails_its_near_miss() {
    let cases: &[(Value, &str, &str, &str)] = &[
        (
            json!("done"),
            r#""done""#,
            r#""undone""#,
            r#"expected $.x to be "done", got "undone""#,
        ),
        (
            json!("active"),
            r#""active""#,
            r#""inactive""#,
            r#"expected $.x to be "active", got "inactive""#,
        ),
        (
            json!("5"),
            r#""5""#,
            "5",
            r#"expected $.x to be "5", got 5"#,
        ),
        (
            json!("false"),
            r#""false""#,
            "false",
            r#"expected $.x to be "false", got false"#,
        ),
        (
            json!("null"),
            r#""null""#,
            "null",
            r#"expected $.x to be "null", got null"#,
        ),
        (
            json!(false),
            "false",
            "0",
            "expected $.x to be false, got 0",
        ),
        (
            json!(null),
            "null",
            r#""""#,
            r#"expected $.x to be null, got """#,
        ),
        (
            json!(5),
            "5.0",
            r#""5""#,
            r#"expected $.x to be 5, got "5""#,
        ),
        (
            json!(4.5),
            "4.50",
            "4.05",
            "expected $.x to be 4.5, got 4.05",
        ),
        (
            body("1000000000000000000000"),
            "1e21",
            "1000000000000000000001",
            "expected $.x to be 1000000000000000000000, got 1000000000000000000001",
        ),
        (
            json!([1, "a"]),
            r#"[1.0, "a"]"#,
            r#"[1, "a", null]"#,
            r#"expected $.x to be [1,"a"], got [1,"a",null]"#,
        ),
        (
            json!({"a": 1}),
            r#"{"a": 1}"#,
            r#"{"a": 1, "b": 2}"#,
            r#"expected $.x to be {"a":1}, got {"a":1,"b":2}"#,
        ),
        (
            json!("!done"),
            r#""undone""#,
            r#""done""#,
            r#"expected $.x not to be "done", got "done""#,
        ),
        (
            json!("/^do/"),
            r#""done""#,
            r#""undone""#,
            r#"expected $.x to match /^do/, got "undone""#,
        ),
        (
            json!("/^5$/"),
            r#""5""#,
            "5",
            "expected $.x to be a string matching /^5$/, got 5",
        ),
        (
            json!("!/err/"),
            r#""ok""#,
            r#""an error""#,
            r#"expected $.x not to match /err/, got "an error""#,
        ),
        (
            json!({"equals": {"type": "t"}}),
            r#"{"type": "t"}"#,
            r#"{"type": "u"}"#,
            r#"expected $.x to be {"type":"t"}, got {"type":"u"}"#,
        ),
        (
            json!({"contains": "act"}),
            r#""inactive""#,
            r#""acquired""#,
            r#"expected $.x to contain "act", got "acquired""#,
        ),
        (
            json!({"contains": 2}),
            "[1, 2]",
            r#"[1, "2"]"#,
            r#"expected $.x to contain 2, got [1,"2"]"#,
        ),
        (
            json!({"matches": "^a+$"}),
            r#""aaa""#,
            r#""aab""#,
            r#"expected $.x to match /^a+$/, got "aab""#,
        ),
        (
            json!({"count": 2}),
            "[1, 2]",
            "[1, 2, 3]",
            "expected the count of $.x to be 2, got 3",
        ),
        (
            json!({"count": {"ge": 2}}),
            "[1, 2]",
            "[1]",
            "expected the count of $.x to be at least 2, got 1",
        ),
        (
            json!({"type": "integer"}),
            "4.0",
            "4.5",
            "expected $.x to be an integer, got 4.5",
        ),
        (
            json!({"type": "string"}),
            r#""4""#,
            "4",
            "expected $.x to be a string, got 4",
        ),
        (
            json!({"type": "null"}),
            "null",
            "false",
            "expected $.x to be a null, got false",
        ),
        (
            json!({"type": "array"}),
            "[]",
            "{}",
            "expected $.x to be an array, got {}",
        ),
        (
            json!({"type": "object"}),
            "{}",
            "[]",
            "expected $.x to be an object, got []",
        ),
        (
            json!({"type": "boolean"}),
            "true",
            r#""true""#,
            r#"expected $.x to be a boolean, got "true""#,
        ),
        (
            json!({"type": "number"}),
            "1e3",
            r#""1e3""#,
            r#"expected $.x to be a number, got "1e3""#,
        ),
        (
            json!({"gt": 5}),
            "5.000001",
            "5",
            "expected $.x to be greater than 5, got 5",
        ),
        (
            json!({"ge": 5}),
            "5",
            "4.999",
            "expected $.x to be at least 5, got 4.999",
        ),
        (
            json!({"lt": 5}),
            "4",
            "5",
            "expected $.x to be less than 5, got 5",
        ),
        (
            json!({"le": 5}),
            "5",
            "5.1",
            "expected $.x to be at most 5, got 5.1",
        ),
        (
            json!({"gt": 9007199254740992_u64}),
            "9007199254740993",
            "9007199254740992",
            "expected $.x to be greater than 9007199254740992, got 9007199254740992",
        ),
        (
            json!({"gt": 1, "lt": 3}),
            "2",
            "3",
            "expected $.x to be less than 3, got 3",
        ),
        (
            json!({"exists": true}),
            "null",
            "",
            "expected $.x to exist, got nothing",
        ),
    ];
    let vars = Vars::new();
    let typed = Typed::new();
    let b = Bindings {
        text: &vars,
        typed: &typed,
    };
    for (written, pass, miss, message) in cases {
        let check = ValueCheck::parse(written).unwrap_or_else(|e| panic!("{written}: {e}"));
        let got = body(pass);
        assert_eq!(
            check.check("$.x", Some(&got), false, b),
            Ok(()),
            "{written} on {pass}"
        );
        let miss = (!miss.is_empty()).then(|| body(miss));
        assert_eq!(
            check.check("$.x", miss.as_ref(), false, b),
            Err(CheckError::Mismatch((*message).to_owned())),
            "{written} on {miss:?}"
        );
    }
}

#[test]
fn absent_values() {
    let vars = Vars::new();
    let typed = Typed::new();
    let b = Bindings {
        text: &vars,
        typed: &typed,
    };
    let check = |w: Value| ValueCheck::parse(&w).unwrap();
    assert_eq!(
        check(json!({"exists": false})).check("$.x", None, false, b),
        Ok(())
    );
    // `!value` and a negated regex still need something to compare: a mistyped path must
    // not pass.
    for w in [json!("!done"), json!("!/x/"), json!(null)] {
        assert!(
            check(w.clone()).check("$.x", None, false, b).is_err(),
            "{w}"
        );
    }
    // A path that can select several nodes selected none: an empty array.
    let none = json!([]);
    assert!(
        check(json!({"exists": true}))
            .check("$[*]", Some(&none), true, b)
            .is_err()
    );
    assert_eq!(
        check(json!({"exists": false})).check("$[*]", Some(&none), true, b),
        Ok(())
    );
    assert_eq!(
        check(json!({"count": 0})).check("$[*]", Some(&none), true, b),
        Ok(())
    );
}

/// Each of these passed once (an attack on the first version); each must fail now.
#[test]
fn attacks_that_passed_fail() {
    let vars: Vars = [("V".to_owned(), "a|".to_owned())].into();
    let typed: Typed = [("B".to_owned(), json!(false))].into();
    let b = Bindings {
        text: &vars,
        typed: &typed,
    };
    let fails = |w: Value, got: Option<Value>, many: bool| {
        let check = ValueCheck::parse(&w).unwrap_or_else(|e| panic!("{w}: {e}"));
        assert!(
            check.check("$.x", got.as_ref(), many, b).is_err(),
            "{w} passed on {got:?}"
        );
    };
    // `count` on a path that selects nothing, or on an object.
    fails(json!({"count": 0}), None, false);
    fails(json!({"count": {"lt": 1}}), None, false);
    fails(json!({"count": 2}), Some(json!({"a": 1, "b": 2})), false);
    // `^`/`$` are the value's ends, not line ends.
    fails(
        json!({"matches": "^t-\\d+$"}),
        Some(json!("<script>\nt-1")),
        false,
    );
    fails(json!("/^1\\.2\\.3$/"), Some(json!("9.9.9\n1.2.3")), false);
    // `!0`, `!false`, `!null` are not 0, false, null (nor their text).
    fails(json!("!0"), Some(json!(0)), false);
    fails(json!("!0"), Some(json!("0")), false);
    fails(json!("!false"), Some(json!(false)), false);
    fails(json!("!null"), Some(json!(null)), false);
    fails(json!("!${B}"), Some(json!(false)), false);
    // A negated regex is on a string too.
    fails(json!("!/fail/"), Some(json!(5)), false);
    // Several nodes never equal, or differ from, a lone value.
    fails(json!("!failed"), Some(json!(["failed", "failed"])), true);
    fails(json!("failed"), Some(json!(["failed"])), true);
    fails(json!("/fail/"), Some(json!(["failed"])), true);
    // A variable in a regex is literal text.
    fails(json!("/^${V}$/"), Some(json!("x")), false);
    let ok = |w: Value, got: Value| {
        let check = ValueCheck::parse(&w).unwrap();
        assert_eq!(
            check.check("$.x", Some(&got), false, b),
            Ok(()),
            "{w} on {got}"
        );
    };
    ok(json!("!0"), json!(1));
    ok(json!("/^${V}$/"), json!("a|"));
    ok(json!("!/fail/"), json!("passed"));
    assert!(!fits_several(
        &ValueCheck::parse(&json!("!failed")).unwrap()
    ));
    assert!(fits_several(
        &ValueCheck::parse(&json!({"contains": "x", "count": 2})).unwrap()
    ));
    assert!(fits_several(&ValueCheck::parse(&json!(["a"])).unwrap()));
}

#[test]
fn captured_values_keep_their_type() {
    let vars: Vars = [
        ("ID".to_owned(), "4".to_owned()),
        ("NAME".to_owned(), "x".to_owned()),
    ]
    .into();
    let typed: Typed = [("ID".to_owned(), json!(4))].into();
    let b = Bindings {
        text: &vars,
        typed: &typed,
    };
    let id = ValueCheck::parse(&json!("${ID}")).unwrap();
    assert_eq!(id.check("$.id", Some(&json!(4)), false, b), Ok(()));
    assert_eq!(
        id.check("$.id", Some(&json!(14)), false, b),
        Err(CheckError::Mismatch(
            "expected $.id to be 4, got 14".to_owned()
        ))
    );
    assert!(id.check("$.id", Some(&json!("4")), false, b).is_err());
    // Inside a longer string a variable is text.
    let label = ValueCheck::parse(&json!("task-${ID}")).unwrap();
    assert_eq!(label.check("$.l", Some(&json!("task-4")), false, b), Ok(()));
    assert!(
        label
            .check("$.l", Some(&json!("task-14")), false, b)
            .is_err()
    );
    // An untyped variable (environment) stays text.
    let name = ValueCheck::parse(&json!("${NAME}")).unwrap();
    assert_eq!(name.check("$.n", Some(&json!("x")), false, b), Ok(()));
    let gt = ValueCheck::parse(&json!({"gt": "${ID}"})).unwrap();
    assert_eq!(gt.check("$.n", Some(&json!(5)), false, b), Ok(()));
    assert!(gt.check("$.n", Some(&json!(4)), false, b).is_err());
}

#[test]
fn bad_expectations_are_refused_up_front() {
    for (written, error) in [
        (json!({"count": -1}), "`count` takes a whole number"),
        (json!({"count": 1.5}), "`count` takes a whole number"),
        (json!({"type": "int"}), "`type` takes one of"),
        (json!({"gt": "5"}), "`gt` takes a number"),
        (json!({"exists": "yes"}), "`exists` takes true or false"),
        (json!({"matches": "(a"}), "invalid regex"),
        (json!("/(a/"), "invalid regex"),
        (json!("${A"), "unclosed"),
    ] {
        let e = ValueCheck::parse(&written).unwrap_err();
        assert!(e.contains(error), "{written}: {e}");
    }
    // A matcher misspelt next to matchers, or alone, is an error, not a literal object.
    for (written, error) in [
        (
            json!({"type": "integer", "gte": 0}),
            "unknown matcher `gte`, did you mean `ge`?",
        ),
        (
            json!({"exits": false}),
            "unknown matcher `exits`, did you mean `exists`?",
        ),
    ] {
        assert_eq!(
            ValueCheck::parse(&written).unwrap_err(),
            format!("{error} (to compare with an object, wrap it in `equals`)")
        );
    }
    // A map with any key that is not a matcher is a literal object.
    assert!(matches!(
        ValueCheck::parse(&json!({"type": "user", "name": "x"})),
        Ok(ValueCheck::Equals(_))
    ));
}
