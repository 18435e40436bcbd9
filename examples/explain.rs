//! Why did the classifier decide what it did? For each line of stdin, prints
//! the presence probabilities, each clause's logit from that category's clause
//! head, and the features that pushed the item presence layer most (value ×
//! weight), from the embedded model.
//!
//!   echo '水果很新鲜，希望多出一些特价的水果' | cargo run --release --example explain -- suggestion
use std::collections::HashMap;
use std::io::BufRead;

use feedback_triage::classify::LinearLayer;
use feedback_triage::features::feature_key;
use feedback_triage::model::ModelFile;
use feedback_triage::resources::DEFAULT_MODEL;
use feedback_triage::{Category, Pipeline};

fn main() {
    let category = std::env::args().nth(1).and_then(|c| Category::parse(&c)).unwrap_or(Category::Suggestion);
    let pipeline = Pipeline::embedded().expect("pipeline");
    let model = ModelFile::parse(DEFAULT_MODEL, "embedded").expect("model");
    let weights: HashMap<&str, f32> = model.presence.features.iter().zip(&model.presence.weights).map(|(n, w)| (n.as_str(), w[category.index()])).collect();
    let clause_heads = LinearLayer::from_file(&model.clause_presence);
    let clause_weights: HashMap<&str, f32> =
        model.clause_presence.features.iter().zip(&model.clause_presence.weights).map(|(n, w)| (n.as_str(), w[category.index()])).collect();
    let classifier = pipeline.classifier();
    for line in std::io::stdin().lock().lines().map_while(Result::ok) {
        let norm = pipeline.normalizer().normalize(&line);
        let tokens = pipeline.segmenter().segment(&norm.text);
        let judgements = pipeline.keywords().judgements(&norm, &tokens);
        let x = classifier.features(&norm.text, &tokens, &judgements);
        let values: HashMap<u64, f32> = x.item.iter().copied().collect();
        let (presence, _) = classifier.head_probabilities(&x);
        let mut names = classifier.feature_names(&norm.text, &tokens);
        names.sort();
        names.dedup();
        let mut parts: Vec<(f32, String)> = names.iter().filter_map(|n| Some((values.get(&feature_key(n))? * weights.get(n.as_str())?, n.clone()))).collect();
        parts.sort_by(|a, b| b.0.abs().total_cmp(&a.0.abs()));
        println!("{line}");
        println!(
            "  presence {:?}  bias {:+.2}",
            Category::ALL.iter().zip(presence).map(|(c, p)| format!("{c} {p:.2}")).collect::<Vec<_>>(),
            model.presence.bias[category.index()]
        );
        let clause_names = classifier.clause_feature_names(&norm.text, &tokens);
        for ((instance, cx), names) in classifier.clause_instances(&norm.text, &tokens).into_iter().zip(&x.clauses).zip(&clause_names) {
            let mut out = [0.0f32; 4];
            clause_heads.score(cx, &mut out);
            let cvalues: HashMap<u64, f32> = cx.iter().copied().collect();
            let mut top: Vec<(f32, &str)> =
                names.iter().filter_map(|n| Some((cvalues.get(&feature_key(n))? * clause_weights.get(n.as_str())?, n.as_str()))).collect();
            top.sort_by(|a, b| b.0.abs().total_cmp(&a.0.abs()));
            let top: Vec<String> = top.iter().take(6).map(|(v, n)| format!("{n} {v:+.2}")).collect();
            println!("  clause {:+.2} {}    [{}]", out[category.index()], &norm.text[instance.bytes], top.join(", "));
        }
        for (v, n) in parts.iter().take(12) {
            println!("  {v:+.3} {n}");
        }
    }
}
