//! The HTTP version: the one a step asks for (`version:`), and the one its response must have
//! (`expect.version`), exactly.

use crate::config::HttpVersion;
use crate::steps::outcome::Failure;

/// The protocol version a request is sent with.
pub(super) fn wire(v: HttpVersion) -> reqwest::Version {
    match v {
        HttpVersion::V1_0 => reqwest::Version::HTTP_10,
        HttpVersion::V1_1 => reqwest::Version::HTTP_11,
        HttpVersion::V2 => reqwest::Version::HTTP_2,
    }
}

/// How a response's version reads in a message: `1.1`, `2`.
fn name(v: reqwest::Version) -> String {
    match v {
        reqwest::Version::HTTP_09 => "0.9".to_owned(),
        reqwest::Version::HTTP_10 => "1.0".to_owned(),
        reqwest::Version::HTTP_11 => "1.1".to_owned(),
        reqwest::Version::HTTP_2 => "2".to_owned(),
        reqwest::Version::HTTP_3 => "3".to_owned(),
        other => format!("{other:?}"),
    }
}

/// `expect.version` against the response's.
pub(super) fn check(want: Option<HttpVersion>, got: reqwest::Version) -> Result<(), Failure> {
    match want {
        Some(w) if wire(w) != got => Err(Failure::Check(format!(
            "expected HTTP version {}, got {}",
            w.name(),
            name(got)
        ))),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_version_and_its_near_miss() {
        assert!(check(Some(HttpVersion::V1_1), reqwest::Version::HTTP_11).is_ok());
        assert!(check(None, reqwest::Version::HTTP_10).is_ok());
        match check(Some(HttpVersion::V2), reqwest::Version::HTTP_11) {
            Err(Failure::Check(m)) => assert_eq!(m, "expected HTTP version 2, got 1.1"),
            _ => panic!("a 1.1 answer must fail an expected 2"),
        }
        assert!(check(Some(HttpVersion::V1_0), reqwest::Version::HTTP_11).is_err());
    }
}
