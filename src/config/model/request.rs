//! What an `http` step sends, validated: its body in one of its forms, and the HTTP version
//! it asks for (or expects). A leaf of the model: it names nothing of its parent.

#[derive(Debug, Clone)]
pub enum HttpBody {
    /// Sent as `application/json`; string values may hold `${VAR}`.
    Json(serde_json::Value),
    Text(String),
    /// `application/x-www-form-urlencoded`; values may hold `${VAR}`.
    Form(Vec<(String, String)>),
    /// `multipart/form-data`: fields in order.
    Multipart(Vec<(String, MultipartPart)>),
    /// A file's bytes: a path relative to the gate's workdir (may hold `${VAR}`).
    File(String),
    /// Bytes written as base64 (may hold `${VAR}`; checked by `check` when it does not).
    Base64(String),
}

#[derive(Debug, Clone)]
pub enum MultipartPart {
    /// May hold `${VAR}`.
    Text(String),
    File {
        /// Relative to the gate's workdir; may hold `${VAR}`.
        path: String,
        /// `None`: from the extension.
        content_type: Option<String>,
        /// `None`: the file's name.
        filename: Option<String>,
    },
}

/// An `http` step's `version` and `expect.version`: `"1.0"`, `"1.1"`, `"2"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpVersion {
    V1_0,
    V1_1,
    V2,
}

impl HttpVersion {
    pub const NAMES: [&str; 3] = ["1.0", "1.1", "2"];

    pub fn parse(text: &str) -> Option<HttpVersion> {
        match text {
            "1.0" => Some(HttpVersion::V1_0),
            "1.1" => Some(HttpVersion::V1_1),
            "2" => Some(HttpVersion::V2),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        Self::NAMES[self as usize]
    }
}

/// `sign:`: the body as sent, signed with HMAC-SHA256, the lower-case hex digest after
/// `prefix` in `header`.
#[derive(Debug, Clone)]
pub struct HttpSign {
    /// May hold `${VAR}`.
    pub key: String,
    pub header: String,
    pub prefix: String,
}
