//! The model file: a versioned JSON document holding the linear layers the
//! classifier uses (clause sentiment, item and clause presence, primary category), with feature
//! names so a person can inspect what the model learned.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Identifies the file type.
pub const FORMAT: &str = "feedback-triage-model";
/// Bumped whenever the features or the layout change in a way old files cannot follow.
pub const VERSION: u32 = 2;

/// The widest clause window a model may ask for: each step adds an instance per clause.
pub const MAX_CLAUSE_WINDOW: usize = 3;

/// The largest weight or bias a layer may hold. Trained layers stay under 10; the
/// bound keeps every score finite, since a sum of finite weights can overflow to
/// ±infinity, and +∞ − ∞ makes a probability NaN (a `null` confidence). Within it,
/// the features of a text of the longest length analysed sum to far below f32's range.
pub const MAX_ABS_WEIGHT: f32 = 1e4;

fn single_clause() -> usize {
    1
}

/// A linear layer: `scores = bias + Σ value · weights[feature]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LayerFile {
    /// The output names (one per score).
    pub outputs: Vec<String>,
    /// Feature names (`w:物流`, `cue:suggest`, ...), parallel to `weights`.
    pub features: Vec<String>,
    /// One row of `outputs.len()` weights per feature.
    pub weights: Vec<Vec<f32>>,
    pub bias: Vec<f32>,
}

/// How the model was made, for the record.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Provenance {
    pub command: String,
    pub training_items: usize,
    pub sentiment_items: usize,
    #[serde(default)]
    pub sources: Vec<String>,
    #[serde(default)]
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelFile {
    pub format: String,
    pub version: u32,
    pub provenance: Provenance,
    /// Clause sentiment: one output, positive = praise-like.
    pub sentiment: LayerFile,
    /// Category scores, outputs in `Category::ALL` order.
    pub category: LayerFile,
    /// Per-category "present in the item" logits (LABELING.md `labels`); the
    /// presence reading of the primary category follows precedence (rule 4).
    pub presence: LayerFile,
    /// Per-category presence logits of a single clause (`clause_heads`); the
    /// strongest clause's logit is averaged with the item layer's. New in version 2.
    pub clause_presence: LayerFile,
    /// How many adjacent clauses one clause-head instance may span
    /// (`clause_heads::instances`). Files from before the field read as 1: single clauses.
    #[serde(default = "single_clause")]
    pub clause_window: usize,
    /// Presence probability at which a category counts as present (listed in `labels`).
    pub presence_thresholds: [f32; 4],
    /// Weight of the multinomial layer when the primary category is decided
    /// (`primary::DecisionRule`). Files from before the field read as 0: the
    /// presence layers alone.
    #[serde(default)]
    pub primary_blend: f32,
    /// Softmax temperature of the category layer.
    pub temperature: f32,
}

impl ModelFile {
    /// Parses and validates a model; `origin` names it in errors.
    pub fn parse(data: &str, origin: &str) -> Result<Self> {
        #[derive(Deserialize)]
        struct Header {
            format: Option<String>,
            version: Option<u32>,
        }
        let err = |reason: String| Error::Model { origin: origin.to_string(), reason };
        let header: Header = serde_json::from_str(data).map_err(|e| err(format!("not a model file: {e}")))?;
        if header.format.as_deref() != Some(FORMAT) {
            return Err(err(format!("not a {FORMAT} file")));
        }
        match header.version {
            Some(VERSION) => {}
            Some(found) => return Err(Error::ModelVersion { origin: origin.into(), found, expected: VERSION }),
            None => return Err(err("no format version".into())),
        }
        let model: ModelFile = serde_json::from_str(data).map_err(|e| err(format!("corrupt model: {e}")))?;
        model.sentiment.validate(1).map_err(|r| err(format!("sentiment layer: {r}")))?;
        model.category.validate(4).map_err(|r| err(format!("category layer: {r}")))?;
        model.presence.validate(4).map_err(|r| err(format!("presence layer: {r}")))?;
        model.clause_presence.validate(4).map_err(|r| err(format!("clause presence layer: {r}")))?;
        if model.presence_thresholds.iter().any(|t| !(0.0..=1.0).contains(t)) {
            return Err(err("presence_thresholds must be numbers in 0..1".into()));
        }
        if !(1..=MAX_CLAUSE_WINDOW).contains(&model.clause_window) {
            return Err(err(format!("clause_window must be 1..={MAX_CLAUSE_WINDOW}")));
        }
        if !(0.0..=1.0).contains(&model.primary_blend) {
            return Err(err("primary_blend must be a number in 0..1".into()));
        }
        if !(model.temperature.is_finite() && model.temperature > 0.0) {
            return Err(err("temperature must be a positive number".into()));
        }
        Ok(model)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

impl LayerFile {
    fn validate(&self, outputs: usize) -> std::result::Result<(), String> {
        if self.outputs.len() != outputs || self.bias.len() != outputs {
            return Err(format!("expected {outputs} outputs"));
        }
        if self.features.len() != self.weights.len() {
            return Err("features and weights differ in length".into());
        }
        let bounded = |x: &f32| x.is_finite() && x.abs() <= MAX_ABS_WEIGHT;
        if let Some(i) = self.weights.iter().position(|w| w.len() != outputs || !w.iter().all(bounded)) {
            return Err(format!("bad weights for feature {} (need {outputs} finite numbers within ±{MAX_ABS_WEIGHT})", self.features[i]));
        }
        if !self.bias.iter().all(bounded) {
            return Err(format!("bias must be finite numbers within ±{MAX_ABS_WEIGHT}"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A valid empty model, with `extra` fields set on top.
    fn tiny_model(extra: &[(&str, serde_json::Value)]) -> String {
        let layer =
            |outputs: usize| LayerFile { outputs: (0..outputs).map(|i| i.to_string()).collect(), features: vec![], weights: vec![], bias: vec![0.0; outputs] };
        let mut json = serde_json::json!({
            "format": FORMAT, "version": VERSION, "provenance": Provenance::default(),
            "sentiment": layer(1), "category": layer(4), "presence": layer(4), "clause_presence": layer(4),
            "presence_thresholds": [0.5, 0.5, 0.5, 0.5], "temperature": 1.0,
        });
        for (field, value) in extra {
            json[*field] = value.clone();
        }
        json.to_string()
    }

    #[test]
    fn a_model_without_a_clause_window_reads_single_clauses_and_a_bad_window_is_refused() {
        assert_eq!(ModelFile::parse(&tiny_model(&[]), "old").unwrap().clause_window, 1);
        assert_eq!(ModelFile::parse(&tiny_model(&[("clause_window", 2.into())]), "new").unwrap().clause_window, 2);
        for bad in [0, MAX_CLAUSE_WINDOW + 1] {
            let err = ModelFile::parse(&tiny_model(&[("clause_window", bad.into())]), "bad").unwrap_err().to_string();
            assert!(err.contains("clause_window"), "{err}");
        }
    }

    #[test]
    fn a_model_without_a_primary_blend_reads_presence_alone_and_a_bad_blend_is_refused() {
        assert_eq!(ModelFile::parse(&tiny_model(&[]), "old").unwrap().primary_blend, 0.0);
        assert_eq!(ModelFile::parse(&tiny_model(&[("primary_blend", 0.4.into())]), "new").unwrap().primary_blend, 0.4);
        for bad in [-0.1, 1.5] {
            let err = ModelFile::parse(&tiny_model(&[("primary_blend", bad.into())]), "bad").unwrap_err().to_string();
            assert!(err.contains("primary_blend"), "{err}");
        }
    }

    #[test]
    fn a_weight_that_could_overflow_a_score_is_refused() {
        let layer =
            |w: f32| serde_json::json!({"outputs": ["0", "1", "2", "3"], "features": ["w:好"], "weights": [[w, 0.0, 0.0, 0.0]], "bias": [0.0, 0.0, 0.0, 0.0]});
        assert!(ModelFile::parse(&tiny_model(&[("presence", layer(8.5))]), "sane").is_ok());
        // Finite, but two of them summed reach infinity.
        let err = ModelFile::parse(&tiny_model(&[("presence", layer(3e38))]), "huge").unwrap_err().to_string();
        assert!(err.contains("presence layer") && err.contains("w:好"), "{err}");
    }

    #[test]
    fn presence_thresholds_must_be_one_probability_per_category() {
        for bad in [serde_json::json!([0.5, 0.5, 0.5]), serde_json::json!([0.5, 0.5, 0.5, 1.5])] {
            let err = ModelFile::parse(&tiny_model(&[("presence_thresholds", bad.clone())]), "bad").unwrap_err().to_string();
            assert!(err.contains("presence_thresholds") || err.contains("length 4"), "{bad}: {err}");
        }
    }
}
