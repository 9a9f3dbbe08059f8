//! Numbers compared by value, exactly, at any size. JSON bodies are parsed keeping each number's
//! text (serde_json's `arbitrary_precision`), so `1000000000000000000001` never equals `1e21`
//! and `0.1 + 0.2`-style float noise never makes two different numbers equal.

use std::cmp::Ordering;

/// A decimal number as `digits × 10^exponent`, normalised: no leading or trailing zeros in
/// `digits` (zero is the empty string and is never negative).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decimal {
    negative: bool,
    digits: String,
    exponent: i128,
}

/// Exponents of more digits than this are not read: such a text is no number a check compares
/// (it fails every comparison), and `i128` arithmetic below never overflows.
const EXPONENT_DIGITS: usize = 30;

impl Decimal {
    /// Parse a JSON number (`-12.5e3`); `None` for anything else.
    pub fn parse(text: &str) -> Option<Decimal> {
        let (negative, rest) = match text.strip_prefix('-') {
            Some(r) => (true, r),
            None => (false, text),
        };
        let (mantissa, exp_text) = match rest.find(['e', 'E']) {
            Some(i) => (&rest[..i], Some(&rest[i + 1..])),
            None => (rest, None),
        };
        let (int, frac) = match mantissa.split_once('.') {
            Some((i, f)) => (i, f),
            None => (mantissa, ""),
        };
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if int.is_empty() || !all_digits(int) || !all_digits(frac) || mantissa.ends_with('.') {
            return None;
        }
        let mut exponent: i128 = match exp_text {
            None => 0,
            Some(e) => {
                let (neg, digits) = match e.as_bytes().first() {
                    Some(b'-') => (true, &e[1..]),
                    Some(b'+') => (false, &e[1..]),
                    _ => (false, e),
                };
                if digits.is_empty() || !all_digits(digits) {
                    return None;
                }
                let digits = digits.trim_start_matches('0');
                if digits.len() > EXPONENT_DIGITS {
                    return None;
                }
                let magnitude = digits.parse::<i128>().unwrap_or(0);
                if neg { -magnitude } else { magnitude }
            }
        };
        let mut digits = format!("{int}{frac}");
        exponent -= frac.len() as i128;
        let trimmed = digits.trim_end_matches('0');
        exponent += (digits.len() - trimmed.len()) as i128;
        digits.truncate(trimmed.len());
        let digits = digits.trim_start_matches('0').to_owned();
        if digits.is_empty() {
            return Some(Decimal {
                negative: false,
                digits,
                exponent: 0,
            });
        }
        Some(Decimal {
            negative,
            digits,
            exponent,
        })
    }

    pub fn from_number(n: &serde_json::Number) -> Option<Decimal> {
        Decimal::parse(&n.to_string())
    }

    /// A whole number: no digit after the decimal point (`5`, `5.0`, `2e3`).
    pub fn is_integer(&self) -> bool {
        self.exponent >= 0
    }

    fn magnitude_cmp(&self, other: &Decimal) -> Ordering {
        match (self.digits.is_empty(), other.digits.is_empty()) {
            (true, true) => return Ordering::Equal,
            (true, false) => return Ordering::Less,
            (false, true) => return Ordering::Greater,
            _ => {}
        }
        // The position of the leading digit decides, then the digits themselves.
        let lead = |d: &Decimal| d.digits.len() as i128 + d.exponent;
        lead(self).cmp(&lead(other)).then_with(|| {
            let (a, b) = (self.digits.as_bytes(), other.digits.as_bytes());
            let n = a.len().max(b.len());
            (0..n)
                .map(|i| {
                    let x = a.get(i).copied().unwrap_or(b'0');
                    let y = b.get(i).copied().unwrap_or(b'0');
                    x.cmp(&y)
                })
                .find(|o| o.is_ne())
                .unwrap_or(Ordering::Equal)
        })
    }
}

impl Ord for Decimal {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self.negative, other.negative) {
            (false, true) => Ordering::Greater,
            (true, false) => Ordering::Less,
            (false, false) => self.magnitude_cmp(other),
            (true, true) => other.magnitude_cmp(self),
        }
    }
}

impl PartialOrd for Decimal {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Two JSON numbers compared by value; `None` if either is not a number's text.
pub fn compare(a: &serde_json::Number, b: &serde_json::Number) -> Option<Ordering> {
    Some(Decimal::from_number(a)?.cmp(&Decimal::from_number(b)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(a: &str, b: &str) -> Ordering {
        Decimal::parse(a).unwrap().cmp(&Decimal::parse(b).unwrap())
    }

    #[test]
    fn equal_by_value() {
        for (a, b) in [
            ("3", "3.0"),
            ("0", "-0"),
            ("0.0", "0e5"),
            ("1e21", "1000000000000000000000"),
            ("4.5", "4.50"),
            ("4.5", "45e-1"),
            ("-12.5e3", "-12500"),
            ("18446744073709551617", "18446744073709551617.000"),
        ] {
            assert_eq!(cmp(a, b), Ordering::Equal, "{a} = {b}");
        }
    }

    #[test]
    fn near_misses_differ() {
        for (a, b) in [
            ("1000000000000000000001", "1e21"),
            ("9007199254740993", "9007199254740992"),
            ("4.5", "4.05"),
            ("14", "4"),
            ("-1", "1"),
            ("0.1", "0.10000000000000001"),
            ("1e-400", "0"),
        ] {
            assert_ne!(cmp(a, b), Ordering::Equal, "{a} != {b}");
        }
    }

    #[test]
    fn ordering() {
        assert_eq!(cmp("2", "10"), Ordering::Less);
        assert_eq!(cmp("-2", "-10"), Ordering::Greater);
        assert_eq!(cmp("0.5", "0"), Ordering::Greater);
        assert_eq!(cmp("-0.5", "0"), Ordering::Less);
        assert_eq!(cmp("1e999999999999999999999", "1e3"), Ordering::Greater);
        // Exponents far apart stay apart (once clamped to one limit, these were equal).
        assert_eq!(
            cmp("1e99999999999999999", "1e99999999999999998"),
            Ordering::Greater
        );
        assert!(Decimal::parse("1e9999999999999999999999999999999").is_none());
        assert_eq!(cmp("99", "1e2"), Ordering::Less);
    }

    #[test]
    fn integers_and_garbage() {
        assert!(Decimal::parse("5.0").unwrap().is_integer());
        assert!(Decimal::parse("2e3").unwrap().is_integer());
        assert!(!Decimal::parse("4.5").unwrap().is_integer());
        assert!(!Decimal::parse("1e-1").unwrap().is_integer());
        for bad in ["", "-", "1.", ".5", "1e", "0x10", "1_000", "NaN", "1e+"] {
            assert!(Decimal::parse(bad).is_none(), "{bad:?}");
        }
    }
}
