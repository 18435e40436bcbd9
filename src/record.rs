//! Input records and the analysis written for each.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::category::Category;
use crate::keywords::Keyword;
use crate::priority::{Assessment, Triage};

/// One piece of feedback as it arrives. Unknown fields are kept in `extra` and
/// passed through to the output.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct FeedbackRecord {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_tier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_value: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl FeedbackRecord {
    pub fn new(text: impl Into<String>) -> Self {
        FeedbackRecord { text: text.into(), ..Default::default() }
    }
}

/// The analysis of one record. Field names are the output contract.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Analysis {
    pub id: String,
    /// The text as received, personal data masked.
    pub text: String,
    pub category: Category,
    pub category_zh: String,
    pub confidence: f64,
    /// Probability per category.
    pub scores: BTreeMap<Category, f64>,
    /// Every category present, primary first.
    pub labels: Vec<Category>,
    pub keywords: Vec<Keyword>,
    /// Topic words (TF-IDF) for items with no keyword phrase; never mixed into `keywords`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub topics: Vec<String>,
    /// Filled once the scope of the item's issue is known.
    #[serde(flatten, default, skip_serializing_if = "Option::is_none")]
    pub triage: Option<Triage>,
    /// The scope-independent priority inputs (kept until the triage is final).
    #[serde(skip)]
    pub assessment: Option<Assessment>,
}
