//! An `http` step's `sign:`: the key is a template (a secret's `${NAME}`), the header a header
//! name the step does not also set, the prefix plain text. (A key written in the file is
//! allowed, as a fixture, and warned about by `lint`.)

use super::ctx::{FileCtx, check_template, is_token_byte};
use crate::config::model::HttpSign;
use crate::config::raw::{RawSign, Sp};

pub fn build(
    ctx: &mut FileCtx,
    raw: Sp<RawSign>,
    headers: &[(String, String)],
) -> Option<HttpSign> {
    let RawSign {
        hmac_sha256: key,
        header,
        prefix,
    } = raw.value;
    let mut ok = true;
    if key.value.trim().is_empty() {
        ctx.error(
            key.referenced,
            "`sign.hmac_sha256` is empty: give the key, as `${NAME}` of a secret",
        );
        ok = false;
    } else if check_template(ctx, key.referenced, &key.value).is_none() {
        ok = false;
    }
    let name = header.value.trim();
    if name.is_empty() || !name.bytes().all(is_token_byte) {
        ctx.error(
            header.referenced,
            format!("`sign.header`: `{name}` is not a header name (letters, digits and !#$%&'*+-.^_`|~, no spaces)"),
        );
        ok = false;
    } else if headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)) {
        ctx.error(
            header.referenced,
            format!(
                "`sign.header` `{name}` is also set in `headers`: the signature would be sent twice"
            ),
        );
        ok = false;
    }
    let prefix = match prefix {
        Some(p) if p.value.chars().any(char::is_control) => {
            ctx.error(p.referenced, "`sign.prefix` may not hold a control character (a line break would end the header)");
            ok = false;
            String::new()
        }
        Some(p) => p.value,
        None => String::new(),
    };
    ok.then(|| HttpSign {
        key: key.value,
        header: name.to_owned(),
        prefix,
    })
}
