//! Does the phrase filter carry over to a domain it never saw? For each domain
//! of our written examples (telecom, games, utilities …), trains the filter on
//! every other labelled item, then scores that domain's opinion pairs with the
//! patterns alone and with the filter.
//!
//!   cargo run --release --example phrase_holdout -- [CORPORA_DIR]
use std::collections::BTreeMap;
use std::path::Path;

use feedback_triage::eval::{evaluate, Prediction};
use feedback_triage::keywords::{FilterFile, KeywordExtractor, PhraseFilter};
use feedback_triage::normalize::Normalizer;
use feedback_triage::phrase_training::train_phrase_filter;
use feedback_triage::segment::Segmenter;
use feedback_triage::train::{exclude_texts, holdout_key, load_gold, load_label_refs, Corpora, GoldItem};

fn main() {
    let corpora_dir = std::env::args().nth(1).unwrap_or_else(|| "../shared/data/corpora".into());
    let corpora = Corpora::open(Path::new(&corpora_dir)).expect("corpora");
    let dev: std::collections::HashSet<String> =
        load_gold(Path::new("../shared/data/gold/dev.jsonl")).map(|d| d.into_iter().map(|g| holdout_key(&g.text)).collect()).unwrap_or_default();
    let mut items = load_gold(Path::new("../shared/data/gold/train.jsonl")).expect("train.jsonl");
    let mut labels: Vec<_> = std::fs::read_dir("data/labels").expect("data/labels").flatten().map(|e| e.path()).collect();
    labels.sort();
    for p in labels {
        items.extend(load_label_refs(&p, &corpora).expect("labels"));
    }
    let written: Vec<(String, GoldItem)> = std::fs::read_to_string("data/train/written.jsonl")
        .expect("written.jsonl")
        .lines()
        .filter_map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).ok()?;
            let domain = v.get("source")?.as_str()?.to_string();
            Some((domain, serde_json::from_value(v).ok()?))
        })
        .collect();
    let items = exclude_texts(items, |g| g.text.as_str(), &dev);
    let mut domains: BTreeMap<&str, Vec<&GoldItem>> = BTreeMap::new();
    for (d, g) in &written {
        domains.entry(d.as_str()).or_default().push(g);
    }
    let normalizer = Normalizer::embedded().unwrap();
    let segmenter = Segmenter::embedded().unwrap();
    let rules = KeywordExtractor::embedded().unwrap().with_filter(None);
    let (mut all_gold, mut all_rules, mut all_filtered) = (Vec::new(), Vec::new(), Vec::new());
    for (domain, held) in &domains {
        let mut train = items.clone();
        train.extend(written.iter().filter(|(d, _)| d != domain).map(|(_, g)| g.clone()));
        let (file, _) = train_phrase_filter(&train, 5, 1.0).expect("train");
        let filtered = KeywordExtractor::embedded()
            .unwrap()
            .with_filter(Some(PhraseFilter::from_file(&FilterFile::parse(&serde_json::to_string(&file).unwrap(), "held-out").unwrap())));
        let predict = |x: &KeywordExtractor| -> Vec<Prediction> {
            held.iter()
                .map(|g| {
                    let norm = normalizer.normalize(&g.text);
                    let tokens = segmenter.segment(&norm.text);
                    Prediction { category: None, keywords: x.extract(&norm, &tokens) }
                })
                .collect()
        };
        let gold: Vec<GoldItem> = held.iter().map(|g| (*g).clone()).collect();
        let (r, f) = (predict(&rules), predict(&filtered));
        print_row(domain, &gold, &r, &f);
        all_gold.extend(gold);
        all_rules.extend(r);
        all_filtered.extend(f);
    }
    print_row("all, each domain held out", &all_gold, &all_rules, &all_filtered);
}

/// One line: the pairs of `gold`, then opinion-pair P/R/F1 of the patterns and of the filter.
fn print_row(label: &str, gold: &[GoldItem], patterns: &[Prediction], filtered: &[Prediction]) {
    let (er, ef) = (evaluate(gold, patterns), evaluate(gold, filtered));
    println!(
        "{label:32} pairs {:3}  patterns P {:.3} R {:.3} F1 {:.3}  filtered P {:.3} R {:.3} F1 {:.3}",
        gold.iter().map(|g| g.opinions.len()).sum::<usize>(),
        er.opinion_precision,
        er.opinion_recall,
        er.opinion_f1,
        ef.opinion_precision,
        ef.opinion_recall,
        ef.opinion_f1
    );
}
