//! Training the phrase filter (`keywords::PhraseFilter`) from hand-labelled
//! opinion pairs: every phrase the rules propose on a labelled item is an
//! example, positive when it matches one of the item's pairs the way
//! `score.py` matches them (aspects and opinions equal or one containing the
//! other, same polarity). The keep threshold is chosen on out-of-fold
//! probabilities, scored like `score.py` (the cap of four included) on real
//! feedback only; the dev set plays no part.

use std::collections::HashMap;

use linfa::prelude::*;
use linfa_logistic::LogisticRegression;
use ndarray::Array1;
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::eval::close;
use crate::keywords::{keep_mask, most_probable, FilterFile, FILTER_FORMAT, FILTER_VERSION, MAX_KEYWORDS};
use crate::model::LayerFile;
use crate::train::{is_real_feedback, GoldItem, Tools};

/// The proposals of one labelled item.
struct ItemExamples {
    real: bool,
    gold_pairs: usize,
    /// Per proposal, in text order: feature names, matched a gold pair, cap key.
    proposals: Vec<(Vec<String>, bool, (bool, bool))>,
}

/// Pair-level precision, recall and F1, as `score.py` counts them.
#[derive(Debug, Clone, Copy, Default)]
pub struct PairScore {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub predicted: usize,
    pub gold: usize,
}

impl std::fmt::Display for PairScore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "P {:.4} R {:.4} F1 {:.4} ({} predicted, {} gold)", self.precision, self.recall, self.f1, self.predicted, self.gold)
    }
}

/// What training found, for the log and the file's provenance.
pub struct PhraseTrainingReport {
    /// Keeping every proposal (the rules alone), out of fold.
    pub rules_only: PairScore,
    /// With the filter at the chosen threshold, out of fold.
    pub filtered: PairScore,
    pub threshold: f32,
    /// Out-of-fold scores at each threshold tried.
    pub curve: Vec<(f32, PairScore)>,
    pub examples: usize,
    pub items: usize,
}

/// Trains the filter on `items` (those with a `text`; items with no pairs
/// count too: a phrase proposed there is a false one).
pub fn train_phrase_filter(items: &[GoldItem], folds: usize, alpha: f32) -> Result<(FilterFile, PhraseTrainingReport)> {
    let data = collect(items)?;
    let examples: usize = data.iter().map(|d| d.proposals.len()).sum();
    if examples < 50 {
        return Err(Error::Training(format!("only {examples} proposed phrases to learn from")));
    }
    let folds = folds.max(2);
    let mut oof: Vec<Vec<f32>> = data.iter().map(|d| vec![0.0; d.proposals.len()]).collect();
    for fold in 0..folds {
        let (fit_idx, held): (Vec<usize>, Vec<usize>) = (0..data.len()).partition(|i| i % folds != fold);
        let layer = fit(&data, &fit_idx, alpha)?;
        let filter = crate::keywords::PhraseFilter::from_file(&file(layer, 0.5, Vec::new()));
        for i in held {
            for (k, (names, _, _)) in data[i].proposals.iter().enumerate() {
                oof[i][k] = filter.probability(&hashed(names));
            }
        }
    }
    let rules_only = score(&data, &oof, 0.0);
    let curve: Vec<(f32, PairScore)> = (1..=18).map(|step| step as f32 * 0.05).map(|t| (t, score(&data, &oof, t))).collect();
    // The F1 curve is flat near its top and its steps differ by noise; the
    // threshold is the best of the curve smoothed over neighbouring steps.
    let smoothed = |i: usize| {
        let lo = i.saturating_sub(1);
        let hi = (i + 1).min(curve.len() - 1);
        curve[lo..=hi].iter().map(|(_, s)| s.f1).sum::<f64>() / (hi - lo + 1) as f64
    };
    let best = (0..curve.len()).fold(0, |b, i| if smoothed(i) > smoothed(b) + 1e-9 { i } else { b });
    let (threshold, filtered) = if curve[best].1.f1 > rules_only.f1 { curve[best] } else { (0.0, rules_only) };
    let all: Vec<usize> = (0..data.len()).collect();
    let layer = fit(&data, &all, alpha)?;
    let report = PhraseTrainingReport { rules_only, filtered, threshold, curve, examples, items: data.len() };
    let provenance = vec![
        format!("{} labelled items, {} proposed phrases, L2 alpha {alpha}", data.len(), examples),
        format!("{folds}-fold out of fold on real feedback: rules only {rules_only}; filtered at {threshold:.2}: {filtered}"),
    ];
    Ok((file(layer, threshold, provenance), report))
}

fn file(layer: LayerFile, threshold: f32, provenance: Vec<String>) -> FilterFile {
    FilterFile { format: FILTER_FORMAT.into(), version: FILTER_VERSION, threshold, provenance, layer }
}

fn hashed(names: &[String]) -> Vec<(u64, f32)> {
    names.iter().map(|n| (crate::features::feature_key(n), 1.0)).collect()
}

/// Runs the rules (no filter) over every item and labels each proposal.
fn collect(items: &[GoldItem]) -> Result<Vec<ItemExamples>> {
    let tools = Tools::embedded()?;
    Ok(items
        .par_iter()
        .filter(|it| !it.text.trim().is_empty())
        .map(|it| {
            let norm = tools.normalizer.normalize(&it.text);
            let tokens = tools.segmenter.segment(&norm.text);
            let proposals = tools.keywords.proposals_with_features(&norm, &tokens);
            // score.py's greedy matching: each gold pair takes the first unused proposal close to it.
            let mut matched = vec![false; proposals.len()];
            for (ga, go, gpol) in &it.opinions {
                let hit = proposals
                    .iter()
                    .enumerate()
                    .position(|(k, p)| !matched[k] && close(&p.keyword.aspect, ga) && close(&p.keyword.opinion, go) && p.keyword.polarity.as_str() == gpol);
                if let Some(k) = hit {
                    matched[k] = true;
                }
            }
            ItemExamples {
                real: is_real_feedback(&it.id),
                gold_pairs: it.opinions.len(),
                proposals: proposals.into_iter().zip(matched).map(|(p, m)| (p.features, m, p.order_key)).collect(),
            }
        })
        .collect())
}

/// Pair scores over the real items when proposals with probability ≥ `t` are
/// kept and then capped as the extractor caps them.
fn score(data: &[ItemExamples], probs: &[Vec<f32>], t: f32) -> PairScore {
    let (mut tp, mut predicted, mut gold) = (0usize, 0usize, 0usize);
    for (d, p) in data.iter().zip(probs).filter(|(d, _)| d.real) {
        gold += d.gold_pairs;
        let kept: Vec<usize> = (0..d.proposals.len()).filter(|&k| p[k] >= t).collect();
        // Rules only (t = 0): the extractor's cap without a filter; else the most probable.
        let mask = if t > 0.0 {
            most_probable(&kept.iter().map(|&k| p[k]).collect::<Vec<_>>(), MAX_KEYWORDS)
        } else {
            keep_mask(&kept.iter().map(|&k| d.proposals[k].2).collect::<Vec<_>>(), MAX_KEYWORDS)
        };
        for (&k, keep) in kept.iter().zip(mask) {
            if keep {
                predicted += 1;
                tp += d.proposals[k].1 as usize;
            }
        }
    }
    let precision = if predicted > 0 { tp as f64 / predicted as f64 } else { 0.0 };
    let recall = if gold > 0 { tp as f64 / gold as f64 } else { 0.0 };
    let f1 = if precision + recall > 0.0 { 2.0 * precision * recall / (precision + recall) } else { 0.0 };
    PairScore { precision, recall, f1, predicted, gold }
}

/// A logistic "keep" layer fitted on the proposals of the items at `idx`.
fn fit(data: &[ItemExamples], idx: &[usize], alpha: f32) -> Result<LayerFile> {
    let rows: Vec<(&Vec<String>, bool)> = idx.iter().flat_map(|&i| data[i].proposals.iter().map(|(n, m, _)| (n, *m))).collect();
    // Features seen at least twice: one-off words carry no evidence.
    let mut df: HashMap<&str, usize> = HashMap::new();
    for (names, _) in &rows {
        for n in names.iter() {
            *df.entry(n.as_str()).or_insert(0) += 1;
        }
    }
    let mut vocab: Vec<&str> = df.into_iter().filter(|&(_, c)| c >= 2).map(|(n, _)| n).collect();
    vocab.sort_unstable();
    let column: HashMap<&str, usize> = vocab.iter().enumerate().map(|(i, n)| (*n, i)).collect();
    let mut x = crate::train::design_zeros(rows.len(), vocab.len());
    for (r, (names, _)) in rows.iter().enumerate() {
        for n in names.iter() {
            if let Some(&c) = column.get(n.as_str()) {
                x[[r, c]] = 1.0;
            }
        }
    }
    let y: Array1<usize> = rows.iter().map(|(_, m)| *m as usize).collect();
    if y.iter().all(|&v| v == y[0]) {
        return Err(Error::Training("the proposed phrases are all right or all wrong: nothing to learn".into()));
    }
    let fitted =
        LogisticRegression::default().alpha(alpha).max_iterations(300).fit(&Dataset::new(x, y)).map_err(|e| Error::Training(format!("phrase filter: {e}")))?;
    let sign = if fitted.labels().pos.class == 1 { 1.0 } else { -1.0 };
    let weights: Vec<f32> = fitted.params().iter().map(|w| sign * w).collect();
    let keep: Vec<usize> = (0..vocab.len()).filter(|&f| weights[f].abs() > 1e-4).collect();
    Ok(LayerFile {
        outputs: vec!["keep".into()],
        features: keep.iter().map(|&f| vocab[f].to_string()).collect(),
        weights: keep.iter().map(|&f| vec![(weights[f] * 1e6).round() / 1e6]).collect(),
        bias: vec![sign * fitted.intercept()],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keywords::{KeywordExtractor, PhraseFilter};
    use crate::normalize::Normalizer;
    use crate::segment::Segmenter;

    fn item(id: usize, text: &str, pairs: &[(&str, &str, &str)]) -> GoldItem {
        GoldItem {
            id: format!("t-{id}"),
            text: text.into(),
            category: "praise".into(),
            labels: vec![],
            opinions: pairs.iter().map(|(a, o, p)| (a.to_string(), o.to_string(), p.to_string())).collect(),
            weight: 1,
        }
    }

    #[test]
    fn learns_which_proposals_annotators_list() {
        // Annotators never list the weather (not the business's doing) but do
        // list the packaging; the rules propose both.
        let mut items = Vec::new();
        for i in 0..30 {
            items.push(item(2 * i, "天气很好，物流很快", &[("物流", "快", "positive")]));
            items.push(item(2 * i + 1, "包装很好，物流很快", &[("包装", "好", "positive"), ("物流", "快", "positive")]));
        }
        let (file, report) = train_phrase_filter(&items, 3, 1.0).unwrap();
        assert_eq!(report.items, 60);
        assert_eq!(report.examples, 120);
        assert!((report.rules_only.precision - 0.75).abs() < 1e-9, "{}", report.rules_only);
        assert!(report.filtered.f1 > 0.99, "{}", report.filtered);
        // The file round-trips and the extractor with it drops the weather.
        let json = serde_json::to_string(&file).unwrap();
        let filter = PhraseFilter::from_file(&FilterFile::parse(&json, "test").unwrap());
        let extractor = KeywordExtractor::embedded().unwrap().with_filter(Some(filter));
        let normalizer = Normalizer::embedded().unwrap();
        let segmenter = Segmenter::embedded().unwrap();
        let phrases = |text: &str| {
            let norm = normalizer.normalize(text);
            let tokens = segmenter.segment(&norm.text);
            extractor.extract(&norm, &tokens).into_iter().map(|k| k.text).collect::<Vec<_>>()
        };
        assert_eq!(phrases("天气很好，物流很快"), vec!["物流快"]);
        assert_eq!(phrases("包装很好，物流很快"), vec!["包装好", "物流快"]);
    }

    #[test]
    fn too_few_proposals_is_a_clear_error() {
        let items: Vec<GoldItem> = (0..30).map(|i| item(i, "请问怎么还款", &[])).collect();
        assert!(matches!(train_phrase_filter(&items, 3, 1.0), Err(Error::Training(_))));
    }

    #[test]
    fn bad_filter_files_are_clear_errors() {
        let good =
            r#"{"format":"feedback-triage-phrase-filter","version":1,"threshold":0.0,"layer":{"outputs":["keep"],"features":[],"weights":[],"bias":[0.0]}}"#
                .to_string();
        assert!(FilterFile::parse(&good, "f").is_ok());
        for (bad, want) in [
            (good.replace("\"version\":1", "\"version\":99"), "version"),
            (good.replace("feedback-triage-phrase-filter", "something-else"), "not a phrase filter"),
            (good.replace("\"bias\":[0.0]", "\"bias\":[0.0,1.0]"), "one output"),
            ("{".to_string(), "EOF"),
        ] {
            let err = FilterFile::parse(&bad, "f").unwrap_err().to_string();
            assert!(err.contains(want) || err.contains("99"), "{bad}: {err}");
        }
    }
}
