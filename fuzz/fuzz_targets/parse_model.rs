//! A corrupt or hostile model file is a clear error when loaded, and a model that
//! loads analyses text into finite probabilities, without a panic.
#![no_main]

use feedback_triage::model::ModelFile;
use feedback_triage::Pipeline;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &str| {
    let Ok(model) = ModelFile::parse(data, "fuzz") else { return };
    if let Ok(pipeline) = Pipeline::from_model(model) {
        if let Ok(a) = pipeline.analyze_text("房间很好，早餐太差，建议增加品种") {
            assert!(a.confidence.is_finite() && a.scores.values().all(|p| p.is_finite()), "{a:?}");
        }
    }
});
