//! A response body's content coding (`Content-Encoding: gzip`, `deflate`, `br`, or a chain of
//! them) undone, so that every check reads what the server meant, not its compressed bytes.
//! gaterun decodes it itself rather than letting the client do it: the decoded size is capped
//! like a raw body (a 1 KB gzip bomb stops at the cap instead of filling memory), and the log
//! says what was decoded. A coding it cannot undo (zstd, compress) leaves the body as it came,
//! and the checks that read it fail saying so.

use std::io::Read;

/// The request header gaterun sends unless the step sets its own.
pub(super) const ACCEPT_ENCODING: &str = "gzip, deflate, br";

/// A body after its content coding was undone (or left, when gaterun cannot undo it).
pub(super) struct Decoded {
    pub body: Vec<u8>,
    /// The body goes on past `cap` (raw or decoded).
    pub cut: bool,
    /// For the log: `body decoded from gzip: 312 bytes -> 4096 bytes`.
    pub note: Option<String>,
    /// The coding gaterun did not undo (`zstd`): the body is still encoded.
    pub undecoded: Option<String>,
}

/// Undoes the codings of `Content-Encoding` on `raw` (of which only the first `cap` bytes may
/// have been read: `raw_cut`), keeping at most `cap` decoded bytes. Err: the body is not what
/// its coding says (one line).
pub(super) fn decode(
    headers: &reqwest::header::HeaderMap,
    raw: Vec<u8>,
    raw_cut: bool,
    cap: usize,
) -> Result<Decoded, String> {
    let codings: Vec<String> = headers
        .get_all(reqwest::header::CONTENT_ENCODING)
        .iter()
        .flat_map(|v| {
            String::from_utf8_lossy(v.as_bytes())
                .split(',')
                .map(|c| c.trim().to_ascii_lowercase())
                .collect::<Vec<_>>()
        })
        .filter(|c| !c.is_empty() && c != "identity")
        .collect();
    let unchanged = |undecoded| Decoded {
        body: Vec::new(),
        cut: raw_cut,
        note: None,
        undecoded,
    };
    // An empty body (a HEAD, a 204) has nothing to decode.
    if codings.is_empty() || raw.is_empty() {
        return Ok(Decoded {
            body: raw,
            ..unchanged(None)
        });
    }
    if codings.iter().any(|c| coding(c).is_none()) {
        return Ok(Decoded {
            body: raw,
            ..unchanged(Some(codings.join(", ")))
        });
    }
    let raw_len = raw.len();
    let mut body = raw;
    let mut cut = false;
    // Codings are listed in the order they were applied: undone last first.
    for (name, kind) in codings.iter().rev().filter_map(|c| Some((c, coding(c)?))) {
        match undo(kind, &body, cap) {
            Ok((out, more)) => {
                body = out;
                cut |= more;
            }
            // A stream cut at the cap ends early: what was decoded stands, marked cut.
            Err((partial, _)) if raw_cut || cut => {
                body = partial;
                cut = true;
            }
            Err((_, reason)) => {
                return Err(format!(
                    "the body is not valid {name} ({reason}), as its Content-Encoding says"
                ));
            }
        }
    }
    let cut = cut || raw_cut;
    let note = format!(
        "body decoded from {}: {raw_len} bytes -> {} bytes{}",
        codings.join(", "),
        body.len(),
        if cut { " (cut at the cap)" } else { "" }
    );
    Ok(Decoded {
        body,
        cut,
        note: Some(note),
        undecoded: None,
    })
}

#[derive(Clone, Copy)]
enum Coding {
    Gzip,
    Deflate,
    Brotli,
}

fn coding(name: &str) -> Option<Coding> {
    match name {
        "gzip" | "x-gzip" => Some(Coding::Gzip),
        "deflate" => Some(Coding::Deflate),
        "br" => Some(Coding::Brotli),
        _ => None,
    }
}

/// One coding undone, at most `cap` bytes kept; `.1`: there was more. Err: what was decoded
/// before the data went wrong, and why.
fn undo(kind: Coding, data: &[u8], cap: usize) -> Result<(Vec<u8>, bool), (Vec<u8>, String)> {
    let reader: Box<dyn Read + '_> = match kind {
        // Several gzip members one after another are one body (as `gzip -c a b` writes).
        Coding::Gzip => Box::new(flate2::read::MultiGzDecoder::new(data)),
        // `deflate` is meant to be zlib (RFC 9110), but servers send raw deflate too: the
        // zlib header (CMF, FLG) is a multiple of 31 with method 8.
        Coding::Deflate if is_zlib(data) => Box::new(flate2::read::ZlibDecoder::new(data)),
        Coding::Deflate => Box::new(flate2::read::DeflateDecoder::new(data)),
        Coding::Brotli => Box::new(brotli_decompressor::Decompressor::new(data, 8192)),
    };
    let mut out = Vec::new();
    // One byte past the cap tells that the body goes on; a bomb stops there.
    let read = reader.take(cap as u64 + 1).read_to_end(&mut out);
    let cut = out.len() > cap;
    out.truncate(cap);
    match read {
        Ok(_) => Ok((out, cut)),
        Err(e) => Err((out, short(&e))),
    }
}

fn is_zlib(data: &[u8]) -> bool {
    match data {
        [cmf, flg, ..] => cmf & 0x0f == 8 && (u16::from(*cmf) << 8 | u16::from(*flg)) % 31 == 0,
        _ => false,
    }
}

fn short(e: &std::io::Error) -> String {
    let text = e.to_string();
    if text.is_empty() {
        "corrupt data".to_owned()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn headers(encoding: &str) -> reqwest::header::HeaderMap {
        let mut h = reqwest::header::HeaderMap::new();
        h.insert(
            reqwest::header::CONTENT_ENCODING,
            encoding.parse().expect("header value"),
        );
        h
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).expect("write");
        e.finish().expect("finish")
    }

    #[test]
    fn gzip_deflate_zlib_and_raw_are_decoded() {
        let text = b"hello, decoded world".repeat(10);
        let d = decode(&headers("gzip"), gzip(&text), false, 1 << 20).expect("gzip");
        assert_eq!(d.body, text);
        assert_eq!(
            d.note.as_deref(),
            Some(
                format!(
                    "body decoded from gzip: {} bytes -> 200 bytes",
                    gzip(&text).len()
                )
                .as_str()
            )
        );
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(&text).expect("write");
        let d = decode(
            &headers("deflate"),
            z.finish().expect("zlib"),
            false,
            1 << 20,
        );
        assert_eq!(d.expect("zlib").body, text);
        let mut r = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        r.write_all(&text).expect("write");
        let d = decode(
            &headers("deflate"),
            r.finish().expect("raw"),
            false,
            1 << 20,
        );
        assert_eq!(d.expect("raw deflate").body, text);
    }

    #[test]
    fn a_chain_is_undone_last_first_and_an_unknown_coding_is_left() {
        let text = b"twice".to_vec();
        let d = decode(&headers("gzip, gzip"), gzip(&gzip(&text)), false, 1 << 20);
        assert_eq!(d.expect("chain").body, text);
        let d = decode(&headers("gzip, zstd"), b"xx".to_vec(), false, 1 << 20).expect("left");
        assert_eq!(d.body, b"xx");
        assert_eq!(d.undecoded.as_deref(), Some("gzip, zstd"));
    }

    #[test]
    fn a_bomb_stops_at_the_cap_and_corrupt_data_is_one_line() {
        let bomb = gzip(&vec![0u8; 4 << 20]);
        assert!(bomb.len() < 8 << 10, "{}", bomb.len());
        let d = decode(&headers("gzip"), bomb, false, 1 << 20).expect("bomb");
        assert_eq!(d.body.len(), 1 << 20);
        assert!(d.cut);
        let e = decode(
            &headers("gzip"),
            b"not gzip at all".to_vec(),
            false,
            1 << 20,
        );
        let e = e.err().expect("corrupt");
        assert!(e.starts_with("the body is not valid gzip ("), "{e}");
        assert!(!e.contains('\n'), "{e}");
        let e = decode(
            &headers("br"),
            b"\xff\xff\xff garbage".to_vec(),
            false,
            1 << 20,
        );
        assert!(e.is_err());
    }

    #[test]
    fn an_empty_body_or_identity_is_left_alone() {
        let d = decode(&headers("gzip"), Vec::new(), false, 10).expect("empty");
        assert!(d.note.is_none() && d.body.is_empty());
        let d = decode(&headers("identity"), b"x".to_vec(), false, 10).expect("identity");
        assert!(d.note.is_none() && d.undecoded.is_none());
    }
}
