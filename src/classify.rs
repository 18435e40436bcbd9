//! Stage 4: classification into the four categories.
//!
//! Two linear layers learned with linfa (see `train`): a clause sentiment layer
//! trained on the sentiment-labelled review corpora, whose worst and best clause
//! scores become features, and the category layer over all features. At
//! inference both are scored sparsely: only the weights of features present in
//! the text are read. `labels` adds the categories that individual clauses show,
//! ordered by LABELING.md's precedence after the primary category.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::category::Category;
use crate::features::{feature_key, FeatureExtractor, SparseVec, Span};
use crate::model::{LayerFile, ModelFile};
use crate::segment::{clauses, Token};

/// Feature keys are already well-mixed hashes; hashing them again is wasted work.
#[derive(Default)]
pub struct IdentityHasher(u64);
impl Hasher for IdentityHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | b as u64;
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}
pub type KeyMap<V> = HashMap<u64, V, BuildHasherDefault<IdentityHasher>>;

/// A linear layer scored sparsely.
#[derive(Debug, Clone)]
pub struct LinearLayer {
    outputs: usize,
    index: KeyMap<u32>,
    weights: Vec<f32>,
    bias: Vec<f32>,
}

impl LinearLayer {
    pub fn from_file(layer: &LayerFile) -> Self {
        let outputs = layer.outputs.len();
        let mut index = KeyMap::default();
        let mut weights = Vec::with_capacity(layer.features.len() * outputs);
        for (name, w) in layer.features.iter().zip(&layer.weights) {
            index.insert(feature_key(name), (weights.len() / outputs) as u32);
            weights.extend_from_slice(w);
        }
        LinearLayer { outputs, index, weights, bias: layer.bias.clone() }
    }

    /// A layer with no features (used while training the layer before it).
    pub fn empty(outputs: usize) -> Self {
        LinearLayer { outputs, index: KeyMap::default(), weights: Vec::new(), bias: vec![0.0; outputs] }
    }

    /// Scores into `out` (length = outputs).
    pub fn score(&self, x: &[(u64, f32)], out: &mut [f32]) {
        out.copy_from_slice(&self.bias);
        for &(k, v) in x {
            if let Some(&row) = self.index.get(&k) {
                let w = &self.weights[row as usize * self.outputs..(row as usize + 1) * self.outputs];
                for (o, wi) in out.iter_mut().zip(w) {
                    *o += v * wi;
                }
            }
        }
    }
}

/// The classifier's verdict on one text.
#[derive(Debug, Clone, PartialEq)]
pub struct Classification {
    pub category: Category,
    /// Calibrated probability of `category`.
    pub confidence: f32,
    /// Probability per category, in `Category::ALL` order.
    pub probabilities: [f32; 4],
    /// Every category present, primary first, then by precedence.
    pub labels: Vec<Category>,
}

/// Names of the sentiment-derived features, for building vocabularies.
pub const SENTIMENT_FEATURES: [&str; 5] = ["sent:whole", "sent:min", "sent:max", "sent:any_negative", "sent:any_positive"];

/// The classifier: feature extraction plus the two layers.
#[derive(Debug)]
pub struct Classifier {
    extractor: FeatureExtractor,
    sentiment: LinearLayer,
    category: LinearLayer,
    temperature: f32,
    label_threshold: f32,
}

impl Classifier {
    pub fn new(extractor: FeatureExtractor, model: &ModelFile) -> Self {
        Classifier {
            extractor,
            sentiment: LinearLayer::from_file(&model.sentiment),
            category: LinearLayer::from_file(&model.category),
            temperature: model.temperature,
            label_threshold: model.label_threshold,
        }
    }

    /// A classifier with a sentiment layer only, for computing features while
    /// the category layer is trained.
    pub fn for_training(extractor: FeatureExtractor, sentiment: &LayerFile) -> Self {
        Classifier { extractor, sentiment: LinearLayer::from_file(sentiment), category: LinearLayer::empty(4), temperature: 1.0, label_threshold: 0.5 }
    }

    pub fn extractor(&self) -> &FeatureExtractor {
        &self.extractor
    }

    /// Sentiment logit of a run of tokens (positive = favourable).
    pub fn sentiment(&self, tokens: &[Token<'_>]) -> f32 {
        let mut x = Vec::with_capacity(tokens.len() * 2);
        self.extractor.lexical(tokens, &mut x);
        dedup(&mut x);
        let mut out = [0.0f32];
        self.sentiment.score(&x, &mut out);
        out[0]
    }

    /// The full feature vector of a text (deduplicated, binary lexical features).
    pub fn features(&self, text: &str, tokens: &[Token<'_>]) -> SparseVec {
        let ranges = clauses(tokens);
        self.features_with_clauses(text, tokens, &ranges).0
    }

    fn features_with_clauses(&self, text: &str, tokens: &[Token<'_>], ranges: &[std::ops::Range<usize>]) -> (SparseVec, Vec<f32>) {
        // Token offsets are relative to the whole item; spans want them relative to `text`.
        let base = tokens.first().map_or(0, |t| t.byte_start);
        let clause_bytes: Vec<_> =
            ranges.iter().map(|r| tokens[r.start].byte_start - base..tokens[r.end - 1].byte_end - base).collect();
        let mut x = Vec::with_capacity(tokens.len() * 4 + text.len());
        self.extractor.category(&Span { text, tokens, clause_bytes: &clause_bytes }, &mut x);
        let clause_sentiment: Vec<f32> = ranges.iter().map(|r| self.sentiment(&tokens[r.clone()])).collect();
        push_sentiment_features(&mut x, self.sentiment(tokens), &clause_sentiment);
        dedup(&mut x);
        (x, clause_sentiment)
    }

    fn probabilities(&self, x: &[(u64, f32)]) -> [f32; 4] {
        let mut s = [0.0f32; 4];
        self.category.score(x, &mut s);
        softmax(&mut s, self.temperature);
        s
    }

    /// The primary category for an already-built feature vector.
    pub fn classify_features(&self, x: &[(u64, f32)]) -> Category {
        argmax(&self.probabilities(x))
    }

    /// Classifies a normalised text given its tokens.
    pub fn classify(&self, text: &str, tokens: &[Token<'_>]) -> Classification {
        let ranges = clauses(tokens);
        let (x, _) = self.features_with_clauses(text, tokens, &ranges);
        let probabilities = self.probabilities(&x);
        let primary = argmax(&probabilities);
        let mut present = [false; 4];
        present[primary.index()] = true;
        if ranges.len() > 1 {
            for r in &ranges {
                let clause_text = &text[tokens[r.start].byte_start..tokens[r.end - 1].byte_end];
                let toks = &tokens[r.clone()];
                let whole = [0..toks.len()];
                let (cx, _) = self.features_with_clauses(clause_text, toks, &whole);
                let p = self.probabilities(&cx);
                for c in Category::ALL {
                    if p[c.index()] >= self.label_threshold && c.precedence() < primary.precedence() {
                        present[c.index()] = true;
                    }
                }
            }
        }
        let mut labels: Vec<Category> = Category::ALL.into_iter().filter(|c| present[c.index()] && *c != primary).collect();
        labels.sort_by_key(|c| std::cmp::Reverse(c.precedence()));
        labels.insert(0, primary);
        Classification { category: primary, confidence: probabilities[primary.index()], probabilities, labels }
    }
}

fn push_sentiment_features(x: &mut SparseVec, whole: f32, clause: &[f32]) {
    let squash = |v: f32| (v / 4.0).clamp(-1.5, 1.5);
    let min = clause.iter().copied().fold(whole, f32::min);
    let max = clause.iter().copied().fold(whole, f32::max);
    x.push((feature_key(SENTIMENT_FEATURES[0]), squash(whole)));
    x.push((feature_key(SENTIMENT_FEATURES[1]), squash(min)));
    x.push((feature_key(SENTIMENT_FEATURES[2]), squash(max)));
    if min < -1.0 {
        x.push((feature_key(SENTIMENT_FEATURES[3]), 1.0));
    }
    if max > 1.0 {
        x.push((feature_key(SENTIMENT_FEATURES[4]), 1.0));
    }
}

/// Sorts by key and keeps one entry per key (the largest value): lexical
/// features are presence indicators, not counts.
pub fn dedup(x: &mut SparseVec) {
    x.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(b.1.total_cmp(&a.1)));
    x.dedup_by_key(|e| e.0);
}

fn softmax(s: &mut [f32; 4], temperature: f32) {
    let max = s.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for v in s.iter_mut() {
        *v = ((*v - max) / temperature).exp();
        sum += *v;
    }
    for v in s.iter_mut() {
        *v /= sum;
    }
}

fn argmax(p: &[f32; 4]) -> Category {
    let mut best = 0;
    for i in 1..4 {
        if p[i] > p[best] {
            best = i;
        }
    }
    Category::ALL[best]
}
