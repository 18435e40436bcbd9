//! Runs the embedded pipeline over a JSONL batch and writes one analysis per line
//! (what `triage classify` writes), for checking priority with
//! `python3 ../shared/eval/score.py priority EXPECT.json OUT.jsonl`.
//!
//!   cargo run --release --example priority_eval -- INPUT.jsonl OUT.jsonl [PRIORITY.toml]
//!
//! `--scan GOLD.jsonl [PRIORITY.toml]` runs only the priority lexicon (no model)
//! over labelled items and prints, per item, the gold category, the issue key and
//! the severity: a quick way to spot false hits (praise with an issue) and misses
//! (problems with none) when tuning models/priority.toml.
use std::io::{BufRead, Write};

use feedback_triage::category::Category;
use feedback_triage::normalize::Normalizer;
use feedback_triage::priority::{PriorityInput, PriorityScorer};
use feedback_triage::{FeedbackRecord, Pipeline};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--scan") {
        return scan(args.get(1).ok_or("usage: priority_eval --scan GOLD.jsonl [PRIORITY.toml]")?, args.get(2));
    }
    let (input, output) = match (args.first(), args.get(1)) {
        (Some(i), Some(o)) => (i, o),
        _ => return Err("usage: priority_eval INPUT.jsonl OUT.jsonl [PRIORITY.toml]".into()),
    };
    let mut pipeline = Pipeline::embedded()?;
    if let Some(cfg) = args.get(2) {
        pipeline = pipeline.with_priority(PriorityScorer::from_path(cfg)?);
    }
    let mut records = Vec::new();
    for line in std::io::BufReader::new(std::fs::File::open(input)?).lines() {
        let line = line?;
        if !line.trim().is_empty() {
            records.push(serde_json::from_str::<FeedbackRecord>(&line)?);
        }
    }
    let mut out = std::io::BufWriter::new(std::fs::File::create(output)?);
    for r in pipeline.analyze_batch(&records) {
        match r {
            Ok(a) => writeln!(out, "{}", serde_json::to_string(&a)?)?,
            Err(e) => eprintln!("skipped: {e}"),
        }
    }
    Ok(())
}

fn scan(gold: &str, config: Option<&String>) -> Result<(), Box<dyn std::error::Error>> {
    let scorer = match config {
        Some(p) => PriorityScorer::from_path(p)?,
        None => PriorityScorer::embedded()?,
    };
    let normalizer = Normalizer::embedded()?;
    for line in std::io::BufReader::new(std::fs::File::open(gold)?).lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(&line)?;
        let text = v["text"].as_str().unwrap_or_default();
        let category = v["category"].as_str().and_then(Category::parse).unwrap_or(Category::Problem);
        let norm = normalizer.normalize(text);
        let a = scorer.assess(&PriorityInput::new(category, &norm.text));
        let key = a.issue_key.as_deref().filter(|k| !k.contains(':')).unwrap_or("-");
        println!("{}\t{}\t{}\t{}\t{}", category, key, a.severity, a.reasons.join("; "), text.chars().take(60).collect::<String>());
    }
    Ok(())
}
