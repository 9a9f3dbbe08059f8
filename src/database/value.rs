//! What a statement gives back, as `sql` expectations read it: rows of JSON cells, or the
//! database's refusal. The cell forms both databases share (floats, binary) are made here.

/// What a statement did.
#[derive(Debug)]
pub enum SqlOutcome {
    Rows {
        columns: Vec<String>,
        rows: Vec<Vec<serde_json::Value>>,
    },
    /// The database refused the statement: its message.
    Failed(String),
}

/// A floating-point cell. JSON has no infinities or NaN, so they are the strings PostgreSQL
/// prints (`Infinity`, `-Infinity`, `NaN`): never null, never a number.
pub fn float_cell(f: f64) -> serde_json::Value {
    if f.is_nan() {
        return serde_json::Value::from("NaN");
    }
    match serde_json::Number::from_f64(f) {
        Some(n) => serde_json::Value::Number(n),
        None if f > 0.0 => serde_json::Value::from("Infinity"),
        None => serde_json::Value::from("-Infinity"),
    }
}

/// A BLOB or `bytea` cell: `{"bytes": "<lower-case hex>"}`, an object, so no string (not `"A"`,
/// not psql's `"\x41"`) ever equals binary data.
pub fn bytes_cell(b: &[u8]) -> serde_json::Value {
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    serde_json::json!({ "bytes": hex })
}
