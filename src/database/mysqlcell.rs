//! MySQL and MariaDB cells as `sql` expectations read them, from the text the server sends
//! (the text protocol: a DECIMAL keeps every digit, a DATETIME is what the server prints) and
//! the column's type: integers and DECIMAL are numbers, exactly as written (`1.10` keeps its
//! text); FLOAT and DOUBLE their shortest text as the server prints it; BIT the unsigned
//! number its bits make; MySQL's JSON type its value; dates and times the server's text;
//! character data a string. Binary data (a BLOB, BINARY, a GEOMETRY, any string of the
//! `binary` character set) is `{"bytes": hex}`, never a string, as in the other kinds.

use mysql_async::consts::ColumnType;
use serde_json::Value;

use super::value::{bytes_cell, float_cell};

/// The `binary` character set: the bytes are not text.
const BINARY: u16 = 63;

/// A cell from its column's type and character set, and its text (`None`: NULL).
pub fn cell(ty: ColumnType, charset: u16, raw: Option<&[u8]>) -> Result<Value, String> {
    use ColumnType::*;
    let Some(raw) = raw else {
        return Ok(Value::Null);
    };
    let text = || std::str::from_utf8(raw).map_err(|_| "a number that is not text".to_owned());
    Ok(match ty {
        MYSQL_TYPE_TINY
        | MYSQL_TYPE_SHORT
        | MYSQL_TYPE_INT24
        | MYSQL_TYPE_LONG
        | MYSQL_TYPE_LONGLONG
        | MYSQL_TYPE_YEAR
        | MYSQL_TYPE_DECIMAL
        | MYSQL_TYPE_NEWDECIMAL => number(text()?)
            .ok_or_else(|| format!("malformed number {:?}", String::from_utf8_lossy(raw)))?,
        MYSQL_TYPE_FLOAT | MYSQL_TYPE_DOUBLE => {
            let t = text()?;
            match number(t) {
                Some(n) => n,
                // What JSON cannot hold (`inf`, `nan`, which MySQL does not store but
                // may compute) is the string the other kinds use.
                None => float_cell(
                    t.parse::<f64>()
                        .map_err(|_| format!("malformed number {t:?}"))?,
                ),
            }
        }
        MYSQL_TYPE_BIT if raw.len() <= 8 => {
            Value::from(raw.iter().fold(0u64, |n, b| (n << 8) | u64::from(*b)))
        }
        MYSQL_TYPE_JSON => serde_json::from_slice(raw).unwrap_or_else(|_| string(raw)),
        MYSQL_TYPE_DATE
        | MYSQL_TYPE_NEWDATE
        | MYSQL_TYPE_TIME
        | MYSQL_TYPE_TIME2
        | MYSQL_TYPE_DATETIME
        | MYSQL_TYPE_DATETIME2
        | MYSQL_TYPE_TIMESTAMP
        | MYSQL_TYPE_TIMESTAMP2 => string(raw),
        MYSQL_TYPE_GEOMETRY | MYSQL_TYPE_BIT => bytes_cell(raw),
        _ if charset == BINARY => bytes_cell(raw),
        _ => string(raw),
    })
}

/// A number exactly as the server wrote it (serde_json keeps the text: `1.10` stays `1.10`).
fn number(text: &str) -> Option<Value> {
    text.parse::<serde_json::Number>().ok().map(Value::Number)
}

/// Character data; bytes that are not UTF-8 (a column in a charset the connection did not
/// convert) show as replacement characters rather than vanish.
fn string(raw: &[u8]) -> Value {
    Value::String(String::from_utf8_lossy(raw).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expect::value::values_equal;
    use ColumnType::*;
    use serde_json::json;

    const UTF8: u16 = 45;

    #[test]
    fn cells_keep_their_type_and_never_read_as_a_near_value() {
        let c = |ty, cs, raw: &str| cell(ty, cs, Some(raw.as_bytes())).expect("cell");
        assert_eq!(c(MYSQL_TYPE_LONG, BINARY, "42"), json!(42));
        assert!(!values_equal(
            &json!("42"),
            &c(MYSQL_TYPE_LONG, BINARY, "42")
        ));
        assert_eq!(
            c(MYSQL_TYPE_LONGLONG, BINARY, "18446744073709551615").to_string(),
            "18446744073709551615"
        );
        let dec = c(MYSQL_TYPE_NEWDECIMAL, BINARY, "1.10");
        assert_eq!(dec.to_string(), "1.10", "every digit kept");
        assert!(!values_equal(&json!("1.10"), &dec));
        assert!(!values_equal(&json!(1.11), &dec));
        let tiny = c(
            MYSQL_TYPE_NEWDECIMAL,
            BINARY,
            "0.000000000000000000000000000001",
        );
        assert!(!values_equal(&json!(0), &tiny));
        assert_eq!(c(MYSQL_TYPE_DOUBLE, BINARY, "0.1"), json!(0.1));
        assert_eq!(c(MYSQL_TYPE_DOUBLE, BINARY, "inf"), json!("Infinity"));
        assert_eq!(c(MYSQL_TYPE_VAR_STRING, UTF8, "abc"), json!("abc"));
        assert_eq!(c(MYSQL_TYPE_VAR_STRING, UTF8, "1"), json!("1"));
        assert_eq!(c(MYSQL_TYPE_BLOB, BINARY, "A"), json!({"bytes": "41"}));
        assert!(!values_equal(&json!("A"), &c(MYSQL_TYPE_BLOB, BINARY, "A")));
        assert_eq!(
            c(MYSQL_TYPE_BLOB, UTF8, "text"),
            json!("text"),
            "TEXT is a BLOB type"
        );
        assert_eq!(
            c(MYSQL_TYPE_DATETIME, BINARY, "2024-05-01 12:00:00"),
            json!("2024-05-01 12:00:00")
        );
        assert!(values_equal(
            &c(MYSQL_TYPE_JSON, UTF8, "{\"a\": [1, 2.50]}"),
            &json!({"a": [1, 2.5]})
        ));
        assert_eq!(
            cell(MYSQL_TYPE_BIT, BINARY, Some(&[0x01, 0x02])).expect("bit"),
            json!(258)
        );
        assert_eq!(
            cell(MYSQL_TYPE_LONG, BINARY, None).expect("null"),
            Value::Null
        );
        assert!(cell(MYSQL_TYPE_LONG, BINARY, Some(b"x1")).is_err());
    }
}
