//! The intake service's call: any text into `Pipeline::analyze_text` must give
//! an analysis or a typed error, never a panic.
#![no_main]

use std::sync::OnceLock;

use feedback_triage::Pipeline;
use libfuzzer_sys::fuzz_target;

static PIPELINE: OnceLock<Pipeline> = OnceLock::new();

fuzz_target!(|text: &str| {
    let pipeline = PIPELINE.get_or_init(|| Pipeline::embedded().expect("embedded model loads"));
    if let Ok(a) = pipeline.analyze_text(text) {
        // The contract's invariants, which a panic-free but wrong result could break.
        assert_eq!(a.labels.first(), Some(&a.category));
        assert!(a.confidence.is_finite() && (0.0..=1.0).contains(&a.confidence));
        let p = a.triage.as_ref().expect("analyze completes the priority");
        assert!(p.priority.score.is_finite());
    }
});
