//! The pipeline: normalise → segment → features → classify → keywords → priority,
//! each stage a module with one job, composed here. The keyword rules run before
//! the classifier reads features: their judgements (a plain complaint, praise)
//! are features too, and one pass of the rules serves both.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use rayon::prelude::*;

use crate::category::Category;
use crate::classify::Classifier;
use crate::error::{Error, Result};
use crate::features::FeatureExtractor;
use crate::keywords::KeywordExtractor;
use crate::model::ModelFile;
use crate::normalize::Normalizer;
use crate::priority::{Assessment, PriorityInput, PriorityScorer};
use crate::record::{Analysis, FeedbackRecord};
use crate::resources;
use crate::segment::Segmenter;

/// Longest text analysed, in characters. Feedback longer than this is almost
/// certainly not one message (a pasted log or document), and bounding it keeps
/// latency and memory predictable.
pub const DEFAULT_MAX_CHARS: usize = 20_000;

/// The whole analysis, `Send + Sync`: build once, share across threads.
#[derive(Debug)]
pub struct Pipeline {
    normalizer: Normalizer,
    segmenter: Segmenter,
    classifier: Classifier,
    keywords: KeywordExtractor,
    priority: PriorityScorer,
    max_chars: usize,
}

impl Pipeline {
    /// The pipeline with the embedded default model and lexicons.
    pub fn embedded() -> Result<Self> {
        Self::build(|| ModelFile::parse(resources::DEFAULT_MODEL, "embedded default model"))
    }

    /// The pipeline with a model file written by `triage train`.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        Self::build(|| {
            let data = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
            ModelFile::parse(&data, &path.display().to_string())
        })
    }

    pub fn from_model(model: ModelFile) -> Result<Self> {
        Self::build(|| Ok(model))
    }

    /// Builds the stages. jieba's dictionary load is most of start-up (about as
    /// long as everything else together), so it runs on its own thread while
    /// the model is parsed and the other stages are built.
    fn build(model: impl FnOnce() -> Result<ModelFile>) -> Result<Self> {
        std::thread::scope(|scope| {
            let segmenter = scope.spawn(Segmenter::embedded);
            let stages = model().and_then(|model| {
                Ok((
                    Normalizer::embedded()?,
                    Classifier::new(FeatureExtractor::embedded()?, &model),
                    KeywordExtractor::embedded()?,
                    PriorityScorer::embedded()?,
                ))
            });
            let segmenter =
                segmenter.join().unwrap_or_else(|_| Err(Error::Lexicon { name: "jieba dictionary".into(), line: 0, reason: "loader thread panicked".into() }));
            let (normalizer, classifier, keywords, priority) = stages?;
            Ok(Pipeline { normalizer, segmenter: segmenter?, classifier, keywords, priority, max_chars: DEFAULT_MAX_CHARS })
        })
    }

    /// Replaces the priority configuration.
    pub fn with_priority(mut self, scorer: PriorityScorer) -> Self {
        self.priority = scorer;
        self
    }

    /// Personal-data masking in every output field (on by default).
    pub fn with_pii_masking(mut self, on: bool) -> Self {
        self.normalizer = self.normalizer.with_pii_masking(on);
        self
    }

    pub fn with_max_chars(mut self, max_chars: usize) -> Self {
        self.max_chars = max_chars;
        self
    }

    pub fn normalizer(&self) -> &Normalizer {
        &self.normalizer
    }
    pub fn segmenter(&self) -> &Segmenter {
        &self.segmenter
    }
    pub fn classifier(&self) -> &Classifier {
        &self.classifier
    }
    pub fn keywords(&self) -> &KeywordExtractor {
        &self.keywords
    }
    pub fn priority(&self) -> &PriorityScorer {
        &self.priority
    }

    fn check_length(&self, text: &str) -> Result<()> {
        // Byte length bounds char count from above, so most texts skip the count.
        if text.len() > self.max_chars {
            let chars = text.chars().count();
            if chars > self.max_chars {
                return Err(Error::TextTooLong { chars, limit: self.max_chars });
            }
        }
        Ok(())
    }

    /// Analyses one record up to, not including, the scope-dependent priority:
    /// `analysis.triage` is `None` and `analysis.assessment` is set.
    /// `fallback_id` names records that carry no `id`.
    pub fn analyze_unscored(&self, record: &FeedbackRecord, fallback_id: &str) -> Result<Analysis> {
        self.check_length(&record.text)?;
        let norm = self.normalizer.normalize(&record.text);
        if norm.text.trim().is_empty() {
            return Err(Error::EmptyText);
        }
        let tokens = self.segmenter.segment(&norm.text);
        let (keywords, judgements) = self.keywords.extract_with_judgements(&norm, &tokens);
        let c = self.classifier.classify(&norm.text, &tokens, &judgements);
        let topics = if keywords.is_empty() { self.keywords.topics(&norm, &tokens) } else { Vec::new() };
        let assessment = self.priority.assess(&PriorityInput {
            category: c.category,
            labels: &c.labels,
            text: &norm.text,
            keywords: &keywords,
            customer_tier: record.customer_tier.as_deref(),
            customer_value: record.customer_value,
        });
        let scores: BTreeMap<Category, f64> = Category::ALL.iter().map(|&k| (k, round4(c.probabilities[k.index()]))).collect();
        Ok(Analysis {
            id: record.id.clone().unwrap_or_else(|| fallback_id.to_string()),
            text: norm.original,
            category: c.category,
            category_zh: c.category.zh().to_string(),
            confidence: round4(c.confidence),
            scores,
            labels: c.labels,
            keywords,
            topics,
            triage: None,
            assessment: Some(assessment),
        })
    }

    /// Completes the priority once the number of items reporting the same issue
    /// (`scope`, at least 1) is known.
    pub fn finish(&self, analysis: &mut Analysis, scope: u32) {
        if let Some(a) = analysis.assessment.take() {
            analysis.triage = Some(self.priority.score(&a, scope.max(1)));
        }
    }

    /// Analyses one record on its own (scope 1).
    pub fn analyze(&self, record: &FeedbackRecord) -> Result<Analysis> {
        let mut a = self.analyze_unscored(record, "")?;
        self.finish(&mut a, 1);
        Ok(a)
    }

    /// Analyses one text on its own.
    pub fn analyze_text(&self, text: &str) -> Result<Analysis> {
        self.analyze(&FeedbackRecord::new(text))
    }

    /// Analyses a batch in parallel; scope counts run over the whole batch.
    /// Results are in input order; records without an id get their position.
    pub fn analyze_batch(&self, records: &[FeedbackRecord]) -> Vec<Result<Analysis>> {
        let mut results: Vec<Result<Analysis>> = records.par_iter().enumerate().map(|(i, r)| self.analyze_unscored(r, &(i + 1).to_string())).collect();
        let mut counts = IssueCounts::default();
        for a in results.iter().flatten() {
            counts.add(a.assessment.as_ref());
        }
        for a in results.iter_mut().flatten() {
            let scope = counts.scope(a.assessment.as_ref());
            self.finish(a, scope);
        }
        results
    }
}

/// How many items of a batch report each issue (by `Assessment::issue_key`).
#[derive(Debug, Default)]
pub struct IssueCounts(HashMap<String, u32>);

impl IssueCounts {
    /// Counts one item's issue, if it has one.
    pub fn add(&mut self, assessment: Option<&Assessment>) {
        self.add_key(assessment.and_then(|a| a.issue_key.clone()));
    }

    /// Counts one item by its issue key, if it has one.
    pub fn add_key(&mut self, issue_key: Option<String>) {
        if let Some(key) = issue_key {
            *self.0.entry(key).or_insert(0) += 1;
        }
    }

    /// The scope of an item: how many items report its issue (1 when unkeyed).
    pub fn scope(&self, assessment: Option<&Assessment>) -> u32 {
        assessment.and_then(|a| a.issue_key.as_ref()).and_then(|k| self.0.get(k)).copied().unwrap_or(1)
    }
}

/// Four decimals, as an f64: an f32 written through JSON's f64 numbers would
/// print as 0.9998000264167786.
fn round4(x: f32) -> f64 {
    (f64::from(x) * 10_000.0).round() / 10_000.0
}

impl Default for Pipeline {
    /// The embedded default pipeline. The embedded model is validated by the
    /// test suite, so this cannot fail in a released build.
    fn default() -> Self {
        Self::embedded().expect("embedded model and lexicons are valid")
    }
}
