//! Writes `models/keywords/idf.tsv`: the inverse document frequency of nouns and
//! verbs over the project's three corpora (reviews and ATEC service questions),
//! which the topic fallback (`KeywordExtractor::topics`) weighs words with.
//!
//! Items of the dev gold set are excluded from the counts.
//!
//!   cargo run --release --example kw_build_lexicons -- [--corpora DIR] [--exclude GOLD.jsonl]... [--out DIR]
use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::PathBuf;

use rayon::prelude::*;

use feedback_triage::normalize::Normalizer;
use feedback_triage::segment::Segmenter;
use feedback_triage::train::{load_gold, Corpora};

const MIN_DF: u32 = 3;

fn main() {
    let mut args = std::env::args().skip(1);
    let mut corpora_dir = PathBuf::from("/work/shared/data/corpora");
    let mut exclude = vec![PathBuf::from("/work/shared/data/gold/dev.jsonl")];
    let mut out = PathBuf::from("models/keywords");
    while let Some(a) = args.next() {
        match a.as_str() {
            "--corpora" => corpora_dir = PathBuf::from(args.next().expect("DIR")),
            "--exclude" => exclude.push(PathBuf::from(args.next().expect("FILE"))),
            "--out" => out = PathBuf::from(args.next().expect("DIR")),
            other => panic!("unknown argument {other}"),
        }
    }
    let mut excluded: HashSet<String> = HashSet::new();
    for p in &exclude {
        if p.exists() {
            for it in load_gold(p).expect("gold") {
                excluded.insert(it.text.trim().to_string());
            }
        }
    }
    let corpora = Corpora::open(&corpora_dir).expect("corpora");
    let normalizer = Normalizer::embedded().unwrap().with_pii_masking(false);
    let segmenter = Segmenter::embedded().unwrap();

    let reviews: Vec<(&str, bool)> = corpora.sentiment_reviews().into_iter().filter(|(t, _)| !excluded.contains(t.trim())).collect();
    // IDF over all corpora.
    let mut docs: Vec<&str> = reviews.iter().map(|r| r.0).collect();
    for row in 1..=60_000 {
        for col in ["s1", "s2"] {
            if let Some(t) = corpora.text("atec_nlp_sim_train", row, Some(col)) {
                if !excluded.contains(t.trim()) {
                    docs.push(t);
                }
            }
        }
    }
    let n_docs = docs.len() as f64;
    let df: HashMap<String, u32> = docs
        .par_iter()
        .fold(HashMap::new, |mut acc: HashMap<String, u32>, text| {
            let norm = normalizer.normalize(text);
            let mut seen = HashSet::new();
            for t in segmenter.segment(&norm.text) {
                if (t.tag.starts_with('n') || t.tag.starts_with('v') || t.tag == "eng" || t.tag == "j" || t.tag == "l" || t.tag == "i")
                    && t.word.chars().count() >= 2
                    && seen.insert(t.word)
                {
                    *acc.entry(t.word.to_string()).or_default() += 1;
                }
            }
            acc
        })
        .reduce(HashMap::new, |mut a, b| {
            for (k, v) in b {
                *a.entry(k).or_default() += v;
            }
            a
        });
    let mut idf: Vec<(String, f64)> = df.into_iter().filter(|(_, d)| *d >= MIN_DF).map(|(w, d)| (w, (n_docs / d as f64).ln())).collect();
    idf.sort_by(|a, b| a.0.cmp(&b.0));
    let mut f = std::io::BufWriter::new(std::fs::File::create(out.join("idf.tsv")).unwrap());
    writeln!(f, "# Inverse document frequency (ln N/df) of nouns and verbs over the project's corpora").unwrap();
    writeln!(f, "# ({} documents, df >= {MIN_DF}); written by `cargo run --release --example kw_build_lexicons`.", docs.len()).unwrap();
    for (w, v) in &idf {
        writeln!(f, "{w}\t{v:.3}").unwrap();
    }
    eprintln!("{} idf entries", idf.len());
}
