//! Why a merge did not happen (`exit` says which exit code that is).

use std::io;
use std::path::PathBuf;

use crate::evidence::{EvidenceError, ReadError};

/// Why a merge did not happen. A shard that is no evidence to merge is refused as a usage
/// error (exit 2); one that could not be read, or merged evidence that could not be written,
/// is a failure (exit 1), like any other I/O failure: nothing is wrong with the command line.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// A wrong argument, or a crafted or inconsistent shard.
    #[error("{0}")]
    Refused(String),
    #[error("failed to read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(transparent)]
    Write(#[from] EvidenceError),
}

impl From<ReadError> for MergeError {
    fn from(e: ReadError) -> Self {
        match e {
            ReadError::Refused { .. } => MergeError::Refused(e.to_string()),
            ReadError::Io { path, source } => MergeError::Read { path, source },
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::path::PathBuf;

    use super::MergeError;
    use crate::evidence::{EvidenceError, ReadError};
    use crate::exit::{self, Error};

    /// A refused shard is the command line's fault (2); a read or write that failed is not (1).
    /// The message is the one the error had before it was typed.
    #[test]
    fn refusals_are_usage_and_io_failures_are_failures() {
        let path = || PathBuf::from("shard/phase-1/stage-00/results.json");
        let denied = || io::Error::from(io::ErrorKind::PermissionDenied);
        let cases: Vec<(MergeError, i32, String)> = vec![
            (
                ReadError::Refused {
                    path: path(),
                    why: "a symbolic link in a shard is never followed".to_owned(),
                }
                .into(),
                exit::USAGE,
                "refusing shard/phase-1/stage-00/results.json: a symbolic link in a shard is never followed".to_owned(),
            ),
            (
                ReadError::Io {
                    path: path(),
                    source: denied(),
                }
                .into(),
                exit::FAILED,
                format!("failed to read shard/phase-1/stage-00/results.json: {}", denied()),
            ),
            (
                EvidenceError {
                    path: path(),
                    source: denied(),
                }
                .into(),
                exit::FAILED,
                format!("failed to write evidence to shard/phase-1/stage-00/results.json: {}", denied()),
            ),
            (
                MergeError::Refused("no stage evidence under shard".to_owned()),
                exit::USAGE,
                "no stage evidence under shard".to_owned(),
            ),
        ];
        for (e, code, message) in cases {
            let e = Error::from(e);
            assert_eq!((e.exit_code(), e.to_string()), (code, message));
        }
    }
}
