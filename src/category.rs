//! The four feedback categories of LABELING.md and their precedence.

use serde::{Deserialize, Serialize};

/// A feedback category (LABELING.md §1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Category {
    Praise,
    Suggestion,
    Problem,
    Enquiry,
}

impl Category {
    /// All categories, in the fixed index order used by model weights and scores.
    pub const ALL: [Category; 4] = [Category::Praise, Category::Suggestion, Category::Problem, Category::Enquiry];

    /// Index into [`Category::ALL`] (and into every per-class array).
    pub fn index(self) -> usize {
        self as usize
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Category::Praise => "praise",
            Category::Suggestion => "suggestion",
            Category::Problem => "problem",
            Category::Enquiry => "enquiry",
        }
    }

    /// The playbook's Chinese name.
    pub fn zh(self) -> &'static str {
        match self {
            Category::Praise => "表扬",
            Category::Suggestion => "建议",
            Category::Problem => "问题",
            Category::Enquiry => "咨询",
        }
    }

    /// LABELING.md rule 4: problem > suggestion > enquiry > praise. Higher wins.
    pub fn precedence(self) -> u8 {
        match self {
            Category::Problem => 3,
            Category::Suggestion => 2,
            Category::Enquiry => 1,
            Category::Praise => 0,
        }
    }

    pub fn parse(s: &str) -> Option<Category> {
        match s.trim().to_ascii_lowercase().as_str() {
            "praise" | "表扬" => Some(Category::Praise),
            "suggestion" | "建议" => Some(Category::Suggestion),
            "problem" | "问题" => Some(Category::Problem),
            "enquiry" | "inquiry" | "咨询" => Some(Category::Enquiry),
            _ => None,
        }
    }
}

impl std::fmt::Display for Category {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
