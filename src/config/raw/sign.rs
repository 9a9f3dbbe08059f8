//! An `http` step's `sign:` as written: the request body signed with HMAC-SHA256 under a key,
//! the signature sent in a header (`X-Hub-Signature-256: sha256=<hex>`), as webhook senders do.

use schemars::JsonSchema;
use serde::Deserialize;

use super::values::Sp;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSign {
    /// The key; write it as `${NAME}` of a name in `secrets:`. The key, and every signature
    /// made with it, are masked in all output.
    pub hmac_sha256: Sp<String>,
    /// The header the signature goes in, e.g. `X-Hub-Signature-256`.
    pub header: Sp<String>,
    /// Written before the hex digest, e.g. `sha256=`; default none.
    pub prefix: Option<Sp<String>>,
}
