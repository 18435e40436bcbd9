//! Per-stage and end-to-end cost of the pipeline, against the floor (bare
//! jieba-rs segmentation of the same text). Run: `cargo bench --bench pipeline`.

use criterion::{criterion_group, criterion_main, Criterion};
use feedback_triage::priority::PriorityInput;
use feedback_triage::Pipeline;
use std::hint::black_box;

/// A typical 50-character review (the intake service's single-item path).
const REVIEW: &str = "酒店位置很好，离地铁站很近，房间也干净，就是早餐品种太少了，服务员态度一般，希望改进。";

fn stages(c: &mut Criterion) {
    let p = Pipeline::embedded().expect("embedded pipeline");
    let norm = p.normalizer().normalize(REVIEW);
    let tokens = p.segmenter().segment(&norm.text);
    let (keywords, judgements) = p.keywords().extract_with_judgements(&norm, &tokens);
    let class = p.classifier().classify(&norm.text, &tokens, &judgements);

    c.bench_function("floor: jieba cut (no tags)", |b| b.iter(|| black_box(p.segmenter().jieba().cut(black_box(REVIEW), true).len())));
    c.bench_function("normalise", |b| b.iter(|| black_box(p.normalizer().normalize(black_box(REVIEW)))));
    c.bench_function("segment (jieba tag)", |b| b.iter(|| black_box(p.segmenter().segment(black_box(&norm.text)).len())));
    c.bench_function("features + classify", |b| b.iter(|| black_box(p.classifier().classify(&norm.text, &tokens, &judgements))));
    c.bench_function("keywords", |b| b.iter(|| black_box(p.keywords().extract_with_judgements(&norm, &tokens))));
    c.bench_function("priority assess", |b| {
        b.iter(|| {
            black_box(p.priority().assess(&PriorityInput {
                category: class.category,
                labels: &class.labels,
                text: &norm.text,
                keywords: &keywords,
                customer_tier: None,
                customer_value: None,
            }))
        })
    });
    c.bench_function("end to end: analyze_text", |b| b.iter(|| black_box(p.analyze_text(black_box(REVIEW)).map(|a| a.confidence))));
}

criterion_group!(benches, stages);
criterion_main!(benches);
