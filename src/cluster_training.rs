//! Building the word clusters (`clusters::WordClusters`) from unlabelled text.
//!
//! A word is described by the words around it (±`window`), weighted by positive
//! pointwise mutual information, so that 增加 and 添加, or 物流 and 快递, which
//! the labelled items may show once or never, get similar descriptions. The
//! sparse PPMI rows are reduced to `dims` dimensions by a truncated SVD
//! (subspace iteration, so no LAPACK is needed), L2-normalised, and grouped by
//! linfa's k-means. The classifier then reads a
//! word's cluster beside the word itself.

use std::collections::HashMap;

use linfa::prelude::*;
use linfa_clustering::KMeans;
use ndarray::Array2;
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::train::{Progress, Tools};

/// Settings of the cluster build; the defaults built the shipped clusters.
#[derive(Debug, Clone)]
pub struct ClusterOptions {
    /// The most frequent words clustered (rarer words get no cluster).
    pub vocabulary: usize,
    /// A word must occur this often to be clustered.
    pub min_count: usize,
    pub clusters: usize,
    /// Dimensions kept by the truncated SVD.
    pub dims: usize,
    /// Context words on each side.
    pub window: usize,
    pub progress: Progress,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        ClusterOptions { vocabulary: 20_000, min_count: 5, clusters: 400, dims: 128, window: 2, progress: Progress::default() }
    }
}

/// Clusters the words of `texts`: returns (word, cluster) for every clustered word,
/// sorted by word.
pub fn build_clusters(texts: &[&str], opts: &ClusterOptions) -> Result<Vec<(String, usize)>> {
    let tools = Tools::embedded()?;
    let sentences: Vec<Vec<String>> = texts
        .par_iter()
        .map(|t| {
            let norm = tools.normalizer.normalize(t);
            tools.segmenter.segment(&norm.text).iter().filter(|t| !t.is_punctuation()).map(|t| t.word.to_string()).collect()
        })
        .collect();
    let vocab = vocabulary(&sentences, opts);
    if vocab.len() < opts.clusters.max(2) {
        return Err(Error::Training(format!("only {} words to cluster into {} clusters", vocab.len(), opts.clusters)));
    }
    opts.progress.report(|| format!("clustering {} words from {} texts into {}", vocab.len(), sentences.len(), opts.clusters));
    let index: HashMap<&str, u32> = vocab.iter().enumerate().map(|(i, w)| (w.as_str(), i as u32)).collect();
    let vectors = projected_ppmi(&sentences, &index, opts);
    // One run (linfa's default is ten): a word's cluster is a coarse hint, and
    // each run costs words × clusters × dims per iteration.
    let model = KMeans::params(opts.clusters)
        .n_runs(1)
        .max_n_iterations(40)
        .tolerance(1e-4)
        .fit(&DatasetBase::from(vectors.clone()))
        .map_err(|e| Error::Training(format!("k-means: {e}")))?;
    opts.progress.report(|| format!("k-means done, mean squared distance {:.4}", model.inertia()));
    let assigned = model.predict(&vectors);
    let mut out: Vec<(String, usize)> = vocab.into_iter().zip(assigned.iter().copied()).collect();
    out.sort();
    Ok(out)
}

/// The `opts.vocabulary` most frequent words seen at least `min_count` times;
/// ties broken by the word, so the build is deterministic.
fn vocabulary(sentences: &[Vec<String>], opts: &ClusterOptions) -> Vec<String> {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for w in sentences.iter().flatten() {
        *counts.entry(w.as_str()).or_insert(0) += 1;
    }
    let mut words: Vec<(&str, usize)> = counts.into_iter().filter(|(w, c)| *c >= opts.min_count && !w.chars().all(|c| c.is_ascii_digit())).collect();
    words.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    words.into_iter().take(opts.vocabulary).map(|(w, _)| w.to_string()).collect()
}

/// Each word's PPMI context row, reduced to its coordinates in the top `dims`
/// left singular vectors (no singular-value weighting, which Levy et al. 2015
/// found best for word similarity), L2-normalised.
fn projected_ppmi(sentences: &[Vec<String>], index: &HashMap<&str, u32>, opts: &ClusterOptions) -> Array2<f64> {
    let n = index.len();
    let mut pair_counts: HashMap<(u32, u32), f64> = HashMap::new();
    for s in sentences {
        let ids: Vec<Option<u32>> = s.iter().map(|w| index.get(w.as_str()).copied()).collect();
        for (i, &w) in ids.iter().enumerate() {
            let Some(w) = w else { continue };
            for &c in ids[i.saturating_sub(opts.window)..(i + opts.window + 1).min(ids.len())].iter().flatten() {
                if c != w {
                    *pair_counts.entry((w, c)).or_insert(0.0) += 1.0;
                }
            }
        }
    }
    let mut word_total = vec![0.0f64; n];
    let mut context_total = vec![0.0f64; n];
    for (&(w, c), &k) in &pair_counts {
        word_total[w as usize] += k;
        context_total[c as usize] += k;
    }
    // Context counts smoothed by the 0.75 power, as word2vec does, so rare
    // contexts do not dominate the PMI.
    let smoothed: Vec<f64> = context_total.iter().map(|c| c.powf(0.75)).collect();
    let smoothed_sum: f64 = smoothed.iter().sum();
    // In a fixed order: float sums in hash order would differ from run to run.
    let mut pairs: Vec<((u32, u32), f64)> = pair_counts.into_iter().collect();
    pairs.sort_unstable_by_key(|p| p.0);
    let ppmi: Vec<(u32, u32, f64)> = pairs
        .iter()
        .filter_map(|&((w, c), k)| {
            // P(w, c) / (P(w) · P_0.75(c)); the pair total cancels out.
            let pmi = (k * smoothed_sum / (word_total[w as usize] * smoothed[c as usize])).ln();
            (pmi > 0.0).then_some((w, c, pmi))
        })
        .collect();
    let mut vectors = top_left_singular_vectors(&ppmi, n, opts.dims);
    for mut row in vectors.rows_mut() {
        let norm = row.dot(&row).sqrt();
        if norm > 0.0 {
            row /= norm;
        }
    }
    vectors
}

/// An orthonormal basis of the top-`k` left singular subspace of the sparse
/// square matrix `a` (triplets row, column, value), by subspace iteration:
/// Y ← A·(Aᵀ·Y), re-orthonormalised each round, from a fixed pseudo-random start.
fn top_left_singular_vectors(a: &[(u32, u32, f64)], n: usize, k: usize) -> Array2<f64> {
    let mut y = Array2::<f64>::from_shape_fn((n, k), |(i, j)| {
        let mut h = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (j as u64).wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
        h ^= h >> 31;
        h = h.wrapping_mul(0xBF58_476D_1CE4_E5B9);
        h ^= h >> 29;
        (h % 2001) as f64 / 1000.0 - 1.0
    });
    orthonormalize_columns(&mut y);
    for _ in 0..6 {
        let mut z = Array2::<f64>::zeros((n, k)); // Aᵀ·Y
        for &(r, c, v) in a {
            z.row_mut(c as usize).scaled_add(v, &y.row(r as usize));
        }
        y.fill(0.0); // A·Z
        for &(r, c, v) in a {
            y.row_mut(r as usize).scaled_add(v, &z.row(c as usize));
        }
        orthonormalize_columns(&mut y);
    }
    y
}

/// Modified Gram–Schmidt over the columns (a column that vanishes stays zero).
fn orthonormalize_columns(y: &mut Array2<f64>) {
    for j in 0..y.ncols() {
        for i in 0..j {
            let dot = y.column(i).dot(&y.column(j));
            let prev = y.column(i).to_owned();
            y.column_mut(j).scaled_add(-dot, &prev);
        }
        let norm = y.column(j).dot(&y.column(j)).sqrt();
        if norm > 1e-12 {
            y.column_mut(j).mapv_inplace(|v| v / norm);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orthonormalized_columns_are_orthonormal() {
        let mut y = Array2::from_shape_fn((50, 4), |(i, j)| ((i * 7 + j * 13) % 11) as f64 - 5.0 + (i == j) as u8 as f64);
        orthonormalize_columns(&mut y);
        let gram = y.t().dot(&y);
        for ((i, j), v) in gram.indexed_iter() {
            assert!((v - if i == j { 1.0 } else { 0.0 }).abs() < 1e-9, "gram[{i},{j}] = {v}");
        }
    }

    #[test]
    fn words_used_alike_share_a_cluster() {
        // Two families of words, each seen only between its own kind of neighbours.
        let mut texts = Vec::new();
        for i in 0..40 {
            for fruit in ["apple", "pear", "plum"] {
                texts.push(format!("i eat a {fruit} every morning {i}"));
            }
            for car in ["audi", "benz", "ford"] {
                texts.push(format!("they drive the {car} on weekends {i}"));
            }
        }
        let texts: Vec<&str> = texts.iter().map(|s| s.as_str()).collect();
        let opts = ClusterOptions { vocabulary: 100, min_count: 5, clusters: 2, dims: 4, window: 2, progress: Progress::default() };
        let clusters: HashMap<String, usize> = build_clusters(&texts, &opts).unwrap().into_iter().collect();
        assert_eq!(clusters["apple"], clusters["pear"]);
        assert_eq!(clusters["apple"], clusters["plum"]);
        assert_eq!(clusters["audi"], clusters["ford"]);
        assert_ne!(clusters["apple"], clusters["benz"]);
    }
}
