//! Topic words for items with no aspect–opinion phrase: TF-IDF over the item's
//! own tokens (already segmented and tagged by jieba), with inverse document
//! frequencies embedded from `models/keywords/idf.tsv`.

use std::collections::{HashMap, HashSet};

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::segment::Token;

pub const TOPICS: &str = include_str!("../../models/keywords/topics.toml");
pub const IDF: &str = include_str!("../../models/keywords/idf.tsv");

#[derive(Deserialize)]
struct TopicsFile {
    tags: Vec<String>,
    stopwords: Vec<String>,
}

#[derive(Debug)]
pub(crate) struct TopicModel {
    idf: HashMap<String, f32>,
    /// IDF of a word not in the table (the table's median: rare words are not
    /// favoured over known ones, as in jieba's TF-IDF).
    default_idf: f32,
    tags: HashSet<String>,
    stopwords: HashSet<String>,
}

impl TopicModel {
    pub fn embedded() -> Result<Self> {
        Self::from_sources(TOPICS, IDF)
    }

    pub fn from_sources(topics: &str, idf: &str) -> Result<Self> {
        let t: TopicsFile =
            toml::from_str(topics).map_err(|e| Error::Lexicon { name: "keywords/topics.toml".into(), line: 0, reason: e.message().to_string() })?;
        let mut table = HashMap::new();
        for (n, line) in idf.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut it = line.split('\t');
            let (Some(w), Some(v)) = (it.next(), it.next()) else {
                return Err(Error::Lexicon { name: "keywords/idf.tsv".into(), line: n + 1, reason: "expected `word<TAB>idf`".into() });
            };
            let v: f32 =
                v.trim().parse().map_err(|_| Error::Lexicon { name: "keywords/idf.tsv".into(), line: n + 1, reason: format!("not a number: `{v}`") })?;
            table.insert(w.to_string(), v);
        }
        let mut vals: Vec<f32> = table.values().copied().collect();
        vals.sort_by(|a, b| a.total_cmp(b));
        let default_idf = vals.get(vals.len() / 2).copied().unwrap_or(1.0);
        Ok(TopicModel { idf: table, default_idf, tags: t.tags.into_iter().collect(), stopwords: t.stopwords.into_iter().collect() })
    }

    /// The `k` best topic words of a token sequence, best first (ties: first seen).
    pub fn top(&self, tokens: &[Token<'_>], k: usize) -> Vec<String> {
        // (word, tf, first position); items are short, so a small vector beats a map.
        let mut seen: Vec<(&str, u32, usize)> = Vec::new();
        for (pos, t) in tokens.iter().enumerate() {
            let w = t.word;
            if !self.tags.contains(t.tag) || self.stopwords.contains(w) {
                continue;
            }
            let long_enough = if t.tag == "eng" { w.len() >= 2 && w.chars().any(|c| c.is_alphabetic()) } else { w.chars().count() >= 2 };
            if !long_enough {
                continue;
            }
            match seen.iter_mut().find(|(x, _, _)| *x == w) {
                Some(e) => e.1 += 1,
                None => seen.push((w, 1, pos)),
            }
        }
        let mut scored: Vec<(f32, usize, &str)> =
            seen.into_iter().map(|(w, tf, pos)| (tf as f32 * self.idf.get(w).copied().unwrap_or(self.default_idf), pos, w)).collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        scored.into_iter().take(k).map(|(_, _, w)| w.to_string()).collect()
    }
}
