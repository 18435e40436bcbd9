//! Times each start-up component of the pipeline (what `Pipeline::embedded` builds).
//!   cargo run --release --example startup_parts
use std::time::Instant;

use feedback_triage::features::FeatureExtractor;
use feedback_triage::keywords::KeywordExtractor;
use feedback_triage::model::ModelFile;
use feedback_triage::normalize::Normalizer;
use feedback_triage::priority::PriorityScorer;
use feedback_triage::segment::Segmenter;

fn time<T>(name: &str, f: impl FnOnce() -> T) -> T {
    let t0 = Instant::now();
    let v = f();
    println!("{name:>12}: {:6.1} ms", t0.elapsed().as_secs_f64() * 1e3);
    v
}

fn main() {
    let t0 = Instant::now();
    time("normalizer", || Normalizer::embedded().unwrap());
    time("segmenter", || Segmenter::embedded().unwrap());
    let model = time("model", || ModelFile::parse(feedback_triage::resources::DEFAULT_MODEL, "m").unwrap());
    let fe = time("features", || FeatureExtractor::embedded().unwrap());
    time("classifier", || feedback_triage::classify::Classifier::new(fe, &model));
    time("keywords", || KeywordExtractor::embedded().unwrap());
    time("priority", || PriorityScorer::embedded().unwrap());
    println!("total {:.1} ms", t0.elapsed().as_secs_f64() * 1e3);
}
