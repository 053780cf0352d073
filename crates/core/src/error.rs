//! The crate's error type: one variant per failure family, each message
//! saying what went wrong and what the user can do.

use std::path::PathBuf;

/// The crate-wide result alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in callscope.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },

    /// The workspace store failed (corrupt database, disk full, locked).
    #[error("workspace store: {0}")]
    Store(String),

    /// One input record (a JSONL line, a manifest row) is invalid.
    #[error("{file}:{line}: {reason}")]
    Input {
        /// The input file (`-` for stdin).
        file: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong and what to do.
        reason: String,
    },

    /// A whole input cannot be used (empty file, wrong format).
    #[error("{file}: {reason}")]
    InvalidFile {
        /// The input file.
        file: String,
        /// What is wrong and what to do.
        reason: String,
    },

    /// A call was asked for that the workspace does not hold.
    #[error("no call '{0}' in the workspace: `callscope stats` shows what is there")]
    UnknownCall(String),

    /// A scorecard, topic file or config file is invalid.
    #[error("{file}: {reason}")]
    Config {
        /// The file.
        file: String,
        /// What is wrong, where, and how to fix it.
        reason: String,
    },

    /// A command-line value is unusable (bad date, bad query).
    #[error("{0}")]
    Usage(String),

    /// A recording could not be decoded or transcribed.
    #[error("{file}: {reason}")]
    Audio {
        /// The audio file.
        file: String,
        /// What is wrong and what to do.
        reason: String,
    },

    /// The ASR model is missing or could not be loaded.
    #[error("model: {0}")]
    Model(String),

    /// The search index failed.
    #[error("search index: {0}")]
    Index(String),

    /// Sealed originals could not be sealed or opened (missing or wrong
    /// seal key, a key inside the workspace, tampered data).
    #[error("sealed originals: {0}")]
    Seal(String),

    /// The job queue (NATS JetStream) is unreachable or refused an
    /// operation (`submit`, `worker`, `jobs`).
    #[error("job queue: {0}")]
    Queue(String),
}

impl Error {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

#[cfg(feature = "rusqlite")]
impl From<rusqlite::Error> for Error {
    fn from(error: rusqlite::Error) -> Error {
        match error.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DiskFull) => Error::Store(
                "the disk holding the workspace is full: free some space and run the command \
                 again (what was finished is kept, the rest is done then)"
                    .to_string(),
            ),
            Some(rusqlite::ErrorCode::ReadOnly) | Some(rusqlite::ErrorCode::PermissionDenied) => {
                Error::Store(format!(
                    "{error}: the workspace is not writable; check the folder's permissions"
                ))
            }
            _ => Error::Store(error.to_string()),
        }
    }
}

#[cfg(feature = "tantivy")]
impl From<tantivy::TantivyError> for Error {
    fn from(error: tantivy::TantivyError) -> Error {
        Error::Index(error.to_string())
    }
}

impl Error {
    /// A seal-key or sealed-original failure, with what to do about it.
    pub fn seal(reason: impl Into<String>) -> Error {
        Error::Seal(reason.into())
    }
}
