//! Reading and validating the priority configuration (`models/priority.toml`).
//!
//! A user file is merged over the embedded defaults (tables key by key, `[[issues]]`
//! by `key`, other arrays replaced) unless it says `inherit = false`. Every key is
//! checked: unknown keys and bad values are [`Error::Config`] naming the key.

use std::collections::HashSet;
use std::fmt::Display;

use toml::{Table, Value};

use super::Urgency;
use crate::category::Category;
use crate::error::{Error, Result};
use crate::normalize::Normalizer;

/// The default configuration, embedded at build time.
pub const EMBEDDED: &str = include_str!("../../models/priority.toml");
pub(crate) const EMBEDDED_ORIGIN: &str = "embedded models/priority.toml";

#[derive(Debug, Clone)]
pub(crate) struct Formula {
    pub scope_weight: f64,
    pub max_scope_factor: f64,
    pub cost_exponent: f64,
    pub default_severity: f64,
    pub secondary_weight: f64,
    pub fault_category_weight: f64,
    pub fault_override_min_severity: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Combine {
    Max,
    Product,
}

#[derive(Debug, Clone)]
pub(crate) struct ValueConfig {
    pub combine: Combine,
    pub default: f64,
    /// Tier names (lower case) and their multipliers.
    pub tiers: Vec<(String, f64)>,
    pub spend_neutral: f64,
    pub spend_weight: f64,
    pub spend_min: f64,
    pub spend_max: f64,
}

#[derive(Debug, Clone)]
pub(crate) struct UrgencyConfig {
    pub escalate_value_at_least: f64,
    pub escalate_scope_at_least: u32,
    pub cue_urgency: Urgency,
    pub cue_terms: Vec<String>,
    /// Minutes for normal, urgent, critical.
    pub minutes: [u32; 3],
    /// Minutes for normal-urgency items that report no fault, per category.
    pub category_minutes: [Option<u32>; 4],
}

#[derive(Debug, Clone)]
pub(crate) struct Department {
    pub name: String,
    pub cost: f64,
}

#[derive(Debug, Clone)]
pub(crate) struct Matching {
    pub max_gap: usize,
    pub negators: Vec<String>,
    pub gap_negators: Vec<String>,
    pub exclude: Vec<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct IssueType {
    pub name: String,
    pub reason: String,
    pub severity: f64,
    pub cost: f64,
    pub department: usize,
    pub urgency: Urgency,
    pub reports_fault: bool,
}

/// One issue of the lexicon, with the type's settings resolved.
#[derive(Debug, Clone)]
pub(crate) struct Issue {
    pub key: String,
    pub kind: usize,
    pub label: String,
    /// Terms, each a list of normalised parts ("登录*失败" → ["登录", "失败"]).
    pub terms: Vec<Vec<String>>,
    pub severity: f64,
    pub cost: f64,
    pub department: usize,
    pub urgency: Urgency,
}

#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub formula: Formula,
    pub category_weight: [f64; 4],
    pub level_high: f64,
    pub level_medium: f64,
    pub value: ValueConfig,
    pub urgency: UrgencyConfig,
    pub departments: Vec<Department>,
    pub default_department: [usize; 4],
    pub matching: Matching,
    pub signature_ignore: Vec<char>,
    pub window_minutes: f64,
    pub types: Vec<IssueType>,
    pub issues: Vec<Issue>,
}

impl Config {
    /// The embedded defaults alone.
    pub fn embedded() -> Result<Config> {
        let table = parse_table(EMBEDDED, EMBEDDED_ORIGIN)?;
        Reader::new(EMBEDDED_ORIGIN)?.config(&table)
    }

    /// A user configuration merged over the embedded defaults (unless it sets
    /// `inherit = false`).
    pub fn from_user(text: &str, origin: &str) -> Result<Config> {
        let mut user = parse_table(text, origin)?;
        let inherit = match user.remove("inherit") {
            None => true,
            Some(Value::Boolean(b)) => b,
            Some(v) => return Err(config_err(origin, "inherit", format!("expected true or false, found {}", v.type_str()))),
        };
        let table = if inherit {
            let mut base = parse_table(EMBEDDED, EMBEDDED_ORIGIN)?;
            merge(&mut base, user, origin, "")?;
            base
        } else {
            user
        };
        Reader::new(origin)?.config(&table)
    }

    pub fn department(&self, i: usize) -> &Department {
        &self.departments[i]
    }
}

fn config_err(origin: &str, key: impl Into<String>, reason: impl Display) -> Error {
    Error::Config { origin: origin.to_string(), key: key.into(), reason: reason.to_string() }
}

fn parse_table(text: &str, origin: &str) -> Result<Table> {
    toml::from_str::<Table>(text).map_err(|e| {
        // Name the key being defined where the syntax error is, when we can.
        let key = e
            .span()
            .and_then(|span| text.get(..span.start))
            .and_then(|before| before.lines().last())
            .and_then(|line| line.split('=').next())
            .map(|k| k.trim().trim_matches('"').to_string())
            .filter(|k| !k.is_empty() && !k.starts_with('['))
            .unwrap_or_else(|| "(syntax)".to_string());
        config_err(origin, key, format!("not valid TOML: {}", e.message()))
    })
}

/// Merges `over` into `base`: tables recursively, `issues` by key, anything else replaced.
fn merge(base: &mut Table, over: Table, origin: &str, path: &str) -> Result<()> {
    for (k, v) in over {
        let here = join(path, &k);
        match (base.get_mut(&k), v) {
            (Some(Value::Table(b)), Value::Table(o)) => merge(b, o, origin, &here)?,
            (Some(Value::Array(b)), Value::Array(o)) if path.is_empty() && k == "issues" => {
                for (i, item) in o.into_iter().enumerate() {
                    let key = item.as_table().and_then(|t| t.get("key")).and_then(Value::as_str).map(str::to_string);
                    let Some(key) = key else {
                        return Err(config_err(origin, format!("issues[{i}].key"), "every [[issues]] entry needs a string `key`"));
                    };
                    match b.iter_mut().find(|x| x.as_table().and_then(|t| t.get("key")).and_then(Value::as_str) == Some(&key)) {
                        Some(slot) => *slot = item,
                        None => b.push(item),
                    }
                }
            }
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
    Ok(())
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn parse_urgency(s: &str) -> Option<Urgency> {
    match s.trim().to_ascii_lowercase().as_str() {
        "normal" | "一般" => Some(Urgency::Normal),
        "urgent" | "紧急" => Some(Urgency::Urgent),
        "critical" | "特急" => Some(Urgency::Critical),
        _ => None,
    }
}

/// Typed access to a TOML table with the full key path in every error.
struct Reader<'a> {
    origin: &'a str,
    normalizer: Normalizer,
}

impl<'a> Reader<'a> {
    fn new(origin: &'a str) -> Result<Self> {
        Ok(Reader { origin, normalizer: Normalizer::embedded()?.with_pii_masking(false) })
    }

    fn err(&self, key: impl Into<String>, reason: impl Display) -> Error {
        config_err(self.origin, key, reason)
    }

    fn check_keys(&self, t: &Table, path: &str, allowed: &[&str]) -> Result<()> {
        for k in t.keys() {
            if !allowed.contains(&k.as_str()) {
                return Err(self.err(join(path, k), format!("unknown key (expected one of: {})", allowed.join(", "))));
            }
        }
        Ok(())
    }

    fn table<'t>(&self, t: &'t Table, key: &str, path: &str) -> Result<&'t Table> {
        match t.get(key) {
            Some(Value::Table(x)) => Ok(x),
            Some(v) => Err(self.err(join(path, key), format!("expected a table, found {}", v.type_str()))),
            None => Err(self.err(join(path, key), "missing")),
        }
    }

    fn opt_num(&self, t: &Table, key: &str, path: &str) -> Result<Option<f64>> {
        match t.get(key) {
            None => Ok(None),
            Some(Value::Integer(i)) => Ok(Some(*i as f64)),
            Some(Value::Float(f)) if f.is_finite() => Ok(Some(*f)),
            Some(v) => Err(self.err(join(path, key), format!("expected a number, found {}", describe(v)))),
        }
    }

    fn num(&self, t: &Table, key: &str, path: &str) -> Result<f64> {
        self.opt_num(t, key, path)?.ok_or_else(|| self.err(join(path, key), "missing"))
    }

    /// A required number checked against a condition.
    fn num_where(&self, t: &Table, key: &str, path: &str, ok: impl Fn(f64) -> bool, rule: &str) -> Result<f64> {
        let v = self.num(t, key, path)?;
        if ok(v) {
            Ok(v)
        } else {
            Err(self.err(join(path, key), format!("{v} is out of range: {rule}")))
        }
    }

    fn opt_num_where(&self, t: &Table, key: &str, path: &str, ok: impl Fn(f64) -> bool, rule: &str) -> Result<Option<f64>> {
        match self.opt_num(t, key, path)? {
            Some(v) if !ok(v) => Err(self.err(join(path, key), format!("{v} is out of range: {rule}"))),
            v => Ok(v),
        }
    }

    fn count(&self, t: &Table, key: &str, path: &str, min: i64, max: i64) -> Result<i64> {
        match t.get(key) {
            Some(Value::Integer(i)) if (min..=max).contains(i) => Ok(*i),
            Some(Value::Integer(i)) => Err(self.err(join(path, key), format!("{i} is out of range: {min}..={max}"))),
            Some(v) => Err(self.err(join(path, key), format!("expected a whole number, found {}", describe(v)))),
            None => Err(self.err(join(path, key), "missing")),
        }
    }

    fn opt_str<'t>(&self, t: &'t Table, key: &str, path: &str) -> Result<Option<&'t str>> {
        match t.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(v) => Err(self.err(join(path, key), format!("expected a string, found {}", describe(v)))),
        }
    }

    fn str<'t>(&self, t: &'t Table, key: &str, path: &str) -> Result<&'t str> {
        self.opt_str(t, key, path)?.ok_or_else(|| self.err(join(path, key), "missing"))
    }

    fn opt_bool(&self, t: &Table, key: &str, path: &str) -> Result<Option<bool>> {
        match t.get(key) {
            None => Ok(None),
            Some(Value::Boolean(b)) => Ok(Some(*b)),
            Some(v) => Err(self.err(join(path, key), format!("expected true or false, found {}", describe(v)))),
        }
    }

    fn str_list(&self, t: &Table, key: &str, path: &str) -> Result<Vec<String>> {
        let here = join(path, key);
        match t.get(key) {
            None => Err(self.err(here, "missing")),
            Some(Value::Array(a)) => a
                .iter()
                .enumerate()
                .map(|(i, v)| match v {
                    Value::String(s) if !s.trim().is_empty() => Ok(s.clone()),
                    Value::String(_) => Err(self.err(format!("{here}[{i}]"), "empty string")),
                    v => Err(self.err(format!("{here}[{i}]"), format!("expected a string, found {}", describe(v)))),
                })
                .collect(),
            Some(v) => Err(self.err(here, format!("expected a list of strings, found {}", describe(v)))),
        }
    }

    fn urgency(&self, s: &str, key: String) -> Result<Urgency> {
        parse_urgency(s).ok_or_else(|| self.err(key, format!("unknown urgency {s:?} (expected normal, urgent or critical)")))
    }

    fn department(&self, departments: &[Department], name: &str, key: String) -> Result<usize> {
        departments.iter().position(|d| d.name == name.trim()).ok_or_else(|| {
            let known: Vec<&str> = departments.iter().map(|d| d.name.as_str()).collect();
            self.err(key, format!("department {name:?} is not listed in [departments] ({})", known.join(", ")))
        })
    }

    /// The text as the analysis stages see it (simplified, half-width, lower case).
    fn normalize_term(&self, s: &str) -> String {
        self.normalizer.normalize(s.trim()).text.trim().to_string()
    }

    fn config(&self, root: &Table) -> Result<Config> {
        self.check_keys(
            root,
            "",
            &[
                "formula",
                "category_weight",
                "levels",
                "value",
                "urgency",
                "departments",
                "default_department",
                "matching",
                "signature",
                "counter",
                "types",
                "issues",
            ],
        )?;

        let f = self.table(root, "formula", "")?;
        let p = "formula";
        self.check_keys(
            f,
            p,
            &[
                "scope_weight",
                "max_scope_factor",
                "cost_exponent",
                "default_severity",
                "secondary_weight",
                "fault_category_weight",
                "fault_override_min_severity",
            ],
        )?;
        let nonneg = |v: f64| v >= 0.0;
        let formula = Formula {
            scope_weight: self.num_where(f, "scope_weight", p, nonneg, "must be ≥ 0")?,
            max_scope_factor: self.num_where(f, "max_scope_factor", p, |v| v >= 1.0, "must be ≥ 1")?,
            cost_exponent: self.num_where(f, "cost_exponent", p, |v| (0.0..=4.0).contains(&v), "must be in 0..=4")?,
            default_severity: self.num_where(f, "default_severity", p, nonneg, "must be ≥ 0")?,
            secondary_weight: self.num_where(f, "secondary_weight", p, nonneg, "must be ≥ 0")?,
            fault_category_weight: self.num_where(f, "fault_category_weight", p, nonneg, "must be ≥ 0")?,
            fault_override_min_severity: self.num_where(f, "fault_override_min_severity", p, nonneg, "must be ≥ 0")?,
        };

        let cw = self.table(root, "category_weight", "")?;
        let cat_names: Vec<&str> = Category::ALL.iter().map(|c| c.as_str()).collect();
        self.check_keys(cw, "category_weight", &cat_names)?;
        let mut category_weight = [0.0; 4];
        for c in Category::ALL {
            category_weight[c.index()] = self.num_where(cw, c.as_str(), "category_weight", nonneg, "must be ≥ 0")?;
        }

        let lv = self.table(root, "levels", "")?;
        self.check_keys(lv, "levels", &["high", "medium"])?;
        let level_medium = self.num_where(lv, "medium", "levels", nonneg, "must be ≥ 0")?;
        let level_high = self.num(lv, "high", "levels")?;
        if level_high <= level_medium {
            return Err(self.err("levels.high", format!("{level_high} must be greater than levels.medium ({level_medium})")));
        }

        let value = self.value(self.table(root, "value", "")?)?;
        let urgency = self.urgency_config(self.table(root, "urgency", "")?)?;

        let dt = self.table(root, "departments", "")?;
        if dt.is_empty() {
            return Err(self.err("departments", "list at least one department"));
        }
        let mut departments = Vec::with_capacity(dt.len());
        for name in dt.keys() {
            let cost = self.num_where(dt, name, "departments", |v| v > 0.0, "a department's cost must be > 0")?;
            departments.push(Department { name: name.trim().to_string(), cost });
        }

        let dd = self.table(root, "default_department", "")?;
        self.check_keys(dd, "default_department", &cat_names)?;
        let mut default_department = [0; 4];
        for c in Category::ALL {
            let name = self.str(dd, c.as_str(), "default_department")?;
            default_department[c.index()] = self.department(&departments, name, format!("default_department.{}", c.as_str()))?;
        }

        let m = self.table(root, "matching", "")?;
        self.check_keys(m, "matching", &["max_gap", "negators", "gap_negators", "exclude"])?;
        let norm_list = |v: Vec<String>| -> Vec<String> { v.iter().map(|s| self.normalize_term(s)).filter(|s| !s.is_empty()).collect() };
        let matching = Matching {
            max_gap: self.count(m, "max_gap", "matching", 0, 50)? as usize,
            negators: norm_list(self.str_list(m, "negators", "matching")?),
            gap_negators: norm_list(self.str_list(m, "gap_negators", "matching")?),
            exclude: norm_list(self.str_list(m, "exclude", "matching")?),
        };

        let sg = self.table(root, "signature", "")?;
        self.check_keys(sg, "signature", &["ignore_chars"])?;
        let signature_ignore = self.normalize_term(self.str(sg, "ignore_chars", "signature")?).chars().collect();

        let ct = self.table(root, "counter", "")?;
        self.check_keys(ct, "counter", &["window_minutes"])?;
        let window_minutes = self.num_where(ct, "window_minutes", "counter", |v| v > 0.0 && v <= 525_600.0, "must be > 0 and at most a year")?;

        let tt = self.table(root, "types", "")?;
        let mut types = Vec::with_capacity(tt.len());
        for (name, v) in tt {
            let path = join("types", name);
            let Value::Table(t) = v else {
                return Err(self.err(path, format!("expected a table, found {}", describe(v))));
            };
            self.check_keys(t, &path, &["reason", "severity", "cost", "department", "urgency", "reports_fault"])?;
            let department = self.department(&departments, self.str(t, "department", &path)?, join(&path, "department"))?;
            types.push(IssueType {
                name: name.clone(),
                reason: self.str(t, "reason", &path)?.to_string(),
                severity: self.num_where(t, "severity", &path, |v| (0.0..=100.0).contains(&v), "must be in 0..=100")?,
                cost: self.num_where(t, "cost", &path, |v| v > 0.0, "must be > 0")?,
                department,
                urgency: self.urgency(self.str(t, "urgency", &path)?, join(&path, "urgency"))?,
                reports_fault: self.opt_bool(t, "reports_fault", &path)?.unwrap_or(true),
            });
        }

        let issues = self.issues(root, &types, &departments)?;

        Ok(Config {
            formula,
            category_weight,
            level_high,
            level_medium,
            value,
            urgency,
            departments,
            default_department,
            matching,
            signature_ignore,
            window_minutes,
            types,
            issues,
        })
    }

    fn value(&self, v: &Table) -> Result<ValueConfig> {
        self.check_keys(v, "value", &["combine", "default", "tiers", "spend"])?;
        let combine = match self.str(v, "combine", "value")?.trim() {
            "max" => Combine::Max,
            "product" => Combine::Product,
            other => return Err(self.err("value.combine", format!("unknown rule {other:?} (expected \"max\" or \"product\")"))),
        };
        let positive = |x: f64| x > 0.0;
        let default = self.num_where(v, "default", "value", positive, "must be > 0")?;
        let tt = self.table(v, "tiers", "value")?;
        let mut tiers = Vec::with_capacity(tt.len());
        for name in tt.keys() {
            let m = self.num_where(tt, name, "value.tiers", positive, "a tier's value must be > 0")?;
            tiers.push((name.trim().to_lowercase(), m));
        }
        let s = self.table(v, "spend", "value")?;
        self.check_keys(s, "value.spend", &["neutral", "weight", "min", "max"])?;
        let spend_min = self.num_where(s, "min", "value.spend", positive, "must be > 0")?;
        let spend_max = self.num(s, "max", "value.spend")?;
        if spend_max < spend_min {
            return Err(self.err("value.spend.max", format!("{spend_max} must be ≥ value.spend.min ({spend_min})")));
        }
        Ok(ValueConfig {
            combine,
            default,
            tiers,
            spend_neutral: self.num_where(s, "neutral", "value.spend", positive, "must be > 0")?,
            spend_weight: self.num_where(s, "weight", "value.spend", |x| x >= 0.0, "must be ≥ 0")?,
            spend_min,
            spend_max,
        })
    }

    fn urgency_config(&self, u: &Table) -> Result<UrgencyConfig> {
        let p = "urgency";
        self.check_keys(u, p, &["escalate_value_at_least", "escalate_scope_at_least", "cue_urgency", "cue_terms", "minutes", "category_minutes"])?;
        let mt = self.table(u, "minutes", p)?;
        self.check_keys(mt, "urgency.minutes", &["normal", "urgent", "critical"])?;
        let mut minutes = [0u32; 3];
        for (i, k) in ["normal", "urgent", "critical"].iter().enumerate() {
            minutes[i] = self.count(mt, k, "urgency.minutes", 1, 525_600)? as u32;
        }
        let mut category_minutes = [None; 4];
        if let Some(v) = u.get("category_minutes") {
            let Value::Table(ct) = v else {
                return Err(self.err("urgency.category_minutes", format!("expected a table, found {}", describe(v))));
            };
            let cat_names: Vec<&str> = Category::ALL.iter().map(|c| c.as_str()).collect();
            self.check_keys(ct, "urgency.category_minutes", &cat_names)?;
            for c in Category::ALL {
                if ct.contains_key(c.as_str()) {
                    category_minutes[c.index()] = Some(self.count(ct, c.as_str(), "urgency.category_minutes", 1, 525_600)? as u32);
                }
            }
        }
        Ok(UrgencyConfig {
            escalate_value_at_least: self.num_where(u, "escalate_value_at_least", p, |v| v > 0.0, "must be > 0")?,
            escalate_scope_at_least: self.count(u, "escalate_scope_at_least", p, 1, u32::MAX as i64)? as u32,
            cue_urgency: self.urgency(self.str(u, "cue_urgency", p)?, "urgency.cue_urgency".into())?,
            cue_terms: self.str_list(u, "cue_terms", p)?.iter().map(|s| self.normalize_term(s)).filter(|s| !s.is_empty()).collect(),
            minutes,
            category_minutes,
        })
    }

    fn issues(&self, root: &Table, types: &[IssueType], departments: &[Department]) -> Result<Vec<Issue>> {
        let list = match root.get("issues") {
            Some(Value::Array(a)) => a,
            Some(v) => return Err(self.err("issues", format!("expected [[issues]] entries, found {}", describe(v)))),
            None => return Err(self.err("issues", "missing")),
        };
        let mut seen = HashSet::new();
        let mut out = Vec::with_capacity(list.len());
        for (i, v) in list.iter().enumerate() {
            let Value::Table(t) = v else {
                return Err(self.err(format!("issues[{i}]"), format!("expected a table, found {}", describe(v))));
            };
            let key = match t.get("key") {
                Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
                _ => return Err(self.err(format!("issues[{i}].key"), "every [[issues]] entry needs a non-empty string `key`")),
            };
            let path = format!("issues.{key}");
            self.check_keys(t, &path, &["key", "type", "label", "terms", "severity", "cost", "department", "urgency", "enabled"])?;
            if !seen.insert(key.clone()) {
                return Err(self.err(join(&path, "key"), "duplicate issue key"));
            }
            if self.opt_bool(t, "enabled", &path)? == Some(false) {
                continue;
            }
            let type_name = self.str(t, "type", &path)?;
            let Some(kind) = types.iter().position(|ty| ty.name == type_name) else {
                let known: Vec<&str> = types.iter().map(|ty| ty.name.as_str()).collect();
                return Err(self.err(join(&path, "type"), format!("unknown type {type_name:?} (expected one of: {})", known.join(", "))));
            };
            let ty = &types[kind];
            let mut terms = Vec::new();
            for (n, term) in self.str_list(t, "terms", &path)?.iter().enumerate() {
                let parts: Vec<String> = term.split('*').map(|p| self.normalize_term(p)).collect();
                if parts.iter().any(|p| p.is_empty()) {
                    return Err(self.err(format!("{path}.terms[{n}]"), format!("{term:?}: `*` must join two non-empty parts")));
                }
                terms.push(parts);
            }
            if terms.is_empty() {
                return Err(self.err(join(&path, "terms"), "list at least one term"));
            }
            let department = match self.opt_str(t, "department", &path)? {
                Some(d) => self.department(departments, d, join(&path, "department"))?,
                None => ty.department,
            };
            let urgency = match self.opt_str(t, "urgency", &path)? {
                Some(u) => self.urgency(u, join(&path, "urgency"))?,
                None => ty.urgency,
            };
            out.push(Issue {
                label: self.opt_str(t, "label", &path)?.unwrap_or(&key).to_string(),
                severity: self.opt_num_where(t, "severity", &path, |v| (0.0..=100.0).contains(&v), "must be in 0..=100")?.unwrap_or(ty.severity),
                cost: self.opt_num_where(t, "cost", &path, |v| v > 0.0, "must be > 0")?.unwrap_or(ty.cost),
                key,
                kind,
                terms,
                department,
                urgency,
            });
        }
        Ok(out)
    }
}

fn describe(v: &Value) -> String {
    match v {
        Value::String(s) => format!("string {s:?}"),
        other => other.type_str().to_string(),
    }
}
