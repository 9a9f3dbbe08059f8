//! Secrets out of everything gaterun writes: one masking function for logs, messages and
//! names. A secret is masked in every form a program or gaterun itself may print it in (as is;
//! JSON-escaped, once or nested up to three times; Debug- and URL-escaped; base64; hex; in capitals and in small letters; each line of a multi-line secret), longest first, and
//! then every run of text that shares 8 or more bytes with a form is masked too, so a secret
//! cut by a cap, a preview, a line break or a control character leaves no piece of 8 or more
//! characters in clear.

use std::collections::HashSet;

/// The shortest piece of a secret that is masked wherever it stands.
pub const PIECE: usize = 8;
/// The shortest line of a multi-line secret masked alone, and the shortest credential a gate
/// sends that is masked as a secret (`steps::http::credentials`): a shorter one would mask
/// every such run of letters in a log, and hide nothing.
pub const SHORTEST: usize = 4;
const MASK: &[u8] = b"***";

/// The forms of a secret worth masking, longest first, each non-empty and once.
pub fn forms(secret: &str) -> Vec<String> {
    let mut out = vec![secret.to_owned()];
    // JSON-escaped, and escaped again as JSON nested in a JSON string is (a mock echoing a
    // JSON request body into its JSON answer, a log of a log): up to three levels.
    let mut nested = secret.to_owned();
    for _ in 0..3 {
        let Ok(json) = serde_json::to_string(&nested) else {
            break;
        };
        let escaped = json[1..json.len() - 1].to_owned();
        if escaped == nested {
            break;
        }
        out.push(escaped.clone());
        nested = escaped;
    }
    let debug = format!("{secret:?}");
    out.push(debug[1..debug.len() - 1].to_owned());
    out.push(url_encode(secret, false));
    out.push(url_encode(secret, true));
    out.push(base64(secret.as_bytes(), true));
    out.push(base64(secret.as_bytes(), false));
    out.extend(base64_within(secret.as_bytes()));
    // Shown in capitals or small letters (`text-transform`, `toUpperCase()`), or as hex.
    out.push(secret.to_uppercase());
    out.push(secret.to_lowercase());
    out.push(secret.bytes().map(|b| format!("{b:02x}")).collect());
    out.push(secret.bytes().map(|b| format!("{b:02X}")).collect());
    // A multi-line secret (a key file) may be printed a line at a time.
    if secret.contains('\n') {
        out.extend(
            secret
                .lines()
                .map(|l| l.trim_end_matches('\r'))
                .filter(|l| l.trim().len() >= SHORTEST)
                .map(str::to_owned),
        );
    }
    out.retain(|f| !f.is_empty());
    out.sort_by_key(|f| std::cmp::Reverse(f.len()));
    out.dedup();
    out
}

/// Masks a set of secrets; build it once for many texts.
pub struct Masker {
    forms: Vec<Vec<u8>>,
    pieces: HashSet<[u8; PIECE]>,
}

impl Masker {
    pub fn new(secrets: &[String]) -> Masker {
        let mut all: Vec<Vec<u8>> = secrets
            .iter()
            .filter(|s| !s.is_empty())
            .flat_map(|s| forms(s))
            .map(String::into_bytes)
            .collect();
        all.sort_by_key(|f| std::cmp::Reverse(f.len()));
        all.dedup();
        let mut pieces = HashSet::new();
        for f in &all {
            for w in f.windows(PIECE) {
                pieces.insert(piece_of(w));
            }
        }
        Masker { forms: all, pieces }
    }

    pub fn is_empty(&self) -> bool {
        self.forms.is_empty()
    }

    /// `data` with every form replaced by `***`, then every run that shares a piece of 8 bytes
    /// with a form. With `cut_before` / `cut_after`, the data was cut just before its start /
    /// after its end: a form's tail at the very start / head at the very end is masked too,
    /// however short.
    pub fn mask(&self, data: &[u8], cut_before: bool, cut_after: bool) -> Vec<u8> {
        if self.is_empty() {
            return data.to_vec();
        }
        let mut out = data.to_vec();
        // Whole forms first, all of them: an edge match of one form must not break a whole
        // match of another.
        for form in &self.forms {
            out = replace_all(&out, form);
        }
        // Then what a cut left of a form at an edge: the longest such piece of any form.
        if cut_after
            && let Some(k) = self
                .forms
                .iter()
                .filter_map(|f| (1..f.len()).rev().find(|&k| out.ends_with(&f[..k])))
                .max()
        {
            out.truncate(out.len() - k);
            out.extend_from_slice(MASK);
        }
        if cut_before
            && let Some(k) = self
                .forms
                .iter()
                .filter_map(|f| {
                    (1..f.len())
                        .rev()
                        .find(|&k| out.starts_with(&f[f.len() - k..]))
                })
                .max()
        {
            out.splice(..k, MASK.iter().copied());
        }
        self.mask_pieces(&out)
    }

    pub fn mask_text(&self, text: &str) -> String {
        let masked = self.mask(text.as_bytes(), false, false);
        String::from_utf8(masked)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
    }

    /// Every run of bytes covered by a piece of a secret, replaced by `***` (widened to whole
    /// UTF-8 characters).
    fn mask_pieces(&self, data: &[u8]) -> Vec<u8> {
        if self.pieces.is_empty() || data.len() < PIECE {
            return data.to_vec();
        }
        let mut covered = vec![false; data.len()];
        let mut any = false;
        for (i, w) in data.windows(PIECE).enumerate() {
            if self.pieces.contains(&piece_of(w)) {
                covered[i..i + PIECE].iter_mut().for_each(|c| *c = true);
                any = true;
            }
        }
        if !any {
            return data.to_vec();
        }
        let continuation = |b: u8| b & 0xC0 == 0x80;
        // Widen each covered run to whole characters.
        for i in 1..data.len() {
            if covered[i] && !covered[i - 1] && continuation(data[i]) {
                let mut j = i;
                while j > 0 && continuation(data[j]) {
                    j -= 1;
                    covered[j] = true;
                }
            }
        }
        for i in (0..data.len().saturating_sub(1)).rev() {
            if covered[i] && !covered[i + 1] && continuation(data[i + 1]) {
                let mut j = i + 1;
                while j < data.len() && continuation(data[j]) {
                    covered[j] = true;
                    j += 1;
                }
            }
        }
        let mut out = Vec::with_capacity(data.len());
        let mut i = 0;
        while i < data.len() {
            if covered[i] {
                out.extend_from_slice(MASK);
                while i < data.len() && covered[i] {
                    i += 1;
                }
            } else {
                out.push(data[i]);
                i += 1;
            }
        }
        out
    }
}

/// A window of 8 bytes with every white space byte as a space: a writer that joins lines or
/// turns a tab into a space (a table cell, a one-line message) must not put a piece of a
/// secret back together.
fn piece_of(w: &[u8]) -> [u8; PIECE] {
    let mut piece = [0u8; PIECE];
    for (p, b) in piece.iter_mut().zip(w) {
        *p = if matches!(b, b'\t' | b'\n' | b'\r') {
            b' '
        } else {
            *b
        };
    }
    piece
}

fn replace_all(data: &[u8], needle: &[u8]) -> Vec<u8> {
    let Some(&first) = needle.first() else {
        return data.to_vec();
    };
    let mut out = Vec::with_capacity(data.len());
    let mut i = 0;
    while i < data.len() {
        if data[i] == first && data[i..].starts_with(needle) {
            out.extend_from_slice(MASK);
            i += needle.len();
        } else {
            out.push(data[i]);
            i += 1;
        }
    }
    out
}

fn url_encode(s: &str, plus_for_space: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(b as char)
            }
            b' ' if plus_for_space => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The base64 of a secret inside longer data (`Basic base64("user:" + secret)`, a token in a
/// JSON document then encoded): at each of the three offsets it can start at, the characters
/// that only the secret's bits make, in the standard and the URL alphabet. Shorter than six
/// characters they would mask common text, and are left.
fn base64_within(secret: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    for shift in 0..3usize {
        let mut data = vec![0u8; shift];
        data.extend_from_slice(secret);
        let text = base64(&data, false);
        // Characters mixing the filler's bits (before) or the next unknown byte's (after).
        let skip = [0, 2, 3][shift];
        let keep = (data.len() / 3) * 4 + [0, 1, 2][data.len() % 3];
        let whole = if data.len() % 3 == 0 { keep } else { keep - 1 };
        let Some(core) = text.get(skip..whole.max(skip)) else {
            continue;
        };
        if core.len() >= 6 {
            out.push(core.to_owned());
            out.push(core.replace('+', "-").replace('/', "_"));
        }
    }
    out
}

fn base64(data: &[u8], pad: bool) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(ABC[((n >> (18 - 6 * k)) & 63) as usize] as char);
            } else if pad {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_escaped_as_json_inside_json_is_masked() {
        let secret = r#"Kq7"Zp3"Wm9"Rt5"Yx2"Hb8"#;
        let once = serde_json::to_string(&serde_json::json!({ "t": secret })).unwrap();
        let twice = serde_json::to_string(&serde_json::json!({ "b": once })).unwrap();
        let thrice = serde_json::to_string(&serde_json::json!({ "c": twice })).unwrap();
        let m = Masker::new(&[secret.to_owned()]);
        for text in [&once, &twice, &thrice] {
            let masked = m.mask_text(text);
            assert!(!masked.contains("Zp3"), "{masked}");
            assert!(masked.contains("***"), "{masked}");
        }
        // The near miss: another string of the same shape, nested alike, stays.
        let other = twice
            .replace("Kq7", "Ab1")
            .replace("Zp3", "Cd2")
            .replace("Wm9", "Ef3");
        let other = other
            .replace("Rt5", "Gh4")
            .replace("Yx2", "Ij5")
            .replace("Hb8", "Kl6");
        let shown = m.mask_text(&other);
        assert!(shown.contains("Ab1") && shown.contains("Kl6"), "{shown}");
    }

    #[test]
    fn every_form_is_masked() {
        let secret = "pa\"ss\\word %, :x\tend";
        let m = Masker::new(&[secret.to_owned()]);
        for shown in [
            secret.to_owned(),
            serde_json::to_string(secret).unwrap(),
            format!("{secret:?}"),
            url_encode(secret, false),
            url_encode(secret, true),
            base64(secret.as_bytes(), true),
            secret.to_uppercase(),
            secret.to_lowercase(),
            secret.bytes().map(|b| format!("{b:02x}")).collect(),
        ] {
            let text = format!("before {shown} after");
            let masked = m.mask_text(&text);
            assert!(
                masked.starts_with("before ") && masked.ends_with(" after"),
                "{masked}"
            );
            for w in secret
                .as_bytes()
                .windows(PIECE)
                .chain(shown.as_bytes().windows(PIECE))
            {
                assert!(
                    !masked.as_bytes().windows(PIECE).any(|x| x == w),
                    "{masked}"
                );
            }
        }
        assert_eq!(base64(b"hello", true), "aGVsbG8=");
        assert_eq!(base64(b"hello", false), "aGVsbG8");
    }

    /// A secret whole at the very end of a cut head: the edge match of its base64 form
    /// (`V…`) must not break the whole match and leave `TAAAAA` (found by the property test).
    #[test]
    fn a_whole_secret_at_a_cut_edge_is_masked_whole() {
        let m = Masker::new(&["TAAAAAV".to_owned()]);
        let head = format!("{}TAAAAAV", "a".repeat(20));
        let out = String::from_utf8(m.mask(head.as_bytes(), false, true)).unwrap();
        assert_eq!(out, format!("{}***", "a".repeat(20)));
        let tail = format!("TAAAAAV{}", "a".repeat(20));
        let out = String::from_utf8(m.mask(tail.as_bytes(), true, false)).unwrap();
        assert_eq!(out, format!("***{}", "a".repeat(20)));
    }

    #[test]
    fn pieces_of_eight_are_masked_wherever_they_stand() {
        let m = Masker::new(&["s3cretPartOfTheKey99".to_owned()]);
        // Cut by a preview, split by a line break or a CR, half of it alone.
        for text in [
            "got \"xxs3cretPart…\"",
            "s3cretPa\nrtOfTheKey99",
            "a s3cretPa\rrtOfTheKey99 b",
            "OfTheKey99 alone",
        ] {
            let masked = m.mask_text(text);
            assert!(
                !masked.contains("s3cretPa") && !masked.contains("OfTheKey"),
                "{masked}"
            );
        }
        // A line break where the secret has a space (or the other way) is the same piece.
        let m2 = Masker::new(&["open sesame now".to_owned()]);
        assert!(!m2.mask_text("open\nsesame\tnow").contains("sesame"));
        // Seven bytes in common is no piece; the text around stays.
        assert_eq!(m.mask_text("the s3cretP is short"), "the s3cretP is short");
        // A multi-line secret printed a line at a time.
        let key = "-----BEGIN-----\nAAAA\nBBBBCCCC\n-----END-----".to_owned();
        let m = Masker::new(&[key]);
        assert_eq!(m.mask_text("line: AAAA"), "line: ***");
        // Masks widen to whole characters.
        let m = Masker::new(&["ééééééé-secret".to_owned()]);
        let masked = m.mask_text("xéééééé-secre");
        assert!(String::from_utf8(masked.into_bytes()).is_ok());
    }

    #[test]
    fn a_secret_inside_base64_is_masked_at_any_offset() {
        let secret = "Early7Tok3nValue";
        let m = Masker::new(&[secret.to_owned()]);
        for user in ["", "a:", "an:", "ana:", "anna:"] {
            let data = format!("{user}{secret}!");
            let basic = base64(data.as_bytes(), true);
            // The characters made by the secret's bits alone, and any 6 in a row of them.
            let (from, to) = (user.len(), user.len() + secret.len());
            let pure: Vec<bool> = (0..basic.len())
                .map(|i| (6 * i) / 8 >= from && (6 * i + 5) / 8 < to)
                .collect();
            for text in [basic.clone(), basic.replace('+', "-").replace('/', "_")] {
                let masked = m.mask_text(&format!("Authorization: Basic {text}"));
                assert!(masked.contains("***"), "{user}: {masked}");
                for i in 0..text.len().saturating_sub(6) {
                    if pure[i..i + 6].iter().all(|&p| p) {
                        assert!(!masked.contains(&text[i..i + 6]), "{user}: {masked}");
                    }
                }
            }
        }
        let hex: String = secret.bytes().map(|b| format!("{b:02X}")).collect();
        assert!(!m.mask_text(&hex).contains(&hex[..16]));
        // The near miss: base64 of other text is left alone.
        let other = base64(b"ana:another-value-entirely", true);
        assert_eq!(m.mask_text(&other), other);
    }
}
