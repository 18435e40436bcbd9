//! Batch summary of keyword phrases: per category, the phrase groups customers
//! report most, with counts, share of items, polarity and example item ids.
//!
//! Built in the same pass as classification ([`SummaryBuilder::add`] per
//! analysis), in parallel chunks merged with [`SummaryBuilder::merge`], and in
//! bounded memory:
//!
//! * at most `max_groups` distinct groups are tracked per category (default
//!   [`DEFAULT_MAX_GROUPS`]), with at most [`MAX_EXAMPLES`] example ids and
//!   [`MAX_VARIANTS`] display variants each;
//! * **eviction rule** (Space-Saving, Metwally et al. 2005): when a new group
//!   arrives and the table is full, the group with the lowest count is dropped
//!   (ties: the one updated longest ago) and the new group takes over its count
//!   plus one; the inherited amount is kept as the group's `error`. A group's
//!   `count` is therefore an upper bound of its true count and `count - error` a
//!   lower bound; any group reported by more than `items / max_groups` items is
//!   guaranteed to be tracked. With fewer distinct groups than `max_groups`
//!   (the usual case), counts are exact and `error` is 0.
//! * merging adds counts of the same group; a group missing from one side that
//!   has evicted adds that side's lowest count (to count and error), then the
//!   lowest groups are dropped until `max_groups` remain.
//!
//! Counts are items, not phrases: an item that says 物流慢 twice counts once.
//! [`Summary`] is `Serialize + Deserialize` so a later report can read a previous
//! run's summary and show trends (`counts` has every tracked group).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use crate::category::Category;
use crate::keywords::{Keyword, Polarity};
use crate::record::Analysis;

/// Distinct groups tracked per category by default.
pub const DEFAULT_MAX_GROUPS: usize = 5_000;
/// Groups listed with details per category by default.
pub const DEFAULT_TOP: usize = 20;
/// Example item ids kept per group.
pub const MAX_EXAMPLES: usize = 3;
/// Display variants (物流慢, 物流太慢了 → 物流慢 …) counted per group.
pub const MAX_VARIANTS: usize = 4;
/// Version of the summary format.
pub const SUMMARY_VERSION: u32 = 1;

/// The summary of a batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub version: u32,
    /// Items added.
    pub items: u64,
    /// Items with at least one keyword phrase.
    pub items_with_keywords: u64,
    /// The group cap per category the counts were made with.
    pub max_groups: usize,
    pub categories: BTreeMap<Category, CategorySummary>,
}

/// One category's phrase groups.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategorySummary {
    /// Items of this category.
    pub items: u64,
    pub items_with_keywords: u64,
    /// Phrases (after per-item de-duplication of groups).
    pub phrases: u64,
    /// Distinct groups tracked at the end.
    pub groups_tracked: usize,
    /// Groups dropped by the eviction rule (0: counts are exact).
    pub evicted: u64,
    /// The most reported groups, most first (ties: group key).
    pub top: Vec<GroupSummary>,
    /// Every tracked group's count (for trends against a later run).
    pub counts: BTreeMap<String, u64>,
}

/// One phrase group in a category.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupSummary {
    /// Canonical key ("配送|慢").
    pub group: String,
    /// The most frequent display phrase of the group.
    pub text: String,
    pub aspect: String,
    pub opinion: String,
    /// The majority polarity (negative on a tie).
    pub polarity: Polarity,
    /// Items reporting the group.
    pub count: u64,
    /// count / items of the category.
    pub share: f64,
    pub positive: u64,
    pub negative: u64,
    /// Upper bound of the overcount from evictions (0 when exact).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub error: u64,
    /// Up to three item ids.
    pub examples: Vec<String>,
}

fn is_zero(x: &u64) -> bool {
    *x == 0
}

impl Summary {
    /// The count of `group` in `category` (0 when not tracked).
    pub fn count(&self, category: Category, group: &str) -> u64 {
        self.categories.get(&category).and_then(|c| c.counts.get(group)).copied().unwrap_or(0)
    }
}

#[derive(Debug, Clone)]
struct Variant {
    text: String,
    aspect: String,
    opinion: String,
    count: u64,
}

#[derive(Debug, Clone)]
struct GroupAcc {
    key: String,
    count: u64,
    error: u64,
    positive: u64,
    negative: u64,
    variants: Vec<Variant>,
    examples: Vec<String>,
    /// Sequence number of the last update (eviction tie-break).
    seq: u64,
}

impl GroupAcc {
    fn new(key: &str) -> Self {
        GroupAcc { key: key.to_string(), count: 0, error: 0, positive: 0, negative: 0, variants: Vec::new(), examples: Vec::new(), seq: 0 }
    }

    fn note(&mut self, kw: &Keyword, id: &str) {
        match kw.polarity {
            Polarity::Positive => self.positive += 1,
            Polarity::Negative => self.negative += 1,
        }
        if let Some(v) = self.variants.iter_mut().find(|v| v.text == kw.text) {
            v.count += 1;
        } else if self.variants.len() < MAX_VARIANTS {
            self.variants.push(Variant { text: kw.text.clone(), aspect: kw.aspect.clone(), opinion: kw.opinion.clone(), count: 1 });
        }
        if self.examples.len() < MAX_EXAMPLES && !self.examples.iter().any(|e| e == id) {
            self.examples.push(id.to_string());
        }
    }

    fn absorb(&mut self, other: &GroupAcc) {
        self.count += other.count;
        self.error += other.error;
        self.positive += other.positive;
        self.negative += other.negative;
        for v in &other.variants {
            if let Some(mine) = self.variants.iter_mut().find(|m| m.text == v.text) {
                mine.count += v.count;
            } else if self.variants.len() < MAX_VARIANTS {
                self.variants.push(v.clone());
            }
        }
        for e in &other.examples {
            if self.examples.len() < MAX_EXAMPLES && !self.examples.contains(e) {
                self.examples.push(e.clone());
            }
        }
        self.seq = self.seq.max(other.seq);
    }
}

/// The groups of one category, with the Space-Saving eviction index.
#[derive(Debug, Clone, Default)]
struct CategoryAcc {
    items: u64,
    items_with_keywords: u64,
    phrases: u64,
    evicted: u64,
    slots: Vec<GroupAcc>,
    index: HashMap<String, usize>,
    /// (count, seq, slot) of every tracked group: the first is the one to evict.
    order: BTreeSet<(u64, u64, usize)>,
}

impl CategoryAcc {
    fn min_count(&self) -> u64 {
        self.order.first().map_or(0, |&(c, _, _)| c)
    }

    /// Counts one item for `kw.group`, evicting the lowest group when full.
    fn touch(&mut self, kw: &Keyword, id: &str, seq: u64, max_groups: usize) {
        if max_groups == 0 {
            return;
        }
        let slot = match self.index.get(kw.group.as_str()) {
            Some(&slot) => {
                let g = &self.slots[slot];
                self.order.remove(&(g.count, g.seq, slot));
                slot
            }
            None if self.slots.len() < max_groups => {
                self.slots.push(GroupAcc::new(&kw.group));
                self.index.insert(kw.group.clone(), self.slots.len() - 1);
                self.slots.len() - 1
            }
            None => {
                let (min, old_seq, slot) = self.order.pop_first().expect("full table has a minimum");
                let _ = old_seq;
                self.evicted += 1;
                let old_key = std::mem::take(&mut self.slots[slot].key);
                self.index.remove(&old_key);
                let mut g = GroupAcc::new(&kw.group);
                g.count = min;
                g.error = min;
                self.slots[slot] = g;
                self.index.insert(kw.group.clone(), slot);
                slot
            }
        };
        let g = &mut self.slots[slot];
        g.count += 1;
        g.seq = seq;
        g.note(kw, id);
        self.order.insert((g.count, g.seq, slot));
    }

    fn rebuild(&mut self, mut groups: Vec<GroupAcc>, max_groups: usize) {
        if groups.len() > max_groups {
            // Keep the highest counts (ties: most recently updated, then key).
            groups.sort_by(|a, b| b.count.cmp(&a.count).then(b.seq.cmp(&a.seq)).then(a.key.cmp(&b.key)));
            self.evicted += (groups.len() - max_groups) as u64;
            groups.truncate(max_groups);
        }
        self.index = groups.iter().enumerate().map(|(i, g)| (g.key.clone(), i)).collect();
        self.order = groups.iter().enumerate().map(|(i, g)| (g.count, g.seq, i)).collect();
        self.slots = groups;
    }

    fn merge(&mut self, other: CategoryAcc, max_groups: usize) {
        let my_floor = if self.evicted > 0 { self.min_count() } else { 0 };
        let their_floor = if other.evicted > 0 { other.min_count() } else { 0 };
        self.items += other.items;
        self.items_with_keywords += other.items_with_keywords;
        self.phrases += other.phrases;
        self.evicted += other.evicted;
        let mut groups: Vec<GroupAcc> = std::mem::take(&mut self.slots);
        let mut present = vec![false; groups.len()];
        let index = std::mem::take(&mut self.index);
        let mut extra = Vec::new();
        for g in other.slots {
            match index.get(&g.key) {
                Some(&i) => {
                    groups[i].absorb(&g);
                    present[i] = true;
                }
                None => {
                    let mut g = g;
                    g.count += my_floor;
                    g.error += my_floor;
                    extra.push(g);
                }
            }
        }
        for (g, seen) in groups.iter_mut().zip(present) {
            if !seen {
                g.count += their_floor;
                g.error += their_floor;
            }
        }
        groups.extend(extra);
        self.rebuild(groups, max_groups);
    }

    fn finish(&self, top: usize) -> CategorySummary {
        let mut sorted: Vec<&GroupAcc> = self.slots.iter().collect();
        sorted.sort_by(|a, b| b.count.cmp(&a.count).then(a.key.cmp(&b.key)));
        let share = |c: u64| if self.items == 0 { 0.0 } else { ((c as f64 / self.items as f64) * 10_000.0).round() / 10_000.0 };
        let top = sorted
            .iter()
            .take(top)
            .map(|g| {
                let best = g.variants.iter().enumerate().max_by(|(i, a), (j, b)| a.count.cmp(&b.count).then(j.cmp(i)));
                let (text, aspect, opinion) =
                    best.map(|(_, v)| (v.text.clone(), v.aspect.clone(), v.opinion.clone())).unwrap_or_else(|| (g.key.clone(), String::new(), String::new()));
                GroupSummary {
                    group: g.key.clone(),
                    text,
                    aspect,
                    opinion,
                    polarity: if g.positive > g.negative { Polarity::Positive } else { Polarity::Negative },
                    count: g.count,
                    share: share(g.count),
                    positive: g.positive,
                    negative: g.negative,
                    error: g.error,
                    examples: g.examples.clone(),
                }
            })
            .collect();
        CategorySummary {
            items: self.items,
            items_with_keywords: self.items_with_keywords,
            phrases: self.phrases,
            groups_tracked: self.slots.len(),
            evicted: self.evicted,
            top,
            counts: self.slots.iter().map(|g| (g.key.clone(), g.count)).collect(),
        }
    }
}

/// Accumulates a [`Summary`] over analyses; see the module docs for the bounds.
#[derive(Debug, Clone)]
pub struct SummaryBuilder {
    max_groups: usize,
    top: usize,
    items: u64,
    items_with_keywords: u64,
    seq: u64,
    categories: BTreeMap<Category, CategoryAcc>,
}

impl Default for SummaryBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl SummaryBuilder {
    pub fn new() -> Self {
        SummaryBuilder { max_groups: DEFAULT_MAX_GROUPS, top: DEFAULT_TOP, items: 0, items_with_keywords: 0, seq: 0, categories: BTreeMap::new() }
    }

    /// Tracks at most `n` distinct groups per category.
    pub fn with_max_groups(mut self, n: usize) -> Self {
        self.max_groups = n;
        self
    }

    /// Lists the `n` most reported groups per category in `top`.
    pub fn with_top(mut self, n: usize) -> Self {
        self.top = n;
        self
    }

    /// Counts one analysis.
    pub fn add(&mut self, a: &Analysis) {
        self.items += 1;
        self.seq += 1;
        let acc = self.categories.entry(a.category).or_default();
        acc.items += 1;
        if a.keywords.is_empty() {
            return;
        }
        self.items_with_keywords += 1;
        acc.items_with_keywords += 1;
        for (i, kw) in a.keywords.iter().enumerate() {
            if a.keywords[..i].iter().any(|k| k.group == kw.group) {
                continue;
            }
            acc.phrases += 1;
            acc.touch(kw, &a.id, self.seq, self.max_groups);
        }
    }

    /// Adds a builder of another chunk (e.g. from a parallel worker). Merge
    /// chunks in input order for reproducible example ids.
    pub fn merge(&mut self, other: SummaryBuilder) {
        self.items += other.items;
        self.items_with_keywords += other.items_with_keywords;
        self.seq = self.seq.max(other.seq);
        let max_groups = self.max_groups;
        for (cat, acc) in other.categories {
            self.categories.entry(cat).or_default().merge(acc, max_groups);
        }
    }

    /// The summary so far.
    pub fn finish(&self) -> Summary {
        Summary {
            version: SUMMARY_VERSION,
            items: self.items,
            items_with_keywords: self.items_with_keywords,
            max_groups: self.max_groups,
            categories: self.categories.iter().map(|(c, acc)| (*c, acc.finish(self.top))).collect(),
        }
    }
}
