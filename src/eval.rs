//! Evaluation against a gold file, computed exactly as `shared/eval/score.py`
//! does (accuracy, macro-F1, per-class P/R/F1, confusion, opinion-pair P/R/F1).

use crate::category::Category;
use crate::keywords::Keyword;
use crate::train::GoldItem;

/// A prediction for one gold item (`None` = no prediction, e.g. rejected).
pub struct Prediction {
    pub category: Option<Category>,
    pub keywords: Vec<Keyword>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ClassScores {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub support: usize,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct EvalReport {
    pub items: usize,
    pub accuracy: f64,
    pub macro_f1: f64,
    pub per_class: Vec<(Category, ClassScores)>,
    /// confusion[gold][predicted], predicted index 4 = no prediction.
    pub confusion: [[usize; 5]; 4],
    pub opinion_precision: f64,
    pub opinion_recall: f64,
    pub opinion_f1: f64,
}

fn f1(p: f64, r: f64) -> f64 {
    if p + r > 0.0 {
        2.0 * p * r / (p + r)
    } else {
        0.0
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b > 0 {
        a as f64 / b as f64
    } else {
        0.0
    }
}

/// score.py's `close`: equal, or one contains the other (both non-empty).
pub(crate) fn close(a: &str, b: &str) -> bool {
    let (a, b) = (a.trim(), b.trim());
    !a.is_empty() && !b.is_empty() && (a == b || a.contains(b) || b.contains(a))
}

pub fn evaluate(gold: &[GoldItem], predictions: &[Prediction]) -> EvalReport {
    let mut confusion = [[0usize; 5]; 4];
    let (mut tp_o, mut fp_o, mut fn_o) = (0, 0, 0);
    let mut items = 0;
    for (g, p) in gold.iter().zip(predictions) {
        let Some(gc) = Category::parse(&g.category) else { continue };
        items += 1;
        confusion[gc.index()][p.category.map_or(4, |c| c.index())] += 1;
        let pred: Vec<&Keyword> = p.keywords.iter().filter(|k| !k.aspect.is_empty() && !k.opinion.is_empty()).collect();
        let mut used = vec![false; pred.len()];
        for (ga, go, gpol) in &g.opinions {
            let hit = pred.iter().enumerate().position(|(k, kw)| !used[k] && close(&kw.aspect, ga) && close(&kw.opinion, go) && polarity_str(kw) == gpol);
            match hit {
                Some(k) => {
                    used[k] = true;
                    tp_o += 1;
                }
                None => fn_o += 1,
            }
        }
        fp_o += used.iter().filter(|u| !**u).count();
    }
    let mut per_class = Vec::new();
    let mut macro_sum = 0.0;
    for c in Category::ALL {
        let i = c.index();
        let tp = confusion[i][i];
        let fp: usize = (0..4).filter(|&g| g != i).map(|g| confusion[g][i]).sum();
        let support: usize = confusion[i].iter().sum();
        let (p, r) = (ratio(tp, tp + fp), ratio(tp, support));
        macro_sum += f1(p, r);
        per_class.push((c, ClassScores { precision: p, recall: r, f1: f1(p, r), support }));
    }
    let correct: usize = (0..4).map(|i| confusion[i][i]).sum();
    let (po, ro) = (ratio(tp_o, tp_o + fp_o), ratio(tp_o, tp_o + fn_o));
    EvalReport {
        items,
        accuracy: ratio(correct, items),
        macro_f1: macro_sum / 4.0,
        per_class,
        confusion,
        opinion_precision: po,
        opinion_recall: ro,
        opinion_f1: f1(po, ro),
    }
}

fn polarity_str(k: &Keyword) -> &'static str {
    match k.polarity {
        crate::keywords::Polarity::Positive => "positive",
        crate::keywords::Polarity::Negative => "negative",
    }
}

impl std::fmt::Display for EvalReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "items: {}", self.items)?;
        writeln!(f, "accuracy: {:.4}", self.accuracy)?;
        writeln!(f, "macro_f1: {:.4}", self.macro_f1)?;
        for (c, s) in &self.per_class {
            writeln!(f, "  {:<11} P={:.3} R={:.3} F1={:.3} n={}", c.as_str(), s.precision, s.recall, s.f1, s.support)?;
        }
        writeln!(f, "confusion (rows gold, columns predicted):")?;
        write!(f, "  {:<11}", "")?;
        for c in Category::ALL {
            write!(f, "{:>11}", c.as_str())?;
        }
        writeln!(f, "{:>11}", "(none)")?;
        for g in Category::ALL {
            write!(f, "  {:<11}", g.as_str())?;
            for v in self.confusion[g.index()] {
                write!(f, "{v:>11}")?;
            }
            writeln!(f)?;
        }
        writeln!(f, "opinion_pairs: P={:.4} R={:.4} F1={:.4}", self.opinion_precision, self.opinion_recall, self.opinion_f1)
    }
}
