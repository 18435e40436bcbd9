//! The scorer: `assess` (per item, scope-independent, on the hot path) and
//! `score` (once the number of items reporting the same issue is known).

use std::path::Path;
use std::time::Duration;

use super::config::{Combine, Config, EMBEDDED, EMBEDDED_ORIGIN};
use super::counter::IssueCounter;
use super::matcher::{Found, Lexicon};
use super::{Assessment, Level, Priority, PriorityInput, Triage, Urgency};
use crate::category::Category;
use crate::error::{Error, Result};
use crate::keywords::Polarity;

/// Scores priority from a configuration (`models/priority.toml` by default).
/// Build once and share: `Send + Sync`, no interior mutability.
#[derive(Debug)]
pub struct PriorityScorer {
    cfg: Config,
    lexicon: Lexicon,
}

impl Default for PriorityScorer {
    /// The embedded configuration; validated by the test suite, so this cannot fail.
    fn default() -> Self {
        Self::embedded().expect("embedded models/priority.toml is valid")
    }
}

/// Most reasons kept per item from the issue lexicon.
const MAX_ISSUE_REASONS: usize = 3;

impl PriorityScorer {
    /// The scorer with the embedded default configuration.
    pub fn embedded() -> Result<Self> {
        Self::from_config(Config::embedded()?)
    }

    /// A scorer from TOML text merged over the embedded defaults (see
    /// `models/priority.toml`; `inherit = false` starts from nothing).
    pub fn from_toml_str(text: &str) -> Result<Self> {
        Self::from_toml_str_named(text, "priority config")
    }

    /// As [`PriorityScorer::from_toml_str`]; `origin` names the source in errors.
    pub fn from_toml_str_named(text: &str, origin: &str) -> Result<Self> {
        Self::from_config(Config::from_user(text, origin)?)
    }

    /// A scorer from a TOML file merged over the embedded defaults
    /// (`--priority-config PATH`).
    pub fn from_path(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| Error::Io { path: path.to_path_buf(), source: e })?;
        Self::from_toml_str_named(&text, &path.display().to_string())
    }

    /// The embedded default configuration text (to start a custom file from).
    pub fn default_toml() -> &'static str {
        EMBEDDED
    }

    fn from_config(cfg: Config) -> Result<Self> {
        let lexicon = Lexicon::build(&cfg).map_err(|e| match e {
            Error::Config { key, reason, .. } => Error::Config { origin: EMBEDDED_ORIGIN.into(), key, reason },
            e => e,
        })?;
        Ok(PriorityScorer { cfg, lexicon })
    }

    /// A rolling-window issue counter with the configured window
    /// (`counter.window_minutes`), for [`crate::Pipeline::analyze_with_counter`].
    pub fn issue_counter(&self) -> IssueCounter {
        IssueCounter::new(Duration::from_secs_f64(self.cfg.window_minutes * 60.0))
    }

    /// The scope-independent part of an item's priority.
    pub fn assess(&self, input: &PriorityInput<'_>) -> Assessment {
        let cfg = &self.cfg;
        let m = self.lexicon.find(input.text);
        let mut reasons = Vec::new();

        let mut category_weight = cfg.category_weight[input.category.index()];
        let mut complaint = input.category == Category::Problem;
        for l in input.labels {
            category_weight = category_weight.max(cfg.category_weight[l.index()]);
            complaint |= *l == Category::Problem;
        }

        let (severity, issue_key, issue_label, department, type_cost, mut urgency);
        // Whether the text names a fault serious enough to override the category.
        let mut fault = false;
        if let Some(primary) = self.primary(&m.issues) {
            let issue = &cfg.issues[primary.issue];
            let mut sev = issue.severity;
            let mut types_seen: Vec<usize> = vec![issue.kind];
            fault = cfg.types[issue.kind].reports_fault && issue.severity >= cfg.formula.fault_override_min_severity;
            urgency = issue.urgency;
            // Primary first, then the others by severity.
            let mut found: Vec<Found> = m.issues.clone();
            found.sort_by(|a, b| {
                let (sa, sb) = (cfg.issues[a.issue].severity, cfg.issues[b.issue].severity);
                sb.total_cmp(&sa).then(a.issue.cmp(&b.issue))
            });
            for f in &found {
                let other = &cfg.issues[f.issue];
                let ty = &cfg.types[other.kind];
                fault |= ty.reports_fault && other.severity >= cfg.formula.fault_override_min_severity;
                urgency = urgency.max(other.urgency);
                // One reason and one severity contribution per issue type.
                let first_of_type = f.issue == primary.issue || !types_seen.contains(&other.kind);
                if !first_of_type {
                    continue;
                }
                if f.issue != primary.issue {
                    types_seen.push(other.kind);
                    sev += cfg.formula.secondary_weight * other.severity;
                }
                if reasons.len() < MAX_ISSUE_REASONS {
                    let span = input.text.get(f.start..f.end).unwrap_or(&other.label);
                    reasons.push(format!("{}: {}", ty.reason, span));
                }
            }
            severity = sev;
            issue_key = Some(issue.key.clone());
            issue_label = Some(issue.label.clone());
            department = issue.department;
            type_cost = issue.cost;
        } else {
            severity = cfg.formula.default_severity;
            if input.category == Category::Problem {
                reasons.push("problem of no listed issue type".to_string());
            }
            department = cfg.default_department[input.category.index()];
            type_cost = 1.0;
            urgency = Urgency::Normal;
            let reports_issue = input.category != Category::Praise || input.labels.iter().any(|&l| l != Category::Praise);
            if !reports_issue {
                issue_key = None;
                issue_label = None;
            } else if let Some(k) = input
                .keywords
                .iter()
                .find(|k| k.polarity == Polarity::Negative && !k.group.is_empty())
                .or_else(|| input.keywords.iter().find(|k| !k.group.is_empty()))
            {
                issue_key = Some(format!("kw:{}", k.group));
                issue_label = Some(k.text.clone());
            } else if let Some(sig) = self.signature(input.text) {
                issue_key = Some(format!("text:{sig:016x}"));
                issue_label = Some(short_label(input.text));
            } else {
                issue_key = None;
                issue_label = None;
            }
        }
        if fault {
            complaint = true;
            category_weight = category_weight.max(cfg.formula.fault_category_weight);
        }
        if category_weight < 1.0 {
            let c = input.category;
            if c == Category::Praise {
                reasons.push("praise (lowest priority)".to_string());
            } else {
                reasons.push(format!("{} (category weight {})", c.as_str(), category_weight));
            }
        }

        let value = self.value(input, &mut reasons);

        let dept = cfg.department(department);
        let cost = type_cost * dept.cost;
        if cost <= 0.75 {
            reasons.push(format!("quick fix ({})", dept.name));
        } else if cost >= 1.4 {
            reasons.push(format!("costly fix ({})", dept.name));
        }

        if let Some((s, e)) = m.cue {
            if cfg.urgency.cue_urgency > urgency {
                urgency = cfg.urgency.cue_urgency;
            }
            reasons.push(format!("customer asks for urgency: {}", input.text.get(s..e).unwrap_or("")));
        }

        Assessment {
            issue_key,
            issue_label,
            category: input.category,
            severity: round3(severity),
            category_weight,
            value: round3(value),
            cost: round3(cost),
            reasons,
            urgency,
            complaint,
            department: dept.name.clone(),
        }
    }

    /// The most severe issue found (the earliest listed in the config on a tie).
    fn primary(&self, found: &[Found]) -> Option<Found> {
        found.iter().copied().reduce(|best, f| {
            let (sb, sf) = (self.cfg.issues[best.issue].severity, self.cfg.issues[f.issue].severity);
            if sf > sb || (sf == sb && f.issue < best.issue) {
                f
            } else {
                best
            }
        })
    }

    /// Customer value from tier and spend, with reasons when it moves the score.
    fn value(&self, input: &PriorityInput<'_>, reasons: &mut Vec<String>) -> f64 {
        let v = &self.cfg.value;
        let tier = input
            .customer_tier
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .and_then(|t| v.tiers.iter().find(|(name, _)| name.eq_ignore_ascii_case(t) || name == t).map(|&(_, m)| (t, m)));
        let spend = input.customer_value.filter(|s| s.is_finite() && *s >= 0.0).map(|s| {
            let f = 1.0 + v.spend_weight * (s.max(1.0) / v.spend_neutral).log10();
            (s, f.clamp(v.spend_min, v.spend_max))
        });
        let (use_tier, use_spend) = match (tier, spend) {
            (Some((_, t)), Some((_, s))) if v.combine == Combine::Max => (t >= s, s > t),
            _ => (true, true),
        };
        let mut value = match (tier, spend, v.combine) {
            (None, None, _) => v.default,
            (Some((_, t)), None, _) => t,
            (None, Some((_, s)), _) => s,
            (Some((_, t)), Some((_, s)), Combine::Max) => t.max(s),
            (Some((_, t)), Some((_, s)), Combine::Product) => t * s,
        };
        if !value.is_finite() || value <= 0.0 {
            value = v.default;
        }
        if let (Some((name, t)), true) = (tier, use_tier) {
            if t > 1.0 {
                reasons.push(format!("{} customer", name.to_ascii_uppercase()));
            } else if t < 1.0 {
                reasons.push(format!("{name} customer (lower value)"));
            }
        }
        if let (Some((s, f)), true) = (spend, use_spend) {
            if f >= 1.05 {
                reasons.push(format!("high-value customer (spend {s:.0})"));
            } else if f <= 0.95 {
                reasons.push(format!("low-spend customer (spend {s:.0})"));
            }
        }
        value
    }

    /// A signature of the text for counting near-identical items: letters and
    /// digits only, particles and degree adverbs dropped, FNV-1a hashed.
    fn signature(&self, text: &str) -> Option<u64> {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        let mut n = 0;
        for c in text.chars() {
            if !c.is_alphanumeric() || self.cfg.signature_ignore.contains(&c) {
                continue;
            }
            n += 1;
            let mut buf = [0u8; 4];
            for &b in c.encode_utf8(&mut buf).as_bytes() {
                h ^= b as u64;
                h = h.wrapping_mul(0x0100_0000_01b3);
            }
        }
        (n > 0).then_some(h)
    }

    /// Final priority given how many items in scope (the batch, or the intake
    /// counter's window) report the same issue.
    pub fn score(&self, a: &Assessment, scope: u32) -> Triage {
        let cfg = &self.cfg;
        let f = &cfg.formula;
        let scope = scope.max(1);
        let scope_factor = (1.0 + f.scope_weight * (scope as f64).ln()).min(f.max_scope_factor);
        let impact = a.severity * a.category_weight * scope_factor;
        let cost = if a.cost > 0.0 { a.cost } else { 1.0 };
        let score = impact * a.value / cost.powf(f.cost_exponent);
        let level = if score >= cfg.level_high {
            Level::High
        } else if score >= cfg.level_medium {
            Level::Medium
        } else {
            Level::Low
        };

        let mut reasons = Vec::with_capacity(a.reasons.len() + 1);
        if scope > 1 {
            let what = a.issue_label.as_deref().unwrap_or("the same issue");
            reasons.push(format!("{scope} customers report {what}"));
        }
        reasons.extend(a.reasons.iter().cloned());

        let mut urgency = a.urgency;
        if a.complaint && a.value >= cfg.urgency.escalate_value_at_least {
            urgency = urgency.escalated();
        }
        if a.issue_key.is_some() && scope >= cfg.urgency.escalate_scope_at_least {
            urgency = urgency.escalated();
        }
        let minutes = match (urgency, a.complaint) {
            (Urgency::Normal, false) => cfg.urgency.category_minutes[a.category.index()].unwrap_or(cfg.urgency.minutes[0]),
            (u, _) => cfg.urgency.minutes[u.rank()],
        };

        Triage {
            priority: Priority { score: round3(score), level, impact: round3(impact), value: a.value, cost: a.cost, reasons },
            urgency,
            urgency_zh: urgency.zh().to_string(),
            respond_within_minutes: minutes,
            department: a.department.clone(),
        }
    }
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// The first dozen characters, for naming an issue known only by its text.
fn short_label(text: &str) -> String {
    let t = text.trim();
    match t.char_indices().nth(12) {
        Some((i, _)) => format!("“{}…”", &t[..i]),
        None => format!("“{t}”"),
    }
}
