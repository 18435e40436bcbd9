//! Runs normalise → segment → keyword extraction over gold-format JSONL files and
//! writes predictions for `score.py classify` (only `opinion_pairs` is
//! meaningful: no category is predicted here).
//!
//!   cargo run --release --example kw_eval -- --pred PRED.jsonl [--gold GOLD.jsonl] FILE...
//!
//! FILE is gold format (`text` + `opinions`) or row-referenced labels (`corpus` +
//! `row`, resolved through --corpora, default /work/shared/data/corpora). With
//! --gold, the resolved items are also written in gold format, to score against.
//! With --no-filter, the rules alone (no phrase filter).
//! With --summary PATH, a batch summary (SummaryBuilder) of the items is written,
//! using the gold category of each item.
use std::io::Write;
use std::path::PathBuf;

use feedback_triage::keywords::KeywordExtractor;
use feedback_triage::normalize::Normalizer;
use feedback_triage::segment::Segmenter;
use feedback_triage::summary::SummaryBuilder;
use feedback_triage::train::{load_gold, load_label_refs, Corpora, GoldItem};
use feedback_triage::{Analysis, Category};

fn main() {
    let mut args = std::env::args().skip(1);
    let mut pred_path = None;
    let mut gold_path = None;
    let mut summary_path = None;
    let mut corpora_dir = PathBuf::from("/work/shared/data/corpora");
    let mut inputs = Vec::new();
    let mut no_filter = false;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--pred" => pred_path = args.next(),
            "--gold" => gold_path = args.next(),
            "--summary" => summary_path = args.next(),
            "--no-filter" => no_filter = true,
            "--corpora" => corpora_dir = PathBuf::from(args.next().expect("--corpora DIR")),
            _ => inputs.push(PathBuf::from(a)),
        }
    }
    let mut corpora = None;
    let mut items: Vec<GoldItem> = Vec::new();
    for p in &inputs {
        let first = std::fs::read_to_string(p).expect("read input");
        let is_ref = first.lines().find(|l| !l.trim().is_empty()).is_some_and(|l| l.contains("\"corpus\""));
        if is_ref {
            let c = corpora.get_or_insert_with(|| Corpora::open(&corpora_dir).expect("open corpora"));
            items.extend(load_label_refs(p, c).expect("label refs"));
        } else {
            items.extend(load_gold(p).expect("gold"));
        }
    }
    let n = Normalizer::embedded().unwrap();
    let s = Segmenter::embedded().unwrap();
    let mut k = KeywordExtractor::embedded().unwrap();
    if no_filter {
        k = k.with_filter(None);
    }
    let mut pred = std::io::BufWriter::new(std::fs::File::create(pred_path.expect("--pred PATH")).unwrap());
    let mut gold = gold_path.map(|p| std::io::BufWriter::new(std::fs::File::create(p).unwrap()));
    let mut summary = SummaryBuilder::new();
    let t0 = std::time::Instant::now();
    let mut phrases = 0;
    for it in &items {
        let norm = n.normalize(&it.text);
        let toks = s.segment(&norm.text);
        let kws = k.extract(&norm, &toks);
        let topics = if kws.is_empty() { k.topics(&norm, &toks) } else { Vec::new() };
        phrases += kws.len();
        let rec = serde_json::json!({"id": it.id, "text": it.text, "keywords": kws, "topics": topics});
        writeln!(pred, "{rec}").unwrap();
        if let Some(g) = gold.as_mut() {
            let rec = serde_json::json!({"id": it.id, "text": it.text, "category": it.category, "labels": it.labels, "opinions": it.opinions});
            writeln!(g, "{rec}").unwrap();
        }
        if summary_path.is_some() {
            let category: Category = serde_json::from_value(serde_json::Value::String(it.category.clone())).unwrap();
            let a = Analysis {
                id: it.id.clone(),
                text: it.text.clone(),
                category,
                category_zh: category.zh().to_string(),
                confidence: 1.0,
                scores: Default::default(),
                labels: vec![category],
                keywords: kws,
                topics,
                triage: None,
                assessment: None,
            };
            summary.add(&a);
        }
    }
    eprintln!("{} items, {} phrases, {:.1} µs/item (segment + extract)", items.len(), phrases, t0.elapsed().as_secs_f64() * 1e6 / items.len().max(1) as f64);
    if let Some(p) = summary_path {
        std::fs::write(&p, serde_json::to_string_pretty(&summary.finish()).unwrap()).unwrap();
    }
}
