//! Stage 4: classification into the four categories.
//!
//! Linear layers learned in `train`: a clause sentiment layer trained on the
//! sentiment-labelled review corpora, whose worst and best clause scores become
//! features; item presence and primary-category layers over all features; and
//! clause presence heads (`clause_heads`) that read each clause on its own. At
//! inference all are scored sparsely: only the weights of features present in
//! the text are read. The primary category and labels are decided from the
//! presence and multinomial layers' probabilities by `primary`.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::category::Category;
use crate::clause_heads;
use crate::features::{feature_key, feature_names, hits_in, CueHit, FeatureExtractor, FeatureHash, Span, SparseVec};
use crate::keywords::{Judgement, Polarity};
use crate::model::{LayerFile, ModelFile};
use crate::primary::DecisionRule;
use crate::segment::{clause_byte_ranges, clauses, Token};

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

    /// One layer whose outputs are `first`'s then `second`'s, so that two layers
    /// over the same features cost one index lookup per feature, not two.
    pub fn stacked(first: &LinearLayer, second: &LinearLayer) -> Self {
        let outputs = first.outputs + second.outputs;
        let mut index = KeyMap::default();
        let mut weights = Vec::with_capacity((first.index.len() + second.index.len()) * outputs);
        for (part, layer) in [first, second].into_iter().enumerate() {
            let offset = if part == 0 { 0 } else { first.outputs };
            for (&key, &row) in &layer.index {
                let target = *index.entry(key).or_insert_with(|| {
                    weights.resize(weights.len() + outputs, 0.0);
                    (weights.len() / outputs - 1) as u32
                });
                let src = &layer.weights[row as usize * layer.outputs..(row as usize + 1) * layer.outputs];
                let dst = target as usize * outputs + offset;
                weights[dst..dst + layer.outputs].copy_from_slice(src);
            }
        }
        let bias = first.bias.iter().chain(&second.bias).copied().collect();
        LinearLayer { outputs, index, weights, bias }
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
    /// The primary category first, then every present category below it in precedence.
    pub labels: Vec<Category>,
}

/// Names of the sentiment-derived features, for building vocabularies.
pub const SENTIMENT_FEATURES: [&str; 13] = [
    "sent:whole",
    "sent:min",
    "sent:max",
    "sent:any_negative",
    "sent:any_positive",
    "clause:suggest",
    "clause:negative_plain",
    "clause:positive_plain",
    "sent:min_plain",
    "clause:suggest_without_negative",
    "clause:question_with_failure",
    "clause:wish_for_change",
    "clause:contrast_negative",
];

/// Names of the features read from the keyword rules' judgements.
pub const JUDGEMENT_FEATURES: [&str; 10] =
    ["kw:none", "kw:pos", "kw:pos2", "kw:neg", "kw:neg2", "kw:neg_only", "kw:mixed", "kw:neg_after_pos", "kw:neg_hard", "kw:neg_known"];

/// Cue classes the clause structure reads, resolved once at construction.
#[derive(Debug, Clone, Copy)]
struct ClauseCues {
    suggest: Option<usize>,
    advice_others: Option<usize>,
    keep_up: Option<usize>,
    enquire: Option<usize>,
    why: Option<usize>,
    fail: Option<usize>,
    change: Option<usize>,
    contrast: Option<usize>,
}

/// The classifier: feature extraction plus the two layers.
#[derive(Debug)]
pub struct Classifier {
    extractor: FeatureExtractor,
    clause_cues: ClauseCues,
    sentiment: LinearLayer,
    /// The presence layer (outputs 0..4) stacked with the multinomial category
    /// layer (outputs 4..8): both read the same features.
    heads: LinearLayer,
    /// Per-clause presence logits (`clause_heads`).
    clause_heads: LinearLayer,
    /// How many adjacent clauses a clause-head instance spans at most.
    clause_window: usize,
    /// From the two readings to the primary category and labels.
    rule: DecisionRule,
    temperature: f32,
}

/// What the classifier reads of one item: the features of the whole text, and
/// those of each clause-head instance (`clause_heads::Instance`: each clause on
/// its own, then runs of adjacent clauses).
#[derive(Debug, Clone, Default)]
pub struct ItemFeatures {
    pub item: SparseVec,
    pub clauses: Vec<SparseVec>,
}

impl Classifier {
    pub fn new(extractor: FeatureExtractor, model: &ModelFile) -> Self {
        Classifier {
            clause_cues: ClauseCues::of(&extractor),
            extractor,
            sentiment: LinearLayer::from_file(&model.sentiment),
            heads: LinearLayer::stacked(&LinearLayer::from_file(&model.presence), &LinearLayer::from_file(&model.category)),
            clause_heads: LinearLayer::from_file(&model.clause_presence),
            clause_window: model.clause_window,
            rule: DecisionRule { blend: model.primary_blend, thresholds: model.presence_thresholds },
            temperature: model.temperature,
        }
    }

    /// A classifier with a sentiment layer only, for computing features while
    /// the category layer is trained.
    pub fn for_training(extractor: FeatureExtractor, sentiment: &LayerFile, clause_window: usize) -> Self {
        Classifier {
            clause_cues: ClauseCues::of(&extractor),
            extractor,
            sentiment: LinearLayer::from_file(sentiment),
            heads: LinearLayer::empty(8),
            clause_heads: LinearLayer::empty(4),
            clause_window,
            rule: DecisionRule { blend: 0.0, thresholds: [0.5; 4] },
            temperature: 1.0,
        }
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

    /// The features of a text (deduplicated, binary lexical features) and of
    /// each of its clauses, given the judgements the keyword rules found in it.
    pub fn features(&self, text: &str, tokens: &[Token<'_>], judgements: &[Judgement]) -> ItemFeatures {
        let ranges = clauses(tokens);
        let clause_bytes = clause_byte_ranges(tokens, &ranges);
        let mut x = Vec::with_capacity(tokens.len() * 4 + text.len());
        let hits = self.extractor.cues().find(text);
        self.extractor.category_with_cues(&Span { text, tokens, clause_bytes: &clause_bytes }, &hits, &mut x);
        let clause_sentiment: Vec<f32> = ranges.iter().map(|r| self.sentiment(&tokens[r.clone()])).collect();
        push_sentiment_features(&mut x, self.sentiment(tokens), &clause_sentiment);
        self.push_clause_structure(&mut x, &hits, &clause_bytes, &clause_sentiment);
        for (prefix, word) in self.scoped_words(tokens, &ranges, &clause_bytes, &hits) {
            x.push((FeatureHash::new(prefix).push(word).finish(), 1.0));
        }
        push_judgement_features(&mut x, judgements);
        dedup(&mut x);
        let instances = clause_heads::instances(text, tokens, &ranges, self.clause_window);
        let instance_sentiment: Vec<f32> = instances
            .iter()
            .map(|i| match i.clauses.len() {
                1 => clause_sentiment[i.clauses.start],
                _ => self.sentiment(&tokens[ranges[i.clauses.start].start..ranges[i.clauses.end - 1].end]),
            })
            .collect();
        ItemFeatures { item: x, clauses: clause_heads::clause_vectors(&self.extractor, text, tokens, &instances, &instance_sentiment) }
    }

    /// Probability that each category is present in the item, and the
    /// multinomial layer's logits for the primary category.
    fn score_heads(&self, x: &ItemFeatures) -> ([f32; 4], [f32; 4]) {
        let mut out = [0.0f32; 8];
        self.heads.score(&x.item, &mut out);
        let clause = clause_heads::strongest(&self.clause_heads, &x.clauses);
        let presence = std::array::from_fn(|i| {
            let logit = clause_heads::combine(out[i], clause.map(|c| c[i]));
            1.0 / (1.0 + (-logit).exp())
        });
        let multinomial = std::array::from_fn(|i| out[4 + i]);
        (presence, multinomial)
    }

    /// Presence probability per category and the multinomial layer's
    /// probabilities, in `Category::ALL` order (for error analysis).
    pub fn head_probabilities(&self, x: &ItemFeatures) -> ([f32; 4], [f32; 4]) {
        let (presence, mut multinomial) = self.score_heads(x);
        softmax(&mut multinomial, self.temperature);
        (presence, multinomial)
    }

    /// How this model turns the layers' probabilities into a decision.
    pub fn rule(&self) -> &DecisionRule {
        &self.rule
    }

    /// Decides category, confidence and labels from a feature vector (`primary`):
    /// the presence layers read in LABELING.md's precedence, averaged with the
    /// multinomial layer. The confidence is the primary category's probability.
    pub fn classify_features(&self, x: &ItemFeatures) -> (Category, f32, [f32; 4], Vec<Category>) {
        let (presence, multinomial) = self.head_probabilities(x);
        let d = self.rule.decide(&presence, &multinomial);
        (d.primary, d.probabilities[d.primary.index()], d.probabilities, d.labels)
    }

    /// The names of every feature `features` can produce for this text, for
    /// building a vocabulary or explaining a score (kept beside the hashed path
    /// so both agree).
    pub fn feature_names(&self, text: &str, tokens: &[Token<'_>]) -> Vec<String> {
        let ranges = clauses(tokens);
        let clause_bytes = clause_byte_ranges(tokens, &ranges);
        let mut names = feature_names(&self.extractor, &Span { text, tokens, clause_bytes: &clause_bytes });
        let hits = self.extractor.cues().find(text);
        names.extend(self.scoped_words(tokens, &ranges, &clause_bytes, &hits).map(|(prefix, word)| format!("{prefix}{word}")));
        names.extend(SENTIMENT_FEATURES.iter().chain(&JUDGEMENT_FEATURES).map(|s| s.to_string()));
        names
    }

    /// The names of every feature each clause-head instance of the text can
    /// produce (for the clause heads' vocabulary).
    pub fn clause_feature_names(&self, text: &str, tokens: &[Token<'_>]) -> Vec<Vec<String>> {
        clause_heads::clause_names(&self.extractor, text, tokens, &self.clause_instances(text, tokens))
    }

    /// The clauses and runs of adjacent clauses the clause heads read, in the
    /// order of `ItemFeatures::clauses`.
    pub fn clause_instances(&self, text: &str, tokens: &[Token<'_>]) -> Vec<clause_heads::Instance> {
        clause_heads::instances(text, tokens, &clauses(tokens), self.clause_window)
    }

    /// Classifies a normalised text given its tokens and the keyword rules' judgements.
    pub fn classify(&self, text: &str, tokens: &[Token<'_>], judgements: &[Judgement]) -> Classification {
        let x = self.features(text, tokens, judgements);
        let (category, confidence, probabilities, labels) = self.classify_features(&x);
        Classification { category, confidence, probabilities, labels }
    }
}

impl ClauseCues {
    fn of(extractor: &FeatureExtractor) -> Self {
        let c = |n: &str| extractor.cues().class(n);
        ClauseCues {
            suggest: c("suggest"),
            advice_others: c("advice_others"),
            keep_up: c("keep_up"),
            enquire: c("enquire"),
            why: c("why"),
            fail: c("fail"),
            change: c("change"),
            contrast: c("contrast"),
        }
    }
}

impl Classifier {
    /// Clause structure: which clauses propose a change, and how the other
    /// clauses feel. A suggestion clause ("希望改进早餐") reads negative to a
    /// sentiment model, so the sentiment of the *other* clauses is what tells a
    /// suggestion in a satisfied review from a complaint (LABELING.md rules 4, 5, 10).
    fn push_clause_structure(&self, x: &mut SparseVec, hits: &[CueHit], clause_bytes: &[std::ops::Range<usize>], sentiment: &[f32]) {
        let cc = self.clause_cues;
        let in_clause = |class: Option<usize>, r: &std::ops::Range<usize>| cue_starts(hits, class, r).next().is_some();
        let mut any_suggest = false;
        let mut negative_plain = false;
        let mut positive_plain = false;
        let mut min_plain = f32::INFINITY;
        let mut question_with_failure = false;
        let mut wish_for_change = false;
        let mut contrast_negative = false;
        for (r, &s) in clause_bytes.iter().zip(sentiment) {
            let suggest = in_clause(cc.suggest, r) && !in_clause(cc.advice_others, r) && !in_clause(cc.keep_up, r);
            if suggest {
                any_suggest = true;
                wish_for_change |= change_after_wish(hits, r, cc.suggest, cc.change);
            } else {
                negative_plain |= s < -1.0;
                positive_plain |= s > 1.0;
                min_plain = min_plain.min(s);
            }
            question_with_failure |= (in_clause(cc.enquire, r) || in_clause(cc.why, r)) && in_clause(cc.fail, r);
            // 就是/只是/唯一… introducing a clause that reads negative: the concrete
            // shortcoming of LABELING.md rule 10, however warm the rest of the review.
            contrast_negative |= !suggest && s < 0.0 && in_clause(cc.contrast, r);
        }
        let flag = |x: &mut SparseVec, name: &str, on: bool| {
            if on {
                x.push((feature_key(name), 1.0));
            }
        };
        flag(x, "clause:suggest", any_suggest);
        flag(x, "clause:negative_plain", negative_plain);
        flag(x, "clause:positive_plain", positive_plain);
        if min_plain.is_finite() {
            x.push((feature_key("sent:min_plain"), squash_sentiment(min_plain)));
        }
        flag(x, "clause:suggest_without_negative", any_suggest && !negative_plain);
        flag(x, "clause:question_with_failure", question_with_failure);
        flag(x, "clause:wish_for_change", wish_for_change);
        flag(x, "clause:contrast_negative", contrast_negative);
    }
}

impl Classifier {
    /// The words of a wish (`sw:`) and of a contrast (`xw:`): in each clause, the
    /// words from the first suggest or contrast cue to the clause's end. What a
    /// wish asks for tells a suggestion (希望多搞活动) from hope or keep-it-up
    /// praise (希望好用, 希望继续保持), and what follows 就是/只是 tells a concrete
    /// shortcoming from a softened remark (LABELING.md rules 5, 8, 10); among all
    /// of a long review's words those few would carry no weight of their own.
    fn scoped_words<'t>(
        &self,
        tokens: &'t [Token<'t>],
        ranges: &'t [std::ops::Range<usize>],
        clause_bytes: &'t [std::ops::Range<usize>],
        hits: &'t [CueHit],
    ) -> impl Iterator<Item = (&'static str, &'t str)> + 't {
        let cc = self.clause_cues;
        ranges.iter().zip(clause_bytes).flat_map(move |(r, b)| {
            [("sw:", cc.suggest), ("xw:", cc.contrast)].into_iter().flat_map(move |(prefix, class)| {
                let from = cue_starts(hits, class, b).min().unwrap_or(usize::MAX);
                tokens[r.clone()].iter().filter(move |t| t.byte_end > from && !t.is_punctuation()).map(move |t| (prefix, t.word))
            })
        })
    }
}

/// Byte offsets of the hits of cue class `class` (if the lexicon has it) inside `r`.
fn cue_starts<'h>(hits: &'h [CueHit], class: Option<usize>, r: &std::ops::Range<usize>) -> impl Iterator<Item = usize> + 'h {
    hits_in(hits, r).iter().filter(move |h| Some(h.class) == class).map(|h| h.byte_start)
}

/// Whether a change cue (多, 再, 便宜 …) follows a wish cue inside the clause
/// `r`: "希望多出一些特价" asks for a change, "希望质量没问题" only hopes.
fn change_after_wish(hits: &[CueHit], r: &std::ops::Range<usize>, wish: Option<usize>, change: Option<usize>) -> bool {
    cue_starts(hits, wish, r).min().is_some_and(|w| cue_starts(hits, change, r).any(|c| c > w))
}

/// Judgement features: whether the item judges anything negatively in a plain
/// clause, how often, and whether a complaint follows praise (the 就是 pattern
/// of LABELING.md rule 10), or only softened remarks (房间略小).
fn push_judgement_features(x: &mut SparseVec, judgements: &[Judgement]) {
    let neg = judgements.iter().filter(|j| j.polarity == Polarity::Negative).count();
    let pos = judgements.len() - neg;
    let first_pos = judgements.iter().position(|j| j.polarity == Polarity::Positive);
    let neg_after_pos = first_pos.is_some_and(|p| judgements[p..].iter().any(|j| j.polarity == Polarity::Negative));
    let negative = |f: fn(&Judgement) -> bool| judgements.iter().any(|j| j.polarity == Polarity::Negative && f(j));
    let flags = [
        judgements.is_empty(),
        pos >= 1,
        pos >= 2,
        neg >= 1,
        neg >= 2,
        neg >= 1 && pos == 0,
        neg >= 1 && pos >= 1,
        neg_after_pos,
        negative(|j| !j.softened),
        negative(|j| j.known_aspect),
    ];
    for (name, on) in JUDGEMENT_FEATURES.iter().zip(flags) {
        if on {
            x.push((feature_key(name), 1.0));
        }
    }
}

/// A sentiment logit scaled to the range of the other features.
pub(crate) fn squash_sentiment(logit: f32) -> f32 {
    (logit / 4.0).clamp(-1.5, 1.5)
}

fn push_sentiment_features(x: &mut SparseVec, whole: f32, clause: &[f32]) {
    let min = clause.iter().copied().fold(whole, f32::min);
    let max = clause.iter().copied().fold(whole, f32::max);
    x.push((feature_key(SENTIMENT_FEATURES[0]), squash_sentiment(whole)));
    x.push((feature_key(SENTIMENT_FEATURES[1]), squash_sentiment(min)));
    x.push((feature_key(SENTIMENT_FEATURES[2]), squash_sentiment(max)));
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

#[cfg(test)]
mod tests {
    use super::*;

    fn judgement_names(js: &[Judgement]) -> Vec<&'static str> {
        let mut x = SparseVec::new();
        push_judgement_features(&mut x, js);
        JUDGEMENT_FEATURES.iter().copied().filter(|n| x.iter().any(|(k, _)| *k == feature_key(n))).collect()
    }

    #[test]
    fn a_wish_for_change_needs_the_change_after_the_wish() {
        let fx = FeatureExtractor::embedded().unwrap();
        let cc = ClauseCues::of(&fx);
        let wish = |text: &str| change_after_wish(&fx.cues().find(text), &(0..text.len()), cc.suggest, cc.change);
        assert!(wish("希望多出一些特价的水果"));
        assert!(wish("要是电池能再长一点就好了"));
        assert!(!wish("希望质量没问题"));
        // 多 before the wish is not what the wish asks for.
        assert!(!wish("买了很多，希望质量过硬"));
    }

    #[test]
    fn wish_and_contrast_words_are_scoped_to_their_clause() {
        let pipeline = crate::Pipeline::embedded().unwrap();
        let text = "水果很新鲜,希望多搞活动,就是价格贵";
        let names = pipeline.classifier().feature_names(text, &pipeline.segmenter().segment(text));
        let scoped: Vec<&str> = names.iter().map(String::as_str).filter(|n| n.starts_with("sw:") || n.starts_with("xw:")).collect();
        assert!(scoped.contains(&"sw:希望") && scoped.contains(&"sw:活动"), "{scoped:?}");
        assert!(scoped.contains(&"xw:就是") && scoped.contains(&"xw:贵"), "{scoped:?}");
        // Words outside the wish and contrast clauses are not scoped.
        assert!(!scoped.iter().any(|n| n.ends_with("新鲜") || *n == "sw:贵" || *n == "xw:活动"), "{scoped:?}");
    }

    #[test]
    fn a_negative_clause_after_a_contrast_word_is_flagged() {
        let pipeline = crate::Pipeline::embedded().unwrap();
        let flagged = |text: &str| {
            let tokens = pipeline.segmenter().segment(text);
            pipeline.classifier().features(text, &tokens, &[]).item.iter().any(|(k, _)| *k == feature_key("clause:contrast_negative"))
        };
        assert!(flagged("房间很干净,服务也热情,就是早餐太差了"));
        assert!(!flagged("房间很干净,服务也热情,早餐丰富"));
    }

    #[test]
    fn judgement_features_read_order_and_softening() {
        let j = |polarity, softened| Judgement { polarity, known_aspect: true, softened };
        let (pos, neg) = (Polarity::Positive, Polarity::Negative);
        assert_eq!(judgement_names(&[]), ["kw:none"]);
        // 房间很好，就是早餐太差: a complaint after praise.
        assert_eq!(judgement_names(&[j(pos, false), j(neg, false)]), ["kw:pos", "kw:neg", "kw:mixed", "kw:neg_after_pos", "kw:neg_hard", "kw:neg_known"]);
        // 房间略小，但很温馨: a softened remark before praise.
        assert_eq!(judgement_names(&[j(neg, true), j(pos, false)]), ["kw:pos", "kw:neg", "kw:mixed", "kw:neg_known"]);
        assert_eq!(judgement_names(&[j(neg, false), j(neg, false)]), ["kw:neg", "kw:neg2", "kw:neg_only", "kw:neg_hard", "kw:neg_known"]);
    }
}
