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

    /// LABELING.md rule 4, highest first: problem > suggestion > enquiry > praise.
    /// The one place the order is written; `precedence` reads it.
    pub const BY_PRECEDENCE: [Category; 4] = [Category::Problem, Category::Suggestion, Category::Enquiry, Category::Praise];

    /// Rank under LABELING.md rule 4 (`BY_PRECEDENCE`). Higher wins: problem 3, praise 0.
    pub fn precedence(self) -> u8 {
        let from_top = Self::BY_PRECEDENCE.iter().position(|&c| c == self).unwrap_or(0);
        (Self::BY_PRECEDENCE.len() - 1 - from_top) as u8
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence_ranks_follow_rule_4() {
        let ranks: Vec<u8> = Category::BY_PRECEDENCE.iter().map(|c| c.precedence()).collect();
        assert_eq!(ranks, [3, 2, 1, 0]);
        assert_eq!((Category::Problem.precedence(), Category::Praise.precedence()), (3, 0));
    }
}
