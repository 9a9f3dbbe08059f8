//! `sign:`: the body exactly as sent, signed with HMAC-SHA256 (RFC 2104 over SHA-256, from
//! RustCrypto's `hmac`), in lower-case hex after the prefix. The key and the signature are
//! added to the gate's secrets, so both are masked in everything the gate leaves: the
//! signature is a credential for its body (whoever holds it can replay the delivery).

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::json::invalid;
use crate::config::HttpSign;
use crate::runner::gate::ctx::GateCtx;
use crate::steps::outcome::Failure;
use crate::vars;

/// The header to send: its name and value (`sha256=<hex>`).
pub(super) fn header(
    ctx: &mut GateCtx,
    sign: &HttpSign,
    body: &[u8],
) -> Result<(String, String), Failure> {
    let key = vars::interpolate(&sign.key, &ctx.vars).map_err(invalid)?;
    if key.is_empty() {
        return Err(Failure::Error(
            "`sign.hmac_sha256` is an empty key: is its variable set?".to_owned(),
        ));
    }
    let digest = hmac_sha256_hex(key.as_bytes(), body);
    // Once each: an `eventually` step signs on every attempt.
    for secret in [key, digest.clone()] {
        if !ctx.secrets.contains(&secret) {
            ctx.secrets.push(secret);
        }
    }
    Ok((sign.header.clone(), format!("{}{digest}", sign.prefix)))
}

pub(super) fn hmac_sha256_hex(key: &[u8], data: &[u8]) -> String {
    // A key of any length is valid for HMAC (a long one is hashed first), so this never fails.
    let mut mac = match Hmac::<Sha256>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(data);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::hmac_sha256_hex;

    fn hex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
            .collect()
    }

    /// RFC 4231, section 4: the HMAC-SHA-256 test cases (case 5, a truncated output, is not
    /// a form `sign` sends).
    #[test]
    fn rfc_4231_vectors() {
        let cases: &[(Vec<u8>, Vec<u8>, &str)] = &[
            (
                vec![0x0b; 20],
                b"Hi There".to_vec(),
                "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
            ),
            (
                b"Jefe".to_vec(),
                b"what do ya want for nothing?".to_vec(),
                "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
            ),
            (
                vec![0xaa; 20],
                vec![0xdd; 50],
                "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
            ),
            (
                hex("0102030405060708090a0b0c0d0e0f10111213141516171819"),
                vec![0xcd; 50],
                "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
            ),
            (
                vec![0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First".to_vec(),
                "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
            ),
            (
                vec![0xaa; 131],
                b"This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.".to_vec(),
                "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
            ),
        ];
        for (key, data, want) in cases {
            assert_eq!(hmac_sha256_hex(key, data), *want);
        }
    }

    /// GitHub's documented example: secret "It's a Secret to Everybody", payload
    /// "Hello, World!".
    #[test]
    fn github_example() {
        assert_eq!(
            hmac_sha256_hex(b"It's a Secret to Everybody", b"Hello, World!"),
            "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
        );
    }
}
