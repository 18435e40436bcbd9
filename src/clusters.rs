//! Word clusters: groups of words that occur in similar contexts in the review
//! and question corpora (built by `triage train-clusters`, see
//! `cluster_training`). The classifier reads a word's cluster beside the word,
//! so what it learnt from 增加 also reaches 添加, a word the labelled items may
//! never show. Shipped as `models/word_clusters.tsv`: `word<TAB>cluster`.

use std::collections::HashMap;

use crate::error::{Error, Result};
use crate::resources;

#[derive(Debug, Clone, Default)]
pub struct WordClusters {
    cluster: HashMap<String, u16>,
}

impl WordClusters {
    pub fn embedded() -> Result<Self> {
        Self::from_tsv(resources::WORD_CLUSTERS, "word_clusters.tsv")
    }

    /// Parses `word<TAB>cluster` lines; blank lines and `#` comments are skipped.
    pub fn from_tsv(data: &str, origin: &str) -> Result<Self> {
        let mut cluster = HashMap::new();
        for (n, line) in data.lines().enumerate() {
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let parsed = line.split_once('\t').and_then(|(w, c)| Some((w, c.trim().parse::<u16>().ok()?)));
            let Some((word, id)) = parsed else {
                return Err(Error::Config { origin: origin.into(), key: format!("line {}", n + 1), reason: "expected word<TAB>cluster number".into() });
            };
            cluster.insert(word.to_string(), id);
        }
        Ok(WordClusters { cluster })
    }

    /// The cluster of a word, if it was clustered.
    pub fn of(&self, word: &str) -> Option<u16> {
        self.cluster.get(word).copied()
    }

    pub fn len(&self) -> usize {
        self.cluster.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cluster.is_empty()
    }

    /// The file form of (word, cluster) pairs, with a header saying how they were built.
    pub fn to_tsv(pairs: &[(String, usize)], header: &str) -> String {
        let mut out = String::new();
        for line in header.lines() {
            out.push_str("# ");
            out.push_str(line);
            out.push('\n');
        }
        for (w, c) in pairs {
            out.push_str(&format!("{w}\t{c}\n"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_a_malformed_line() {
        let text = WordClusters::to_tsv(&[("增加".into(), 3), ("添加".into(), 3), ("物流".into(), 7)], "built by a test");
        let c = WordClusters::from_tsv(&text, "t").unwrap();
        assert_eq!(c.of("增加"), c.of("添加"));
        assert_eq!(c.of("物流"), Some(7));
        assert_eq!(c.of("没有的词"), None);
        assert!(WordClusters::from_tsv("增加 3\n", "t").is_err());
    }

    #[test]
    fn the_shipped_clusters_load() {
        let c = WordClusters::embedded().unwrap();
        assert!(c.len() > 1000, "{} clustered words", c.len());
    }
}
