//! Stage 3: features.
//!
//! Short, noisy feedback is best described by several overlapping views:
//! words (`w:`), word bigrams within a clause (`b:`), character bigrams (`c:`,
//! robust to segmentation errors and typos), cue lexicons from `models/cues.toml`
//! (`cue:`), the words a negator governs (`nw:`), where the cue sits (`@last`
//! clause), question form, and the sentiment of the worst and best clause
//! (LABELING.md rule 10: one concrete shortcoming in a positive review makes it a
//! problem). Features are hashed to 64-bit keys
//! with a stable hash, so extraction allocates no strings; the model keeps the
//! feature names for inspection.

use aho_corasick::AhoCorasick;
use serde::Deserialize;

use crate::error::{Error, Result};
use crate::resources;
use crate::segment::Token;

/// A sparse feature vector: (hashed feature key, value), keys may repeat.
pub type SparseVec = Vec<(u64, f32)>;

/// Stable 64-bit FNV-1a, so feature keys are the same in every build and run.
#[derive(Clone, Copy)]
pub struct FeatureHash(u64);

impl FeatureHash {
    pub fn new(prefix: &str) -> Self {
        FeatureHash(0xcbf2_9ce4_8422_2325).push(prefix)
    }
    pub fn push(mut self, s: &str) -> Self {
        for b in s.bytes() {
            self.0 ^= b as u64;
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
        self
    }
    pub fn finish(self) -> u64 {
        self.0
    }
}

/// The key of a named feature, e.g. `feature_key("w:物流")`.
pub fn feature_key(name: &str) -> u64 {
    FeatureHash::new(name).finish()
}

#[derive(Deserialize)]
struct CueFile {
    cues: std::collections::BTreeMap<String, Vec<String>>,
}

/// How many words after a negator it governs. Chinese negation scopes are short
/// (没有一个是坏的: 一个, 是, 坏); beyond three words it mostly reaches the next thought.
const NEGATION_SCOPE: usize = 3;

/// The cue lexicons, compiled into one Aho–Corasick automaton.
pub struct CueLexicon {
    names: Vec<String>,
    /// For each pattern, the index of its cue class in `names`.
    pattern_class: Vec<usize>,
    matcher: AhoCorasick,
}

impl std::fmt::Debug for CueLexicon {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CueLexicon").field("classes", &self.names).finish()
    }
}

/// A cue found in the text: its class and the byte offset where it starts.
#[derive(Debug, Clone, Copy)]
pub struct CueHit {
    pub class: usize,
    pub byte_start: usize,
}

impl CueLexicon {
    pub fn embedded() -> Result<Self> {
        Self::from_toml(resources::CUES, "cues.toml")
    }

    pub fn from_toml(data: &str, origin: &str) -> Result<Self> {
        let file: CueFile = toml::from_str(data).map_err(|e| Error::Config { origin: origin.into(), key: "cues".into(), reason: e.to_string() })?;
        let mut names = Vec::new();
        let mut patterns = Vec::new();
        let mut pattern_class = Vec::new();
        for (name, words) in file.cues {
            for w in words {
                patterns.push(w.to_lowercase());
                pattern_class.push(names.len());
            }
            names.push(name);
        }
        let matcher = AhoCorasick::builder().match_kind(aho_corasick::MatchKind::Standard).build(&patterns).map_err(|e| Error::Config {
            origin: origin.into(),
            key: "cues".into(),
            reason: e.to_string(),
        })?;
        Ok(CueLexicon { names, pattern_class, matcher })
    }

    pub fn class(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }

    pub fn class_names(&self) -> &[String] {
        &self.names
    }

    /// Every cue occurrence (overlapping), ordered by where it starts, so that the
    /// hits inside a byte range are found by binary search (`hits_in`).
    pub fn find(&self, text: &str) -> Vec<CueHit> {
        let mut hits: Vec<CueHit> =
            self.matcher.find_overlapping_iter(text).map(|m| CueHit { class: self.pattern_class[m.pattern().as_usize()], byte_start: m.start() }).collect();
        // Overlapping matches arrive in the order they end; a stable sort keeps
        // same-start hits as they came.
        hits.sort_by_key(|h| h.byte_start);
        hits
    }
}

/// The hits of `hits` (as `CueLexicon::find` orders them) that start inside `range`.
/// Per clause, a scan of every hit would make a long review quadratic.
pub fn hits_in<'h>(hits: &'h [CueHit], range: &std::ops::Range<usize>) -> &'h [CueHit] {
    let from = hits.partition_point(|h| h.byte_start < range.start);
    let to = from + hits[from..].partition_point(|h| h.byte_start < range.end);
    &hits[from..to]
}

/// What the extractor needs to know about one span of text (a whole item or one clause).
pub struct Span<'t, 'a> {
    /// The normalised text of the span.
    pub text: &'t str,
    /// Its tokens.
    pub tokens: &'t [Token<'a>],
    /// Byte ranges of the clauses inside `text` (one entry for a single clause).
    pub clause_bytes: &'t [std::ops::Range<usize>],
}

/// Builds lexical and cue feature vectors.
#[derive(Debug)]
pub struct FeatureExtractor {
    cues: CueLexicon,
    /// Words matched as whole tokens that govern the next few (`negated_words`).
    negators: rustc_hash::FxHashSet<String>,
}

impl FeatureExtractor {
    pub fn new(cues: CueLexicon, negators: impl IntoIterator<Item = String>) -> Self {
        FeatureExtractor { cues, negators: negators.into_iter().collect() }
    }

    /// The embedded cues, and the negators of the keyword stage's modifier lexicon
    /// (`models/keywords/modifiers.toml`), so both stages agree on what negates.
    /// Always the embedded list, even when a team loads its own keyword lexicons:
    /// the model's `nw:` weights were learned with it.
    pub fn embedded() -> Result<Self> {
        Ok(Self::new(CueLexicon::embedded()?, crate::keywords::lexicon::embedded_negators()?))
    }

    pub fn cues(&self) -> &CueLexicon {
        &self.cues
    }

    /// The words each negator token governs (up to `NEGATION_SCOPE`, not past
    /// punctuation), for the `nw:` features. Whole tokens only, so 不 inside 不错
    /// negates nothing: "没有一个是坏的" says 坏 under negation, which bag-of-words
    /// reads as a complaint.
    pub fn negated_words<'t>(&'t self, tokens: &'t [Token<'t>]) -> impl Iterator<Item = &'t str> + 't {
        let mut left = 0usize;
        tokens.iter().filter_map(move |t| {
            if t.is_punctuation() {
                left = 0;
                return None;
            }
            let governed = (left > 0).then_some(t.word);
            left = left.saturating_sub(1);
            if self.negators.contains(t.word) {
                left = NEGATION_SCOPE;
            }
            governed
        })
    }

    /// Lexical features only (words and word bigrams); the sentiment model reads these.
    pub fn lexical(&self, tokens: &[Token<'_>], out: &mut SparseVec) {
        let mut prev: Option<&str> = None;
        for t in tokens {
            if t.is_punctuation() {
                prev = None;
                continue;
            }
            out.push((FeatureHash::new("w:").push(t.word).finish(), 1.0));
            if let Some(p) = prev {
                out.push((FeatureHash::new("b:").push(p).push("|").push(t.word).finish(), 1.0));
            }
            prev = Some(t.word);
        }
    }

    /// All category features of a span except the sentiment ones, which the
    /// classifier adds from its sentiment model.
    pub fn category(&self, span: &Span<'_, '_>, out: &mut SparseVec) {
        let hits = self.cues.find(span.text);
        self.category_with_cues(span, &hits, out);
    }

    /// As `category`, with the span's cue hits already found.
    pub fn category_with_cues(&self, span: &Span<'_, '_>, hits: &[CueHit], out: &mut SparseVec) {
        self.lexical(span.tokens, out);
        for w in self.negated_words(span.tokens) {
            out.push((FeatureHash::new("nw:").push(w).finish(), 1.0));
        }
        // Character bigrams over content characters.
        let mut prev: Option<char> = None;
        let mut buf = [0u8; 8];
        for c in span.text.chars() {
            if c == ' ' {
                prev = None;
                continue;
            }
            if let Some(p) = prev {
                let mut h = FeatureHash::new("c:");
                h = h.push(p.encode_utf8(&mut buf));
                h = h.push(c.encode_utf8(&mut buf));
                out.push((h.finish(), 1.0));
            }
            prev = Some(c);
        }
        // Cues, once per class, plus where they sit.
        let last_clause_start = span.clause_bytes.last().map_or(0, |r| r.start);
        let mut seen = [0u8; 32];
        for hit in hits.iter().copied() {
            let Some(slot) = seen.get_mut(hit.class) else { continue };
            let name = &self.cues.names[hit.class];
            if *slot & 1 == 0 {
                out.push((FeatureHash::new("cue:").push(name).finish(), 1.0));
                *slot |= 1;
            }
            if hit.byte_start >= last_clause_start && *slot & 2 == 0 && span.clause_bytes.len() > 1 {
                out.push((FeatureHash::new("cue:").push(name).push("@last").finish(), 1.0));
                *slot |= 2;
            }
            if hit.byte_start < 3 && *slot & 4 == 0 {
                out.push((FeatureHash::new("cue:").push(name).push("@start").finish(), 1.0));
                *slot |= 4;
            }
        }
        // Form of the item.
        let trimmed = span.text.trim_end_matches([' ', '~', '.', '!']);
        if trimmed.ends_with('?') || trimmed.ends_with('吗') || trimmed.ends_with('呢') {
            out.push((feature_key("form:question_end"), 1.0));
        }
        let chars = span.text.chars().count();
        let bucket = match chars {
            0..=8 => "form:len<=8",
            9..=20 => "form:len<=20",
            21..=60 => "form:len<=60",
            _ => "form:len>60",
        };
        out.push((feature_key(bucket), 1.0));
        if span.clause_bytes.len() > 1 {
            out.push((feature_key("form:multi_clause"), 1.0));
        }
        out.push((feature_key("bias"), 1.0));
    }
}

/// The names of the features `lexical` hashes for these tokens.
pub fn lexical_names(tokens: &[Token<'_>]) -> Vec<String> {
    let mut names = Vec::new();
    let mut prev: Option<&str> = None;
    for t in tokens {
        if t.is_punctuation() {
            prev = None;
            continue;
        }
        names.push(format!("w:{}", t.word));
        if let Some(p) = prev {
            names.push(format!("b:{p}|{}", t.word));
        }
        prev = Some(t.word);
    }
    names
}

/// The names of the features `category` can produce for a text, for building a
/// vocabulary at training time (kept beside the hashed path so both agree).
pub fn feature_names(extractor: &FeatureExtractor, span: &Span<'_, '_>) -> Vec<String> {
    let mut names = lexical_names(span.tokens);
    names.extend(extractor.negated_words(span.tokens).map(|w| format!("nw:{w}")));
    let mut prevc: Option<char> = None;
    for c in span.text.chars() {
        if c == ' ' {
            prevc = None;
            continue;
        }
        if let Some(p) = prevc {
            names.push(format!("c:{p}{c}"));
        }
        prevc = Some(c);
    }
    for n in extractor.cues.names.iter() {
        for suffix in ["", "@last", "@start"] {
            names.push(format!("cue:{n}{suffix}"));
        }
    }
    for n in ["form:question_end", "form:len<=8", "form:len<=20", "form:len<=60", "form:len>60", "form:multi_clause", "bias"] {
        names.push(n.to_string());
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::segment::{clause_byte_ranges, clauses, Segmenter};

    #[test]
    fn no_cue_is_shadowed_by_a_shorter_one_of_its_class() {
        // A hit is its class and start, so a cue that begins with another cue of
        // its class can never add a feature: such an entry only misleads its reader.
        let file: CueFile = toml::from_str(resources::CUES).unwrap();
        for (class, words) in &file.cues {
            for long in words {
                let shadow = words.iter().find(|short| *short != long && long.starts_with(short.as_str()));
                assert!(shadow.is_none(), "{class}: {long} adds nothing beside {}", shadow.unwrap());
            }
        }
    }

    #[test]
    fn hits_in_a_range_are_exactly_those_a_full_scan_finds() {
        let fx = FeatureExtractor::embedded().unwrap();
        // Overlapping cues of several classes (希望 / 希望能 / 能不能 / 为什么 …).
        let text = "希望能不能多放点辣，为什么不能退款？建议增加品种，就是太慢了吗";
        let hits = fx.cues().find(text);
        assert!(hits.len() >= 5, "{hits:?}");
        assert!(hits.windows(2).all(|w| w[0].byte_start <= w[1].byte_start), "{hits:?}");
        let bounds: Vec<usize> = text.char_indices().map(|(i, _)| i).chain([text.len()]).collect();
        for (i, &start) in bounds.iter().enumerate() {
            for &end in &bounds[i..] {
                let scanned: Vec<usize> = hits.iter().filter(|h| (start..end).contains(&h.byte_start)).map(|h| h.byte_start).collect();
                let searched: Vec<usize> = hits_in(&hits, &(start..end)).iter().map(|h| h.byte_start).collect();
                assert_eq!(searched, scanned, "range {start}..{end}");
            }
        }
    }

    #[test]
    fn a_negator_token_governs_the_next_words_of_its_clause() {
        let seg = Segmenter::embedded().unwrap();
        let fx = FeatureExtractor::embedded().unwrap();
        let toks = seg.segment("没有一个是坏的,坏了三个");
        let governed: Vec<&str> = fx.negated_words(&toks).collect();
        assert!(governed.contains(&"坏"), "{governed:?}");
        // The scope ends at the clause break: the second 坏 is a plain complaint.
        assert_eq!(governed.iter().filter(|w| **w == "坏").count(), 1, "{governed:?}");
        // 不 inside the word 不错 negates nothing.
        let toks = seg.segment("质量不错,物流也快");
        assert_eq!(fx.negated_words(&toks).count(), 0);
    }

    #[test]
    fn hashed_and_named_features_agree() {
        let seg = Segmenter::embedded().unwrap();
        let fx = FeatureExtractor::embedded().unwrap();
        let text = "味道不错,就是没有送到,希望改进?";
        let toks = seg.segment(text);
        let cl = clause_byte_ranges(&toks, &clauses(&toks));
        let span = Span { text, tokens: &toks, clause_bytes: &cl };
        let mut v = Vec::new();
        fx.category(&span, &mut v);
        let names: std::collections::HashSet<u64> = feature_names(&fx, &span).iter().map(|n| feature_key(n)).collect();
        for (k, _) in &v {
            assert!(names.contains(k), "hashed feature without a name");
        }
        assert!(v.iter().any(|(k, _)| *k == feature_key("cue:suggest")));
        assert!(v.iter().any(|(k, _)| *k == feature_key("cue:suggest@last")));
        assert!(v.iter().any(|(k, _)| *k == feature_key("cue:contrast")));
        assert!(v.iter().any(|(k, _)| *k == feature_key("form:question_end")));
        assert!(v.iter().any(|(k, _)| *k == feature_key("w:味道")));
        assert!(v.iter().any(|(k, _)| *k == feature_key("nw:送到")));
    }
}
