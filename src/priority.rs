//! Stage 6: priority (impact × customer value ÷ cost), urgency, response deadline
//! and responsible department (issue 4; README "Priority").
//!
//! Two steps, because impact depends on how many customers report the same issue:
//! [`PriorityScorer::assess`] runs per item in parallel and finds the issue (an
//! issue-type lexicon, precompiled into one Aho–Corasick automaton), its severity,
//! the customer's value and the cost of the fix; [`PriorityScorer::score`] runs
//! once the scope is known — the batch-wide count of items with the same
//! `issue_key` (see `Pipeline::analyze_batch`), or, for an intake service that
//! sees one message at a time, the count in an [`IssueCounter`]'s rolling window
//! (`Pipeline::analyze_with_counter`).
//!
//! Every weight, lexicon, tier mapping, threshold, urgency rule, deadline and
//! department lives in `models/priority.toml` (embedded; override with
//! [`PriorityScorer::from_path`]).

use serde::{Deserialize, Serialize};

use crate::category::Category;
use crate::keywords::Keyword;

mod config;
mod counter;
mod matcher;
mod scorer;

pub use config::EMBEDDED as DEFAULT_CONFIG;
pub use counter::{IssueCounter, MAX_EVENTS_PER_KEY};
pub use scorer::PriorityScorer;

/// What the priority stage reads about one item.
#[derive(Debug, Clone, Copy)]
pub struct PriorityInput<'a> {
    pub category: Category,
    pub labels: &'a [Category],
    /// The normalised text.
    pub text: &'a str,
    pub keywords: &'a [Keyword],
    pub customer_tier: Option<&'a str>,
    pub customer_value: Option<f64>,
}

impl<'a> PriorityInput<'a> {
    /// An input with just a category and a (normalised) text.
    pub fn new(category: Category, text: &'a str) -> Self {
        PriorityInput { category, labels: &[], text, keywords: &[], customer_tier: None, customer_value: None }
    }
}

/// The scope-independent part of an item's priority, computed in parallel per item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assessment {
    /// The issue this item reports, for counting how many customers report it:
    /// the lexicon's issue key (`login_failure`), else `kw:<keyword group>`, else
    /// `text:<signature>`; `None` for pure praise.
    pub issue_key: Option<String>,
    /// How reasons name the issue (登录失败).
    #[serde(default)]
    pub issue_label: Option<String>,
    pub category: Category,
    /// Severity of what the text reports (0–10 scale, before category and scope).
    pub severity: f64,
    /// Category multiplier (praise lowest).
    #[serde(default = "one")]
    pub category_weight: f64,
    pub value: f64,
    pub cost: f64,
    pub reasons: Vec<String>,
    /// Urgency before escalation by customer value and scope.
    #[serde(default = "normal")]
    pub urgency: Urgency,
    /// Whether the item is a complaint (reports a fault or is a problem).
    #[serde(default)]
    pub complaint: bool,
    #[serde(default)]
    pub department: String,
}

fn one() -> f64 {
    1.0
}
fn normal() -> Urgency {
    Urgency::Normal
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    High,
    Medium,
    Low,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::High => "high",
            Level::Medium => "medium",
            Level::Low => "low",
        }
    }

    /// The playbook's name: 高 / 中 / 低.
    pub fn zh(self) -> &'static str {
        match self {
            Level::High => "高",
            Level::Medium => "中",
            Level::Low => "低",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Priority {
    pub score: f64,
    pub level: Level,
    pub impact: f64,
    pub value: f64,
    pub cost: f64,
    pub reasons: Vec<String>,
}

/// Complaint urgency, ordered: normal (一般) < urgent (紧急) < critical (特急).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Urgency {
    Normal,
    Urgent,
    Critical,
}

impl Urgency {
    pub fn as_str(self) -> &'static str {
        match self {
            Urgency::Normal => "normal",
            Urgency::Urgent => "urgent",
            Urgency::Critical => "critical",
        }
    }

    /// 一般 / 紧急 / 特急.
    pub fn zh(self) -> &'static str {
        match self {
            Urgency::Normal => "一般",
            Urgency::Urgent => "紧急",
            Urgency::Critical => "特急",
        }
    }

    /// One step more urgent (critical stays critical).
    pub fn escalated(self) -> Urgency {
        match self {
            Urgency::Normal => Urgency::Urgent,
            _ => Urgency::Critical,
        }
    }

    fn rank(self) -> usize {
        self as usize
    }
}

/// The priority stage's output for one item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Triage {
    pub priority: Priority,
    pub urgency: Urgency,
    pub urgency_zh: String,
    pub respond_within_minutes: u32,
    pub department: String,
}
