//! The phrase filter: a logistic layer, learned from hand-labelled opinion
//! pairs, that decides which candidate phrases the rules found are kept.
//!
//! The rules propose; the filter weighs the evidence the rules cannot weigh
//! one at a time: which rule tied the aspect to the opinion, how far apart
//! they are, whether the aspect is a known one, what words surround them and
//! where in the item they sit. It is trained by `triage train-phrases` (see
//! `crate::phrase_training`) and shipped as `models/keywords/phrase_filter.json`.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::*;
use crate::classify::LinearLayer;
use crate::error::Error;
use crate::features::FeatureHash;
use crate::model::LayerFile;

/// Identifies the file type.
pub const FILTER_FORMAT: &str = "feedback-triage-phrase-filter";
/// Bumped whenever the features change in a way old files cannot follow.
pub const FILTER_VERSION: u32 = 1;

pub const EMBEDDED_FILTER: &str = include_str!("../../models/keywords/phrase_filter.json");

/// The filter as stored: one logistic output ("keep") and the probability
/// at which a phrase is kept.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FilterFile {
    pub format: String,
    pub version: u32,
    pub threshold: f32,
    /// How the filter was made, for the record.
    #[serde(default)]
    pub provenance: Vec<String>,
    pub layer: LayerFile,
}

impl FilterFile {
    pub fn parse(data: &str, origin: &str) -> Result<Self> {
        let err = |reason: String| Error::Model { origin: origin.to_string(), reason };
        let f: FilterFile = serde_json::from_str(data).map_err(|e| err(e.to_string()))?;
        if f.format != FILTER_FORMAT {
            return Err(err(format!("not a phrase filter (format `{}`)", f.format)));
        }
        if f.version != FILTER_VERSION {
            return Err(Error::ModelVersion { origin: origin.into(), found: f.version, expected: FILTER_VERSION });
        }
        if f.layer.outputs.len() != 1
            || f.layer.bias.len() != 1
            || f.layer.features.len() != f.layer.weights.len()
            || f.layer.weights.iter().any(|w| w.len() != 1)
        {
            return Err(err("the filter layer must have one output and one weight per feature".into()));
        }
        Ok(f)
    }
}

/// The loaded filter.
#[derive(Debug, Clone)]
pub struct PhraseFilter {
    layer: LinearLayer,
    threshold: f32,
}

impl PhraseFilter {
    pub fn from_file(f: &FilterFile) -> Self {
        PhraseFilter { layer: LinearLayer::from_file(&f.layer), threshold: f.threshold }
    }

    pub fn embedded() -> Result<Self> {
        Ok(Self::from_file(&FilterFile::parse(EMBEDDED_FILTER, "embedded phrase filter")?))
    }

    /// Probability that a phrase with these (hashed) features is one a person would list.
    pub fn probability(&self, x: &[(u64, f32)]) -> f32 {
        let mut out = [0.0f32];
        self.layer.score(x, &mut out);
        1.0 / (1.0 + (-out[0]).exp())
    }

    pub fn threshold(&self) -> f32 {
        self.threshold
    }
}

/// What the features read about the item as a whole.
pub(super) struct ItemContext {
    chars: usize,
    candidates: usize,
    question: bool,
}

impl ItemContext {
    pub(super) fn of(s: &str, units: &[Unit<'_>], candidates: usize) -> Self {
        let question = s.contains('?') || units.iter().any(|u| matches!(u.w, "吗" | "么" | "请问" | "怎么" | "如何"));
        ItemContext { chars: units.last().map_or(0, |u| u.end), candidates, question }
    }
}

fn bucket(n: usize, edges: &[usize]) -> usize {
    edges.iter().take_while(|&&e| n >= e).count()
}

impl KeywordExtractor {
    /// The filter's features of candidate `rank` (in text order), by name.
    /// Names (not hashes) so training can build a readable vocabulary; the
    /// same names are hashed at inference.
    pub(super) fn phrase_features(
        &self,
        s: &str,
        units: &[Unit<'_>],
        c: &Candidate,
        rank: usize,
        ctx: &ItemContext,
        emit: &mut dyn FnMut(std::fmt::Arguments<'_>),
    ) {
        let l = &self.lex;
        let put = emit;
        let text = |a: usize, b: usize| &s[units[a].bs..units[b - 1].be];
        let aspect = text(c.aspect.0, c.aspect.1);
        let core = text(c.core.0, c.core.1);
        let head = &units[c.aspect.1 - 1];
        put(format_args!("src:{}", c.source.name()));
        put(format_args!("pol:{}", c.polarity.as_str()));
        put(format_args!("src_pol:{}:{}", c.source.name(), c.polarity.as_str()));
        if c.negated {
            put(format_args!("negated"));
        }
        let found = match c.found {
            Found::Pattern(_) => "pattern",
            Found::Lexicon(OpinionInfo { pol: Pol::Fixed(_), .. }) => "fixed",
            Found::Lexicon(OpinionInfo { pol: Pol::Context(_), .. }) => "context",
        };
        put(format_args!("found:{found}"));
        put(format_args!("op:{core}"));
        put(format_args!("op_chars:{}", bucket(core.chars().count(), &[2, 3, 4])));
        put(format_args!("asp:{aspect}"));
        put(format_args!("asp_head:{}", head.w));
        put(format_args!("asp_tag:{}", head.tag));
        put(format_args!("asp_chars:{}", bucket(aspect.chars().count(), &[2, 3, 4, 5])));
        put(format_args!("asp_known:{}", self.known_aspect(aspect)));
        if l.generic_aspects.contains(head.w) {
            put(format_args!("asp_generic"));
        }
        match l.aspect_class(aspect) {
            Some(class) => put(format_args!("asp_class:{class}")),
            None => put(format_args!("asp_class:none")),
        }
        // What lies between and around the two.
        let (first, second) = if c.aspect.0 <= c.opinion.0 { (c.aspect, c.opinion) } else { (c.opinion, c.aspect) };
        put(format_args!("gap:{}", bucket(second.0.saturating_sub(first.1), &[1, 2, 3, 5])));
        match c.aspect.0.checked_sub(1).map(|k| &units[k]) {
            Some(u) if !u.brk => {
                put(format_args!("before_w:{}", u.w));
                put(format_args!("before_tag:{}", u.tag));
            }
            _ => put(format_args!("before:start")),
        }
        let end = c.aspect.1.max(c.opinion.1);
        match units.get(end) {
            Some(u) if !u.brk => {
                put(format_args!("after_w:{}", u.w));
                put(format_args!("after_tag:{}", u.tag));
            }
            _ => put(format_args!("after:end")),
        }
        // Where in the item, and how crowded it is.
        let at = units[c.aspect.0.min(c.opinion.0)].start;
        put(format_args!("position:{}", bucket(at * 5 / ctx.chars.max(1), &[1, 2, 3, 4])));
        put(format_args!("item_chars:{}", bucket(ctx.chars, &[15, 40, 100, 200])));
        put(format_args!("candidates:{}", bucket(ctx.candidates, &[2, 3, 4, 5, 7])));
        put(format_args!("rank:{}", bucket(rank, &[1, 2, 3, 4])));
        if ctx.question {
            put(format_args!("item_question"));
        }
    }

    /// The hashed features of a candidate, for scoring.
    pub(super) fn hashed_features(&self, s: &str, units: &[Unit<'_>], c: &Candidate, rank: usize, ctx: &ItemContext) -> Vec<(u64, f32)> {
        let mut x = Vec::with_capacity(32);
        // Names are hashed as they are formatted: no string is built.
        self.phrase_features(s, units, c, rank, ctx, &mut |name| {
            let mut h = HashWriter(FeatureHash::new(""));
            let _ = h.write_fmt(name);
            x.push((h.0.finish(), 1.0));
        });
        x
    }
}

/// Feeds formatted text into a feature hash (FNV-1a is the same however the
/// bytes are split, so this equals `feature_key` of the whole name).
struct HashWriter(FeatureHash);

impl std::fmt::Write for HashWriter {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0 = self.0.push(s);
        Ok(())
    }
}
