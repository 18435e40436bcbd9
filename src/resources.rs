//! The data shipped in `models/`, embedded at build time so the binary and the
//! library work with no files beside them. Lexicons are data, not code: a team
//! extends them by editing the files and rebuilding, or by pointing the CLI at
//! its own copies.

/// The default classifier, trained by `triage train` (see README).
pub const DEFAULT_MODEL: &str = include_str!("../models/default-model.json");
/// Domain terms the default jieba dictionary splits badly (花呗, 闪退, 骑手 ...).
pub const USER_DICT: &str = include_str!("../models/userdict.txt");
/// Traditional → simplified characters (OpenCC TSCharacters, one-for-one).
pub const T2S_CHARS: &str = include_str!("../models/t2s_chars.tsv");
/// Cue lexicons used as classifier features and clause signals.
pub const CUES: &str = include_str!("../models/cues.toml");
