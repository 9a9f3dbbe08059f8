//! PostgreSQL cells as JSON values for `sql` expectations, which compare exactly and by type: a
//! value must never be read as a different one (`'Infinity'::numeric` as 0, `'A'::bytea` as the
//! string "A"). Common types are decoded from PostgreSQL's binary form; a type gaterun has no
//! decoder for (money, interval, inet, ranges, …) and a value outside what the decoders print
//! (a timestamp of year 10000, `infinity`) is printed by the server itself (`$1::text`), so it
//! reads exactly as psql shows it.

use serde_json::Value;
use tokio_postgres::types::{Field, FromSql, Kind, Type};

use super::value::{bytes_cell, float_cell};

type Error = Box<dyn std::error::Error + Sync + Send>;

/// One value from its binary form; `None` when the server must print it.
pub fn decode(ty: &Type, raw: &[u8]) -> Result<Option<Value>, Error> {
    Ok(Some(match *ty {
        Type::BOOL => Value::from(bool::from_sql(ty, raw)?),
        Type::INT2 => Value::from(i16::from_sql(ty, raw)?),
        Type::INT4 => Value::from(i32::from_sql(ty, raw)?),
        Type::INT8 => Value::from(i64::from_sql(ty, raw)?),
        Type::OID => Value::from(u32::from_sql(ty, raw)?),
        Type::FLOAT4 => float4(f32::from_sql(ty, raw)?),
        Type::FLOAT8 => float_cell(f64::from_sql(ty, raw)?),
        Type::NUMERIC => numeric(raw).ok_or("malformed numeric value")?,
        Type::JSON => json(raw)?,
        // JSONB: a version byte, then the text.
        Type::JSONB => match raw.split_first() {
            Some((1, text)) => json(text)?,
            _ => return Ok(None),
        },
        Type::BYTEA => bytes_cell(raw),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN => {
            Value::from(std::str::from_utf8(raw)?)
        }
        Type::TIMESTAMP | Type::TIMESTAMPTZ => {
            let micros = i64::from_sql(&Type::INT8, raw)?;
            match timestamp(micros, *ty == Type::TIMESTAMPTZ) {
                Some(t) => Value::from(t),
                None => return Ok(None),
            }
        }
        Type::DATE => {
            let days = i32::from_sql(&Type::INT4, raw)?;
            match timestamp(i64::from(days) * 86_400_000_000, false) {
                Some(t) => Value::from(t.get(..10).unwrap_or(&t).to_owned()),
                None => return Ok(None),
            }
        }
        Type::UUID if raw.len() == 16 => {
            let h: String = raw.iter().map(|b| format!("{b:02x}")).collect();
            Value::from(format!(
                "{}-{}-{}-{}-{}",
                &h[..8],
                &h[8..12],
                &h[12..16],
                &h[16..20],
                &h[20..]
            ))
        }
        _ => match ty.kind() {
            // An enum's binary form is its label.
            Kind::Enum(_) => Value::from(std::str::from_utf8(raw)?),
            Kind::Domain(base) => return decode(base, raw),
            Kind::Array(member) => return array(member, raw),
            Kind::Composite(fields) => return record(raw, Some(fields)),
            Kind::Pseudo if *ty == Type::RECORD => return record(raw, None),
            _ => return Ok(None),
        },
    }))
}

/// FLOAT4 as PostgreSQL prints it: the shortest text that reads back as the same `f32` (`0.1`,
/// not the `f64` widening `0.10000000149011612`).
fn float4(f: f32) -> Value {
    if !f.is_finite() {
        return float_cell(f64::from(f));
    }
    serde_json::from_str(&format!("{f:?}")).unwrap_or_else(|_| float_cell(f64::from(f)))
}

/// JSON text as its value. Nested deeper than the parser goes (128 levels), it stays the text:
/// a string never equals a number or null.
fn json(text: &[u8]) -> Result<Value, Error> {
    Ok(serde_json::from_slice(text)
        .unwrap_or_else(|_| Value::from(String::from_utf8_lossy(text).into_owned())))
}

/// Microseconds since 2000-01-01 as RFC 3339 (UTC), for years 1 to 9999; `None` outside them
/// (and for `infinity`, which is `i64::MAX`).
fn timestamp(micros: i64, zone: bool) -> Option<String> {
    const EPOCH_2000_DAYS: i64 = 10_957;
    let days = micros
        .div_euclid(86_400_000_000)
        .checked_add(EPOCH_2000_DAYS)?;
    let micros_of_day = micros.rem_euclid(86_400_000_000);
    let (y, m, d) = civil(days);
    if !(1..=9999).contains(&y) {
        return None;
    }
    let secs = micros_of_day / 1_000_000;
    let frac = micros_of_day % 1_000_000;
    let mut text = format!(
        "{y:04}-{m:02}-{d:02}{}{:02}:{:02}:{:02}",
        if zone { 'T' } else { ' ' },
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    );
    if frac != 0 {
        text.push_str(&format!(".{frac:06}"));
    }
    if zone {
        text.push('Z');
    }
    Some(text)
}

/// Days since 1970-01-01 as year, month, day (proleptic Gregorian; Howard Hinnant's
/// `civil_from_days`).
fn civil(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Reads PostgreSQL's big-endian binary forms, failing on a short input.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Error> {
        if n > self.0.len() {
            return Err("truncated value".into());
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn i32(&mut self) -> Result<i32, Error> {
        let b = self.take(4)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn len(&mut self) -> Result<Option<usize>, Error> {
        let n = self.i32()?;
        Ok(usize::try_from(n).ok())
    }
}

/// An array as nested JSON arrays, one level per dimension (lower bounds are dropped); `None`
/// when an element is of a type the server must print, which then prints the whole array.
fn array(member: &Type, raw: &[u8]) -> Result<Option<Value>, Error> {
    let mut r = Reader(raw);
    let ndim = r.i32()?;
    let _has_nulls = r.i32()?;
    let _member_oid = r.i32()?;
    if !(0..=6).contains(&ndim) {
        return Err(format!("array of {ndim} dimensions").into());
    }
    let mut dims = Vec::new();
    for _ in 0..ndim {
        dims.push(r.len()?.ok_or("negative array dimension")?);
        let _lower_bound = r.i32()?;
    }
    let total = if dims.is_empty() {
        0
    } else {
        dims.iter()
            .try_fold(1usize, |a, d| a.checked_mul(*d))
            .ok_or("array too large")?
    };
    // Each element takes at least its 4-byte length.
    if total > raw.len() / 4 {
        return Err("truncated array".into());
    }
    let mut items = Vec::with_capacity(total);
    for _ in 0..total {
        items.push(match r.len()? {
            None => Value::Null,
            Some(n) => match decode(member, r.take(n)?)? {
                Some(v) => v,
                None => return Ok(None),
            },
        });
    }
    if !r.0.is_empty() {
        return Err("trailing bytes after array".into());
    }
    if dims.is_empty() {
        return Ok(Some(Value::Array(Vec::new())));
    }
    Ok(Some(nest(&dims, &mut items.into_iter())))
}

fn nest(dims: &[usize], items: &mut impl Iterator<Item = Value>) -> Value {
    match dims {
        [] | [_] => Value::Array(items.take(dims.first().copied().unwrap_or(0)).collect()),
        [n, rest @ ..] => Value::Array((0..*n).map(|_| nest(rest, items)).collect()),
    }
}

/// A record as the object PostgreSQL's `row_to_json` makes of it: a composite type's value keyed
/// by its field names (`{a: 1, b: x}`), an anonymous record (`SELECT ROW(1, 'a')`) by `f1`,
/// `f2`, …. A field gaterun cannot decode: `None` for a composite, which the server then
/// prints; an error for an anonymous record, which cannot be sent back to be printed.
fn record(raw: &[u8], composite: Option<&[Field]>) -> Result<Option<Value>, Error> {
    let mut r = Reader(raw);
    let n = r.len()?.ok_or("negative field count")?;
    if n > raw.len() / 8 || composite.is_some_and(|f| f.len() != n) {
        return Err("malformed record".into());
    }
    let cannot = |name: &str| -> Error {
        format!("a record field of type {name} cannot be read: cast the record to text").into()
    };
    let mut fields = serde_json::Map::new();
    for i in 0..n {
        let oid = r.i32()? as u32;
        let (name, ty) = match composite.and_then(|f| f.get(i)) {
            Some(f) => (f.name().to_owned(), f.type_().clone()),
            None => (
                format!("f{}", i + 1),
                Type::from_oid(oid).ok_or_else(|| cannot(&format!("oid {oid}")))?,
            ),
        };
        let value = match r.len()? {
            None => Value::Null,
            Some(len) => match decode(&ty, r.take(len)?)? {
                Some(v) => v,
                None if composite.is_some() => return Ok(None),
                None => return Err(cannot(ty.name())),
            },
        };
        fields.insert(name, value);
    }
    if !r.0.is_empty() {
        return Err("trailing bytes after record".into());
    }
    Ok(Some(Value::Object(fields)))
}

/// NUMERIC's binary form — digit count, weight, sign, display scale, then base-10000 digits —
/// as PostgreSQL prints it: a JSON number with exactly the display scale's digits, or the
/// strings `NaN`, `Infinity`, `-Infinity`. `None` for a malformed value.
pub fn numeric(raw: &[u8]) -> Option<Value> {
    let word =
        |i: usize| -> Option<u16> { Some(u16::from_be_bytes([*raw.get(i)?, *raw.get(i + 1)?])) };
    let (ndigits, weight, sign, scale) = (
        usize::from(word(0)?),
        i64::from(word(2)? as i16),
        word(4)?,
        word(6)?,
    );
    match sign {
        0xC000 => return Some(Value::from("NaN")),
        0xD000 => return Some(Value::from("Infinity")),
        0xF000 => return Some(Value::from("-Infinity")),
        0x0000 | 0x4000 => {}
        _ => return None,
    }
    if raw.len() != 8 + 2 * ndigits || scale > 0x3FFF {
        return None;
    }
    let digits: Vec<u16> = (0..ndigits)
        .map(|k| word(8 + 2 * k).filter(|d| *d < 10_000))
        .collect::<Option<_>>()?;
    // Digit k is worth 10000^(weight - k).
    let group = |k: i64| -> u16 {
        usize::try_from(k)
            .ok()
            .and_then(|k| digits.get(k).copied())
            .unwrap_or(0)
    };
    let int_part: String = (0..=weight).map(|k| format!("{:04}", group(k))).collect();
    let int_part = match int_part.trim_start_matches('0') {
        "" => "0",
        s => s,
    };
    let scale = usize::from(scale);
    let mut frac: String = (1..=scale.div_ceil(4) as i64)
        .map(|j| format!("{:04}", group(weight + j)))
        .collect();
    frac.truncate(scale);
    let zero = int_part == "0" && frac.bytes().all(|b| b == b'0');
    let text = format!(
        "{}{int_part}{}{frac}",
        if sign == 0x4000 && !zero { "-" } else { "" },
        if scale > 0 { "." } else { "" }
    );
    serde_json::from_str(&text).ok()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// NUMERIC's binary form from its parts.
    fn numeric_bytes(weight: i16, sign: u16, scale: u16, digits: &[u16]) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend((digits.len() as u16).to_be_bytes());
        b.extend(weight.to_be_bytes());
        b.extend(sign.to_be_bytes());
        b.extend(scale.to_be_bytes());
        for d in digits {
            b.extend(d.to_be_bytes());
        }
        b
    }

    fn text(v: &Value) -> String {
        match v {
            Value::String(s) => format!("string {s}"),
            other => format!(
                "{} {other}",
                if other.is_number() { "number" } else { "other" }
            ),
        }
    }

    #[test]
    fn numerics_read_as_postgres_prints_them() {
        let cases: &[(i16, u16, u16, &[u16], &str)] = &[
            (0, 0xD000, 0, &[], "string Infinity"),
            (0, 0xF000, 0, &[], "string -Infinity"),
            (0, 0xC000, 0, &[], "string NaN"),
            (0, 0, 0, &[], "number 0"),
            (0, 0, 2, &[], "number 0.00"),
            (0, 0x4000, 0, &[42], "number -42"),
            (1, 0, 2, &[1, 2345, 6700], "number 12345.67"),
            (2, 0, 0, &[1], "number 100000000"),
            (-2, 0, 8, &[12], "number 0.00000012"),
            (-1, 0x4000, 5, &[5000], "number -0.50000"),
            // 1e-400: 99 zero groups, then 0001 as the 400th decimal.
            (
                -100,
                0,
                400,
                &[1],
                &format!("number 0.{}1", "0".repeat(399)),
            ),
        ];
        for (weight, sign, scale, digits, want) in cases {
            let got = numeric(&numeric_bytes(*weight, *sign, *scale, digits)).expect("decodes");
            assert_eq!(&text(&got), want);
        }
        let tiny = numeric(&numeric_bytes(-100, 0, 400, &[1])).expect("decodes");
        assert!(crate::expect::value::values_equal(
            &serde_json::from_str("1e-400").expect("number"),
            &tiny
        ));
        assert!(!crate::expect::value::values_equal(&json!(0), &tiny));
        for bad in [
            numeric_bytes(0, 0x1234, 0, &[]),
            numeric_bytes(0, 0, 0, &[10_000]),
            numeric_bytes(0, 0, 0x4000, &[1]),
            vec![0, 2, 0, 0, 0, 0, 0, 0, 0, 1],
            vec![0, 0, 0],
        ] {
            assert_eq!(numeric(&bad), None, "{bad:?}");
        }
    }

    #[test]
    fn non_finite_floats_are_strings() {
        for (f, want) in [
            (f32::INFINITY, json!("Infinity")),
            (f32::NEG_INFINITY, json!("-Infinity")),
            (f32::NAN, json!("NaN")),
        ] {
            assert_eq!(float4(f), want);
            assert_eq!(float_cell(f64::from(f)), want);
        }
        let same = crate::expect::value::values_equal;
        assert_eq!(float4(0.1).to_string(), "0.1");
        assert!(same(&json!(1e30), &float4(1e30)));
        assert!(!same(&json!(0.10000000149011612), &float4(0.1)));
    }

    #[test]
    fn json_deeper_than_the_parser_stays_text() {
        let deep = format!("{}1{}", "[".repeat(200), "]".repeat(200));
        assert_eq!(json(deep.as_bytes()).expect("json"), Value::from(deep));
        let parsed = json(b"{\"a\": [1, 2.50]}").expect("json");
        assert!(crate::expect::value::values_equal(
            &json!({"a": [1, 2.5]}),
            &parsed
        ));
    }

    #[test]
    fn timestamps_in_years_1_to_9999_else_the_server_prints_them() {
        let day = 86_400_000_000_i64;
        for (micros, zone, want) in [
            (0, true, Some("2000-01-01T00:00:00Z")),
            (1_500_000, false, Some("2000-01-01 00:00:01.500000")),
            (-day, false, Some("1999-12-31 00:00:00")),
            // 1960-01-01: before the Unix epoch.
            (-14_610 * day, true, Some("1960-01-01T00:00:00Z")),
            (i64::MAX, true, None),
            (i64::MIN, false, None),
        ] {
            assert_eq!(timestamp(micros, zone).as_deref(), want, "{micros}");
        }
        assert_eq!(civil(0), (1970, 1, 1));
        assert_eq!(civil(-719_162), (1, 1, 1));
        assert_eq!(civil(2_932_896), (9999, 12, 31));
    }

    #[test]
    fn arrays_nest_by_dimension() {
        let int4 = |v: i32| v.to_be_bytes().to_vec();
        let mut raw = Vec::new();
        for w in [2, 0, 23, 2, 1, 2, 1] {
            raw.extend(int4(w));
        }
        for v in [1, 2, 3, 4] {
            raw.extend(int4(4));
            raw.extend(int4(v));
        }
        assert_eq!(
            array(&Type::INT4, &raw).expect("array"),
            Some(json!([[1, 2], [3, 4]]))
        );
        let empty: Vec<u8> = [0, 0, 23].into_iter().flat_map(int4).collect();
        assert_eq!(array(&Type::INT4, &empty).expect("array"), Some(json!([])));
        // A dimension claiming more elements than there are bytes.
        let lying: Vec<u8> = [1, 0, 23, 1_000_000, 1]
            .into_iter()
            .flat_map(int4)
            .collect();
        assert!(array(&Type::INT4, &lying).is_err());
    }

    #[test]
    fn an_anonymous_record_is_an_object_of_f1_f2() {
        let mut raw = Vec::new();
        raw.extend(2_i32.to_be_bytes());
        raw.extend(23_u32.to_be_bytes());
        raw.extend(4_i32.to_be_bytes());
        raw.extend(7_i32.to_be_bytes());
        raw.extend(25_u32.to_be_bytes());
        raw.extend((-1_i32).to_be_bytes());
        let got = decode(&Type::RECORD, &raw).expect("record");
        assert_eq!(got, Some(json!({"f1": 7, "f2": null})));
        // A field of a type only the server knows.
        raw[4..8].copy_from_slice(&99_999_u32.to_be_bytes());
        assert!(decode(&Type::RECORD, &raw).is_err());
        assert!(decode(&Type::RECORD, &raw[..10]).is_err());
    }

    #[test]
    fn bytea_is_never_a_string() {
        let got = decode(&Type::BYTEA, b"A").expect("bytea").expect("value");
        assert_eq!(got, json!({"bytes": "41"}));
        assert!(!crate::expect::value::values_equal(&json!("A"), &got));
        assert!(!crate::expect::value::values_equal(&json!("\\x41"), &got));
    }
}
