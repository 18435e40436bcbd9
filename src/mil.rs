//! Multiple-instance fitting of a binary clause head (training only).
//!
//! An item's labels say which categories it holds, not which of its clauses
//! holds them. So each item is a bag of clauses. A bag without the category
//! has no clause with it, so every one of its clauses is a negative. A bag with
//! the category has at least one such clause, taken to be the one the current
//! head scores highest. The first fit counts every clause of a positive bag as
//! positive. Each later round refits on the negatives and the strongest clause
//! of each positive bag. Out of fold, the rounds are what make the head useful:
//! without them, the head's suggestion scores ranked worse than the item layer's.
//!
//! The logistic loss is minimised sparsely with argmin's L-BFGS, the solver
//! linfa-logistic drives over dense matrices. There are about 70,000 clauses,
//! and dense they would not fit in memory beside a useful vocabulary.

use argmin::core::{CostFunction, Executor, Gradient};
use argmin::solver::linesearch::MoreThuenteLineSearch;
use argmin::solver::quasinewton::LBFGS;
use ndarray::Array1;

use crate::error::{Error, Result};

/// A clause's features as (column, value).
pub type SparseRow = Vec<(u32, f32)>;

/// Settings of one multiple-instance fit.
#[derive(Debug, Clone, Copy)]
pub struct MilOptions {
    /// Number of feature columns.
    pub columns: usize,
    /// L2 penalty (as linfa's `alpha`: loss sum + alpha/2 · |w|²; the bias is not penalised).
    pub alpha: f64,
    /// Refits on the strongest clause of each positive bag, after the first fit.
    pub rounds: usize,
    pub max_iterations: u64,
}

/// Fits a head on `bags` (each a list of clause rows) labelled `positive`.
/// Returns the weights per column and the bias, or `None` when every bag has
/// the same label (nothing to learn).
pub fn fit(bags: &[&[SparseRow]], positive: &[bool], opts: MilOptions) -> Result<Option<(Vec<f32>, f32)>> {
    if positive.iter().all(|&p| p) || positive.iter().all(|&p| !p) {
        return Ok(None);
    }
    let rows: Vec<(&SparseRow, usize)> = bags.iter().enumerate().flat_map(|(b, bag)| bag.iter().map(move |r| (r, b))).collect();
    let label: Vec<f64> = rows.iter().map(|&(_, b)| if positive[b] { 1.0 } else { -1.0 }).collect();
    let mut chosen: Vec<usize> = (0..rows.len()).collect();
    let mut params = Array1::zeros(opts.columns + 1);
    for round in 0..=opts.rounds {
        let problem = Problem { rows: &rows, label: &label, chosen: &chosen, alpha: opts.alpha };
        params = minimise(problem, params, opts.max_iterations)?;
        if round == opts.rounds {
            break;
        }
        // Keep the negatives and, of each positive bag, its strongest clause.
        let mut strongest: Vec<Option<(usize, f64)>> = vec![None; bags.len()];
        for (i, &(row, bag)) in rows.iter().enumerate() {
            if positive[bag] {
                let z = logit(&params, row);
                if strongest[bag].is_none_or(|(_, best)| z > best) {
                    strongest[bag] = Some((i, z));
                }
            }
        }
        chosen = (0..rows.len()).filter(|&i| !positive[rows[i].1]).chain(strongest.iter().flatten().map(|&(i, _)| i)).collect();
        chosen.sort_unstable();
    }
    let bias = params[opts.columns] as f32;
    Ok(Some((params.iter().take(opts.columns).map(|&w| w as f32).collect(), bias)))
}

fn minimise(problem: Problem<'_>, init: Array1<f64>, max_iterations: u64) -> Result<Array1<f64>> {
    let solver = LBFGS::new(MoreThuenteLineSearch::new(), 10).with_tolerance_grad(1e-4).map_err(|e| Error::Training(format!("clause head solver: {e}")))?;
    let result = Executor::new(problem, solver)
        .configure(|state| state.param(init).max_iters(max_iterations))
        .run()
        .map_err(|e| Error::Training(format!("clause head: {e}")))?;
    result.state.best_param.ok_or_else(|| Error::Training("clause head: the solver returned no parameters".into()))
}

/// `bias + w·x`; the bias is the last parameter.
fn logit(params: &Array1<f64>, row: &SparseRow) -> f64 {
    let bias = params[params.len() - 1];
    row.iter().fold(bias, |z, &(c, v)| z + params[c as usize] * v as f64)
}

/// The penalised logistic loss over the chosen rows.
struct Problem<'a> {
    rows: &'a [(&'a SparseRow, usize)],
    /// ±1 per row.
    label: &'a [f64],
    chosen: &'a [usize],
    alpha: f64,
}

impl Problem<'_> {
    fn penalty(&self, params: &Array1<f64>) -> f64 {
        let w = params.slice(ndarray::s![..params.len() - 1]);
        0.5 * self.alpha * w.dot(&w)
    }
}

/// log(1 + e^x) without overflow.
fn softplus(x: f64) -> f64 {
    if x > 30.0 {
        x
    } else {
        x.exp().ln_1p()
    }
}

impl CostFunction for Problem<'_> {
    type Param = Array1<f64>;
    type Output = f64;

    fn cost(&self, params: &Array1<f64>) -> std::result::Result<f64, argmin::core::Error> {
        let loss: f64 = self.chosen.iter().map(|&i| softplus(-self.label[i] * logit(params, self.rows[i].0))).sum();
        Ok(loss + self.penalty(params))
    }
}

impl Gradient for Problem<'_> {
    type Param = Array1<f64>;
    type Gradient = Array1<f64>;

    fn gradient(&self, params: &Array1<f64>) -> std::result::Result<Array1<f64>, argmin::core::Error> {
        let n = params.len() - 1;
        let mut grad = params * self.alpha;
        grad[n] = 0.0;
        for &i in self.chosen {
            let (row, y) = (self.rows[i].0, self.label[i]);
            // d/dz softplus(−y·z) = −y·σ(−y·z)
            let g = -y / (1.0 + (y * logit(params, row)).exp());
            for &(c, v) in row.iter() {
                grad[c as usize] += g * v as f64;
            }
            grad[n] += g;
        }
        Ok(grad)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_clause_that_carries_the_label() {
        // Column 0 marks the clause that carries the label and column 1 is noise that
        // every clause of a positive bag shares with half the negatives. Only the
        // rounds can tell that column 0 does the work.
        let wish: SparseRow = vec![(0, 1.0), (2, 1.0)];
        let plain: SparseRow = vec![(1, 1.0), (2, 1.0)];
        let other: SparseRow = vec![(2, 1.0)];
        let positive_bag = [plain.clone(), wish.clone()];
        let negative_a = [plain.clone(), other.clone()];
        let negative_b = [other.clone()];
        let mut bags: Vec<&[SparseRow]> = Vec::new();
        let mut positive = Vec::new();
        for _ in 0..20 {
            bags.extend([&positive_bag[..], &negative_a[..], &negative_b[..]]);
            positive.extend([true, false, false]);
        }
        let opts = MilOptions { columns: 3, alpha: 0.1, rounds: 3, max_iterations: 100 };
        let (w, b) = fit(&bags, &positive, opts).unwrap().unwrap();
        let score = |r: &SparseRow| b + r.iter().map(|&(c, v)| w[c as usize] * v).sum::<f32>();
        assert!(score(&wish) > 2.0, "the wish clause should read positive: {}", score(&wish));
        assert!(score(&plain) < -2.0, "the plain clause should read negative: {}", score(&plain));
        assert!(fit(&bags[..1], &positive[..1], opts).unwrap().is_none(), "one label only: nothing to fit");
    }
}
