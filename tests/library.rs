//! The library as the intake service uses it: one shared pipeline, many threads,
//! any input, no panics.

use std::sync::Arc;

use feedback_triage::eval::{evaluate, Prediction};
use feedback_triage::{train, Category, Error, FeedbackRecord, Pipeline};

fn assert_send_sync<T: Send + Sync>() {}

#[test]
fn pipeline_is_send_and_sync_and_shared_across_threads() {
    assert_send_sync::<Pipeline>();
    let pipeline = Arc::new(Pipeline::embedded().unwrap());
    let texts = ["物流太慢了", "请问怎么退款", "服务很好", "希望增加夜间模式"];
    let expected: Vec<Category> = texts.iter().map(|t| pipeline.analyze_text(t).unwrap().category).collect();
    let handles: Vec<_> = (0..4)
        .map(|k| {
            let p = Arc::clone(&pipeline);
            let expected = expected.clone();
            std::thread::spawn(move || {
                for i in 0..200 {
                    let j = (i + k) % texts.len();
                    assert_eq!(p.analyze_text(texts[j]).unwrap().category, expected[j]);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
}

#[test]
fn odd_inputs_never_panic() {
    let p = Pipeline::embedded().unwrap();
    let long = "好".repeat(19_999);
    let inputs: Vec<String> = vec![
        "".into(),
        "   \t\n".into(),
        "\u{0}\u{1}\u{7f}".into(),
        "👍👍👍".into(),
        "？？？！！！".into(),
        "a".into(),
        "１２３４５".into(),
        long,
        "\u{202e}反转\u{200b}零宽".into(),
        "ﾊﾝｶｸｶﾀｶﾅ ㎏ ① ﬁ".into(),
        "𠀀𠀁𪚥".into(),
        "x".repeat(5000),
    ];
    for text in inputs {
        match p.analyze_text(&text) {
            Ok(a) => {
                assert_eq!(a.labels[0], a.category);
                assert!((0.0..=1.0).contains(&a.confidence));
            }
            Err(Error::EmptyText) | Err(Error::TextTooLong { .. }) => {}
            Err(e) => panic!("unexpected error {e} for {text:?}"),
        }
    }
    assert!(matches!(p.analyze_text(&"差".repeat(30_000)), Err(Error::TextTooLong { .. })));
    assert!(matches!(p.analyze_text("  "), Err(Error::EmptyText)));
}

#[test]
fn batch_matches_single_analysis_and_keeps_order() {
    let p = Pipeline::embedded().unwrap();
    let records: Vec<FeedbackRecord> = ["物流太慢了", "", "请问花呗怎么还款", "房间很干净"].iter().map(|t| FeedbackRecord::new(*t)).collect();
    let batch = p.analyze_batch(&records);
    assert_eq!(batch.len(), 4);
    assert!(batch[1].is_err());
    for (i, r) in batch.iter().enumerate() {
        if let Ok(a) = r {
            assert_eq!(a.id, (i + 1).to_string());
            assert_eq!(a.category, p.analyze(&records[i]).unwrap().category);
        }
    }
}

#[test]
fn labeling_rules_on_clear_cases() {
    let p = Pipeline::embedded().unwrap();
    let cat = |t: &str| p.analyze_text(t).unwrap().category;
    assert_eq!(cat("为什么我的花呗不能用了"), Category::Problem, "a failure phrased as a question is a problem");
    assert_eq!(cat("花呗怎么还款"), Category::Enquiry);
    assert_eq!(cat("味道不错，就是送得太慢"), Category::Problem, "problem outranks praise");
    assert_eq!(cat("快递小哥很准时，服务很好"), Category::Praise);
}

#[test]
fn traditional_input_is_analysed_and_original_kept() {
    let p = Pipeline::embedded().unwrap();
    let a = p.analyze_text("這家飯店服務態度很差").unwrap();
    assert_eq!(a.text, "這家飯店服務態度很差");
    assert_eq!(a.category, Category::Problem);
}

/// The output contract of `labels` and `scores` (LABELING.md rule 4): the primary
/// category first, no category listed twice, none above the primary in precedence
/// (it would have been primary), and scores that are a distribution whose top is
/// the primary category's confidence.
fn assert_labels_follow_precedence(a: &feedback_triage::Analysis) {
    assert_eq!(a.labels[0], a.category, "{}", a.text);
    assert!(a.labels[1..].windows(2).all(|w| w[0].precedence() > w[1].precedence()), "{:?} for {}", a.labels, a.text);
    assert!(a.labels[1..].iter().all(|c| c.precedence() < a.category.precedence()), "{:?} for {}", a.labels, a.text);
    assert!((a.scores.values().sum::<f64>() - 1.0).abs() < 1e-3, "{:?}", a.scores);
    assert!(a.scores.values().all(|&s| s <= a.confidence + 1e-6), "{:?} vs {}", a.scores, a.confidence);
}

/// The shipped model on `data/eval/crossdomain.jsonl`: 240 items in six domains no
/// training source covers (cars, streaming, rail, real estate, beauty, pets),
/// written apart from the training data and excluded from training by text. A
/// floor well under today's score, so a retrained model that stops generalising
/// beyond its training domains fails here rather than in the field.
#[test]
fn shipped_model_generalises_to_unseen_domains() {
    let p = Pipeline::embedded().unwrap();
    let gold = train::load_gold(std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/data/eval/crossdomain.jsonl"))).unwrap();
    let predictions: Vec<Prediction> = gold
        .iter()
        .map(|g| {
            let a = p.analyze_text(&g.text).unwrap();
            assert_labels_follow_precedence(&a);
            Prediction { category: Some(a.category), keywords: a.keywords }
        })
        .collect();
    let report = evaluate(&gold, &predictions);
    assert_eq!(report.items, 240);
    assert!(report.accuracy >= 0.85, "accuracy {:.3} on unseen domains", report.accuracy);
    let suggestion = &report.per_class.iter().find(|(c, _)| *c == Category::Suggestion).unwrap().1;
    assert!(suggestion.recall >= 0.7, "suggestion recall {:.3} on unseen domains", suggestion.recall);
}
