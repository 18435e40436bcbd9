//! Typed errors. Every failure a caller can see is one of these; nothing in the
//! library panics on input data.

use std::path::PathBuf;

/// Errors from loading models and configuration, and from analysing input.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The text to analyse was empty or only whitespace after normalisation.
    #[error("empty text")]
    EmptyText,
    /// The text is longer than the configured limit (protects latency and memory).
    #[error("text too long: {chars} characters (limit {limit})")]
    TextTooLong { chars: usize, limit: usize },
    /// A model file could not be parsed or has the wrong format.
    #[error("model {origin}: {reason}")]
    Model { origin: String, reason: String },
    /// A model file was written by an incompatible format version.
    #[error("model {origin}: format version {found}, this build reads version {expected}")]
    ModelVersion { origin: String, found: u32, expected: u32 },
    /// A configuration file is invalid; `key` names the offending setting.
    #[error("config {origin}: key `{key}`: {reason}")]
    Config { origin: String, key: String, reason: String },
    /// A lexicon or dictionary shipped in `models/` is malformed.
    #[error("lexicon {name}: line {line}: {reason}")]
    Lexicon { name: String, line: usize, reason: String },
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Training could not proceed.
    #[error("training: {0}")]
    Training(String),
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { path: path.into(), source }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
