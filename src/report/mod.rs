//! The analysis report (反馈分析报告, issue 6): one self-contained HTML page a
//! feedback team reads every morning.
//!
//! [`ReportBuilder`] is fed in the same streaming pass as the output
//! (`add` per analysed record, `add_reject` per rejected row) and keeps only
//! bounded state, whatever the number of items:
//!
//! * the keyword groups come from an internal [`SummaryBuilder`] (the keyword
//!   stage's canonical groups, Space-Saving bounded);
//! * example texts: at most [`ReportOptions::examples`] per tracked group, each
//!   cut to [`ReportOptions::example_chars`] characters around its phrase; the
//!   table of groups with examples is pruned to the summary's tracked groups
//!   whenever it grows past twice the summary's cap;
//! * the priority queue: a min-heap of the [`ReportOptions::queue`] highest
//!   scores;
//! * counters per category, urgency, level, department (capped), day of
//!   `created_at` and reject reason (capped), plus a few reject samples.
//!
//! [`ReportBuilder::render`] draws the charts as inline SVG (plotters, see
//! `charts`) and fills `templates/report.html` (minijinja, HTML auto-escaping).
//! The page loads nothing: no scripts, fonts, stylesheets or images, and a
//! Content-Security-Policy that forbids any fetch. With a previous run's
//! [`Summary`] it adds trends: groups that rose or fell most (in share of all
//! items, so runs of different sizes compare), new groups, and spikes.

mod charts;
pub mod dates;

use std::cmp::{Ordering, Reverse};
use std::collections::{BTreeMap, BinaryHeap, HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::path::Path;

use plotters::style::RGBColor;
use serde::{Deserialize, Serialize};

use crate::category::Category;
use crate::error::{Error, Result};
use crate::input::Reject;
use crate::keywords::{Keyword, Polarity};
use crate::output::AtomicOutput;
use crate::priority::{Level, Urgency};
use crate::record::{Analysis, FeedbackRecord};
use crate::summary::{CategorySummary, GroupSummary, Summary, SummaryBuilder, DEFAULT_MAX_GROUPS};

use charts::group_digits;
use dates::Stamp;

/// The page template (embedded at build time).
pub const TEMPLATE: &str = include_str!("../../templates/report.html");

/// Days of `created_at` counted for the volume chart (about 27 years).
const MAX_DAYS: usize = 10_000;

/// What the report shows and how much it keeps.
#[derive(Debug, Clone)]
pub struct ReportOptions {
    /// Problem and suggestion groups listed with examples.
    pub top_groups: usize,
    /// Praise and enquiry groups listed (names and counts only).
    pub other_groups: usize,
    /// Example texts kept per group.
    pub examples: usize,
    /// Characters of an example text shown (around its phrase).
    pub example_chars: usize,
    /// Items in the priority queue.
    pub queue: usize,
    /// Characters of a queue item's text shown.
    pub queue_chars: usize,
    /// Rows of each trend table.
    pub trend_rows: usize,
    /// A group is a spike when it has at least this many items now ...
    pub spike_min_count: u64,
    /// ... and its share of items is at least this many times the previous one (or it is new).
    pub spike_ratio: f64,
    /// Distinct departments counted (the rest are counted under 其他).
    pub max_departments: usize,
    /// Distinct reject reasons counted (the rest under 其他).
    pub max_reject_reasons: usize,
    /// Rejected rows listed.
    pub reject_samples: usize,
    /// Distinct groups tracked per category (see [`crate::summary`]).
    pub max_groups: usize,
}

impl Default for ReportOptions {
    fn default() -> Self {
        ReportOptions {
            top_groups: 10,
            other_groups: 8,
            examples: 3,
            example_chars: 90,
            queue: 30,
            queue_chars: 140,
            trend_rows: 10,
            spike_min_count: 5,
            spike_ratio: 2.0,
            max_departments: 32,
            max_reject_reasons: 20,
            reject_samples: 10,
            max_groups: DEFAULT_MAX_GROUPS,
        }
    }
}

/// An example text, split around the group's phrase for highlighting.
#[derive(Debug, Clone, PartialEq, Serialize)]
struct Example {
    id: String,
    before: String,
    hit: String,
    after: String,
}

impl Example {
    /// Cuts `text` to about `limit` characters around `kw`'s span.
    fn cut(id: &str, text: &str, kw: &Keyword, limit: usize) -> Example {
        let chars: Vec<char> = text.chars().collect();
        let limit = limit.max(10);
        let (start, end) = if kw.start < kw.end && kw.end <= chars.len() { (kw.start, kw.end) } else { (0, 0) };
        let hit_len = end - start;
        let room = limit.saturating_sub(hit_len);
        let mut from = start.saturating_sub(room / 3);
        let to = (from + limit).min(chars.len()).max(end);
        if to - from < limit {
            from = to.saturating_sub(limit).min(start);
        }
        let s = |a: usize, b: usize| chars[a..b].iter().collect::<String>();
        let mut before = s(from, start.max(from));
        let mut after = s(end.max(from), to);
        if from > 0 {
            before.insert(0, '…');
        }
        if to < chars.len() {
            after.push('…');
        }
        Example { id: id.to_string(), before, hit: s(start.max(from), end.max(from)), after }
    }

    fn same_text(&self, other: &Example) -> bool {
        self.before == other.before && self.hit == other.hit && self.after == other.after
    }
}

/// What the report keeps per group besides the summary's counts.
#[derive(Debug, Clone)]
struct GroupNotes {
    phrase: String,
    positive: u64,
    negative: u64,
    examples: Vec<Example>,
}

/// One entry of the priority queue.
#[derive(Debug, Clone)]
struct QueueEntry {
    score: f64,
    seq: u64,
    id: String,
    category: Category,
    text: String,
    level: Level,
    urgency: Urgency,
    minutes: u32,
    department: String,
    reasons: Vec<String>,
    created: Option<Stamp>,
    channel: Option<String>,
    tier: Option<String>,
}

impl QueueEntry {
    /// Higher score first; on a tie, the earlier item.
    fn rank_cmp(score: f64, seq: u64, other: &QueueEntry) -> Ordering {
        score.total_cmp(&other.score).then(other.seq.cmp(&seq))
    }
}

impl PartialEq for QueueEntry {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for QueueEntry {}
impl PartialOrd for QueueEntry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for QueueEntry {
    fn cmp(&self, other: &Self) -> Ordering {
        QueueEntry::rank_cmp(self.score, self.seq, other)
    }
}

/// Accumulates a report in bounded memory; see the module docs.
#[derive(Debug, Clone)]
pub struct ReportBuilder {
    opts: ReportOptions,
    summary: SummaryBuilder,
    seq: u64,
    notes: BTreeMap<Category, HashMap<String, GroupNotes>>,
    queue: BinaryHeap<Reverse<QueueEntry>>,
    urgency: [u64; 3],
    levels: [u64; 3],
    untriaged: u64,
    departments: BTreeMap<String, [u64; 4]>,
    first: Option<Stamp>,
    last: Option<Stamp>,
    dated: u64,
    bad_dates: u64,
    days: BTreeMap<i64, u64>,
    rejects: u64,
    reject_reasons: BTreeMap<String, u64>,
    reject_samples: Vec<RejectRow>,
    totals: Option<(u64, u64, u64)>,
    source: Option<String>,
}

impl Default for ReportBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl ReportBuilder {
    pub fn new() -> Self {
        Self::with_options(ReportOptions::default())
    }

    pub fn with_options(opts: ReportOptions) -> Self {
        let top = (opts.top_groups * 4).max(opts.other_groups).max(40);
        ReportBuilder {
            summary: SummaryBuilder::new().with_max_groups(opts.max_groups).with_top(top),
            opts,
            seq: 0,
            notes: BTreeMap::new(),
            queue: BinaryHeap::new(),
            urgency: [0; 3],
            levels: [0; 3],
            untriaged: 0,
            departments: BTreeMap::new(),
            first: None,
            last: None,
            dated: 0,
            bad_dates: 0,
            days: BTreeMap::new(),
            rejects: 0,
            reject_reasons: BTreeMap::new(),
            reject_samples: Vec::new(),
            totals: None,
            source: None,
        }
    }

    /// Names the input in the page header.
    pub fn set_source(&mut self, source: impl Into<String>) {
        self.source = Some(source.into());
    }

    /// The run's totals (rows read, analysed records written, rows rejected);
    /// without them the report counts what it was given.
    pub fn set_totals(&mut self, read: u64, written: u64, rejected: u64) {
        self.totals = Some((read, written, rejected));
    }

    /// Items added so far.
    pub fn analysed(&self) -> u64 {
        self.seq
    }

    /// Rejects added so far.
    pub fn rejected(&self) -> u64 {
        self.rejects
    }

    /// The keyword summary of what was added (as `--summary` would write it,
    /// with the report's `top`): save it to compare the next run against.
    pub fn summary(&self) -> Summary {
        self.summary.finish()
    }

    /// Counts one analysed record (its text already masked in `analysis`).
    pub fn add(&mut self, record: &FeedbackRecord, analysis: &Analysis) {
        self.seq += 1;
        let seq = self.seq;
        self.summary.add(analysis);
        self.note_examples(analysis);

        if let Some(created) = record.created_at.as_deref() {
            match dates::parse(created) {
                Some(stamp) => {
                    self.dated += 1;
                    self.first = Some(self.first.map_or(stamp, |f| f.min(stamp)));
                    self.last = Some(self.last.map_or(stamp, |l| l.max(stamp)));
                    let day = stamp.day();
                    if let Some(n) = self.days.get_mut(&day) {
                        *n += 1;
                    } else if self.days.len() < MAX_DAYS {
                        self.days.insert(day, 1);
                    }
                }
                None => self.bad_dates += 1,
            }
        }

        let Some(t) = &analysis.triage else {
            self.untriaged += 1;
            return;
        };
        self.urgency[urgency_index(t.urgency)] += 1;
        self.levels[level_index(t.priority.level)] += 1;
        let dept = if t.department.trim().is_empty() { "未指定".to_string() } else { t.department.clone() };
        let key = if self.departments.contains_key(&dept) || self.departments.len() < self.opts.max_departments { dept } else { "其他".to_string() };
        let d = self.departments.entry(key).or_insert([0; 4]);
        d[urgency_index(t.urgency)] += 1;
        if t.priority.level == Level::High {
            d[3] += 1;
        }

        let score = if t.priority.score.is_finite() { t.priority.score } else { 0.0 };
        if self.opts.queue == 0 {
            return;
        }
        if self.queue.len() >= self.opts.queue {
            let Some(Reverse(lowest)) = self.queue.peek() else { return };
            if QueueEntry::rank_cmp(score, seq, lowest) != Ordering::Greater {
                return;
            }
            self.queue.pop();
        }
        self.queue.push(Reverse(QueueEntry {
            score,
            seq,
            id: analysis.id.clone(),
            category: analysis.category,
            text: cut_plain(&analysis.text, self.opts.queue_chars),
            level: t.priority.level,
            urgency: t.urgency,
            minutes: t.respond_within_minutes,
            department: t.department.clone(),
            reasons: t.priority.reasons.iter().take(5).cloned().collect(),
            created: record.created_at.as_deref().and_then(dates::parse),
            channel: record.channel.clone(),
            tier: record.customer_tier.clone(),
        }));
    }

    fn note_examples(&mut self, a: &Analysis) {
        if a.keywords.is_empty() {
            return;
        }
        let limit = self.opts.examples;
        let chars = self.opts.example_chars;
        let groups = self.notes.entry(a.category).or_default();
        for (i, kw) in a.keywords.iter().enumerate() {
            if a.keywords[..i].iter().any(|k| k.group == kw.group) {
                continue;
            }
            let notes = match groups.get_mut(kw.group.as_str()) {
                Some(n) => n,
                None => {
                    groups.entry(kw.group.clone()).or_insert_with(|| GroupNotes { phrase: kw.text.clone(), positive: 0, negative: 0, examples: Vec::new() })
                }
            };
            match kw.polarity {
                Polarity::Positive => notes.positive += 1,
                Polarity::Negative => notes.negative += 1,
            }
            if notes.examples.len() < limit && !notes.examples.iter().any(|e| e.id == a.id) {
                let ex = Example::cut(&a.id, &a.text, kw, chars);
                if !notes.examples.iter().any(|e| e.same_text(&ex)) {
                    notes.examples.push(ex);
                }
            }
        }
        if groups.len() > 2 * self.opts.max_groups.max(1) {
            self.prune_notes();
        }
    }

    /// Drops notes of groups the summary no longer tracks.
    fn prune_notes(&mut self) {
        let summary = self.summary.finish();
        for (cat, groups) in self.notes.iter_mut() {
            match summary.categories.get(cat) {
                Some(c) => groups.retain(|k, _| c.counts.contains_key(k)),
                None => groups.clear(),
            }
        }
    }

    /// Counts one rejected row (its raw text already masked by the run).
    pub fn add_reject(&mut self, reject: &Reject) {
        self.rejects += 1;
        let reason = reason_key(&reject.reason);
        let key = if self.reject_reasons.contains_key(&reason) || self.reject_reasons.len() < self.opts.max_reject_reasons {
            reason
        } else {
            "其他 other".to_string()
        };
        *self.reject_reasons.entry(key).or_insert(0) += 1;
        if self.reject_samples.len() < self.opts.reject_samples {
            self.reject_samples.push(RejectRow {
                file: reject.file.clone(),
                line: reject.line,
                reason: cut_plain(&reject.reason, 160),
                raw: cut_plain(&reject.raw, 100),
            });
        }
    }

    /// Adds the analysed records of an earlier `triage classify` (its JSONL
    /// output). A line that is not an analysed record counts as a reject.
    pub fn read_analysed(&mut self, path: &Path) -> Result<()> {
        let file = std::fs::File::open(path).map_err(|e| io_error(path, e))?;
        let name = path.display().to_string();
        let mut reader = BufReader::with_capacity(1 << 20, file);
        let mut buf = Vec::new();
        let mut line_no = 0u64;
        loop {
            buf.clear();
            let n = reader.read_until(b'\n', &mut buf).map_err(|e| io_error(path, e))?;
            if n == 0 {
                break;
            }
            line_no += 1;
            let line = String::from_utf8_lossy(&buf);
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            match parse_analysed(line) {
                Ok((record, analysis)) => self.add(&record, &analysis),
                Err(reason) => self.add_reject(&Reject { file: name.clone(), line: line_no, reason, raw: cut_plain(line, 200) }),
            }
        }
        Ok(())
    }

    /// Adds the rejects file of an earlier run (`--rejects` JSONL).
    pub fn read_rejects(&mut self, path: &Path) -> Result<()> {
        let file = std::fs::File::open(path).map_err(|e| io_error(path, e))?;
        let name = path.display().to_string();
        for (i, line) in BufReader::new(file).lines().enumerate() {
            let line = line.map_err(|e| io_error(path, e))?;
            if line.trim().is_empty() {
                continue;
            }
            match serde_json::from_str::<Reject>(&line) {
                Ok(r) => self.add_reject(&r),
                Err(e) => self.add_reject(&Reject {
                    file: name.clone(),
                    line: i as u64 + 1,
                    reason: format!("unreadable reject record: {e}"),
                    raw: cut_plain(&line, 200),
                }),
            }
        }
        Ok(())
    }

    /// Renders and writes the page atomically.
    pub fn write(&self, path: &Path, previous: Option<&Summary>) -> Result<()> {
        let html = self.render(previous)?;
        let mut out = AtomicOutput::create(Some(path))?;
        out.write_all(html.as_bytes())?;
        out.commit()
    }

    /// The page, with trends against `previous` when given.
    pub fn render(&self, previous: Option<&Summary>) -> Result<String> {
        let view = self.view(previous).map_err(chart_error)?;
        let mut env = minijinja::Environment::new();
        env.add_template("report.html", TEMPLATE).map_err(template_error)?;
        let template = env.get_template("report.html").map_err(template_error)?;
        template.render(&view).map_err(template_error)
    }

    fn view(&self, previous: Option<&Summary>) -> std::result::Result<View, Box<dyn std::error::Error>> {
        let summary = self.summary.finish();
        let analysed = self.seq;
        let (read, written, rejected) = self.totals.unwrap_or((analysed + self.rejects, analysed, self.rejects));
        let pct = |n: u64, d: u64| if d == 0 { 0.0 } else { n as f64 * 100.0 / d as f64 };

        let cat_items = |c: Category| summary.categories.get(&c).map_or(0, |s| s.items);
        let categories: Vec<CategoryRow> = DISPLAY_ORDER
            .iter()
            .map(|&c| CategoryRow {
                key: c.as_str(),
                zh: c.zh(),
                en: en_category(c),
                count: group_digits(cat_items(c)),
                pct: format!("{:.1}", pct(cat_items(c), analysed)),
                color: hex(category_color(c)),
            })
            .collect();

        let category_chart = charts::donut(
            "分类占比 Category shares",
            &DISPLAY_ORDER
                .iter()
                .map(|&c| charts::Slice { zh: c.zh().into(), en: en_category(c).into(), count: cat_items(c), color: category_color(c) })
                .collect::<Vec<_>>(),
            ("条反馈", "items"),
        )?;

        let triaged = analysed - self.untriaged;
        let urgencies: Vec<CountRow> = URGENCY_ORDER
            .iter()
            .map(|&u| CountRow {
                zh: u.zh().to_string(),
                en: u.as_str().to_string(),
                class: u.as_str().to_string(),
                count: group_digits(self.urgency[urgency_index(u)]),
                pct: format!("{:.1}", pct(self.urgency[urgency_index(u)], triaged)),
            })
            .collect();
        let urgency_chart = charts::bars(
            "紧急程度 Items per urgency",
            &URGENCY_ORDER
                .iter()
                .map(|&u| {
                    let n = self.urgency[urgency_index(u)];
                    charts::Bar { zh: u.zh().into(), en: u.as_str().into(), value: n, color: urgency_color(u), note: format!("{:.1}%", pct(n, triaged)) }
                })
                .collect::<Vec<_>>(),
        )?;
        let level_chart = charts::bars(
            "优先级 Items per priority level",
            &LEVEL_ORDER
                .iter()
                .map(|&l| {
                    let n = self.levels[level_index(l)];
                    charts::Bar {
                        zh: format!("{}优先级", l.zh()),
                        en: l.as_str().into(),
                        value: n,
                        color: level_color(l),
                        note: format!("{:.1}%", pct(n, triaged)),
                    }
                })
                .collect::<Vec<_>>(),
        )?;

        let mut depts: Vec<(&String, &[u64; 4])> = self.departments.iter().collect();
        depts.sort_by(|a, b| {
            let ta: u64 = a.1[..3].iter().sum();
            let tb: u64 = b.1[..3].iter().sum();
            tb.cmp(&ta).then(a.0.cmp(b.0))
        });
        let departments: Vec<DepartmentRow> = depts
            .iter()
            .map(|(name, c)| {
                let total: u64 = c[..3].iter().sum();
                DepartmentRow {
                    name: (*name).clone(),
                    total: group_digits(total),
                    pct: format!("{:.1}", pct(total, triaged)),
                    critical: group_digits(c[urgency_index(Urgency::Critical)]),
                    urgent: group_digits(c[urgency_index(Urgency::Urgent)]),
                    normal: group_digits(c[urgency_index(Urgency::Normal)]),
                    high: group_digits(c[3]),
                }
            })
            .collect();
        let department_chart = if depts.is_empty() {
            None
        } else {
            Some(charts::stacked(
                "各部门反馈量（按紧急程度） Items per department by urgency",
                &URGENCY_ORDER.iter().map(|&u| (format!("{} {}", u.zh(), u.as_str()), urgency_color(u))).collect::<Vec<_>>(),
                &depts
                    .iter()
                    .map(|(name, c)| charts::Stack { label: (*name).clone(), values: URGENCY_ORDER.iter().map(|&u| c[urgency_index(u)]).collect() })
                    .collect::<Vec<_>>(),
            )?)
        };

        let period = match (self.first, self.last) {
            (Some(first), Some(last)) => Some(PeriodView {
                from: first.format(),
                to: last.format(),
                days: group_digits((last.day() - first.day() + 1).max(1) as u64),
                dated: group_digits(self.dated),
                undated: group_digits(analysed - self.dated),
                bad: group_digits(self.bad_dates),
            }),
            _ => None,
        };
        let volume_chart = self.volume_chart()?;

        let problem = self.group_table(&summary, Category::Problem, true);
        let suggestion = self.group_table(&summary, Category::Suggestion, false);
        let other_groups: Vec<ChipTable> = [Category::Praise, Category::Enquiry]
            .iter()
            .filter_map(|&c| {
                let cs = summary.categories.get(&c)?;
                let want = if c == Category::Praise { Some(Polarity::Positive) } else { None };
                let chips: Vec<Chip> = cs
                    .top
                    .iter()
                    .filter(|g| want.is_none_or(|p| g.polarity == p))
                    .take(self.opts.other_groups)
                    .map(|g| Chip { phrase: g.text.clone(), count: group_digits(g.count), pct: format!("{:.1}", g.share * 100.0) })
                    .collect();
                (!chips.is_empty()).then(|| ChipTable { zh: c.zh(), en: en_category(c), chips })
            })
            .collect();

        let mut queue: Vec<&QueueEntry> = self.queue.iter().map(|Reverse(e)| e).collect();
        queue.sort_by(|a, b| b.cmp(a));
        let queue: Vec<QueueRow> = queue
            .iter()
            .enumerate()
            .map(|(i, e)| QueueRow {
                rank: i + 1,
                id: e.id.clone(),
                category_zh: e.category.zh(),
                category: e.category.as_str(),
                text: e.text.clone(),
                level: e.level.as_str(),
                level_zh: e.level.zh(),
                score: format!("{:.2}", e.score),
                urgency: e.urgency.as_str(),
                urgency_zh: e.urgency.zh(),
                within: within_label(e.minutes).0,
                within_en: within_label(e.minutes).1,
                due: e.created.filter(|c| c.has_time).map(|c| dates::format_minutes(c.minutes + e.minutes as i64)),
                created: e.created.map(Stamp::format),
                department: e.department.clone(),
                reasons: e.reasons.clone(),
                channel: e.channel.clone(),
                tier: e.tier.clone(),
            })
            .collect();

        let trend = self.trend(&summary, previous)?;
        let mut reasons: Vec<(&String, &u64)> = self.reject_reasons.iter().collect();
        reasons.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let rejects = RejectsView {
            count: group_digits(rejected),
            reasons: reasons.iter().map(|(r, n)| ReasonRow { reason: (*r).clone(), count: group_digits(**n) }).collect(),
            samples: self.reject_samples.clone(),
            more: rejected.saturating_sub(self.reject_samples.len() as u64),
        };

        let critical = self.urgency[urgency_index(Urgency::Critical)];
        let high = self.levels[level_index(Level::High)];
        Ok(View {
            title: "反馈分析报告",
            title_en: "Feedback analysis report",
            generated_at: dates::now_utc(),
            source: self.source.clone(),
            empty: analysed == 0,
            totals: TotalsView {
                read: group_digits(read),
                analysed: group_digits(written),
                rejected: group_digits(rejected),
                rejected_pct: format!("{:.1}", pct(rejected, read)),
                high: group_digits(high),
                critical: group_digits(critical),
                with_keywords_pct: format!("{:.1}", pct(summary.items_with_keywords, analysed)),
                untriaged: self.untriaged,
            },
            period,
            categories,
            charts: ChartsView {
                categories: category_chart,
                urgency: urgency_chart,
                levels: level_chart,
                departments: department_chart,
                volume: volume_chart,
                trend: trend.chart.clone(),
            },
            problem,
            suggestion,
            other_groups,
            queue_size: self.opts.queue,
            queue,
            urgencies,
            departments,
            trend,
            rejects,
        })
    }

    fn volume_chart(&self) -> std::result::Result<Option<String>, Box<dyn std::error::Error>> {
        let (Some(first), Some(last)) = (self.days.keys().next().copied(), self.days.keys().next_back().copied()) else {
            return Ok(None);
        };
        if first == last {
            return Ok(None);
        }
        let span = last - first + 1;
        let bucket = (span + 119) / 120; // at most 120 points
        let mut points: Vec<(i64, u64)> = Vec::new();
        let mut day = first;
        while day <= last {
            let n: u64 = self.days.range(day..day + bucket).map(|(_, n)| n).sum();
            points.push((day, n));
            day += bucket;
        }
        let unit = if bucket == 1 { "每日 per day".to_string() } else { format!("每 {bucket} 天 per {bucket} days") };
        Ok(Some(charts::volume(&format!("反馈量趋势（{unit}） Items over time"), &points, bucket)?))
    }

    fn group_table(&self, summary: &Summary, c: Category, negative_only: bool) -> GroupTable {
        let empty = CategorySummary { items: 0, items_with_keywords: 0, phrases: 0, groups_tracked: 0, evicted: 0, top: Vec::new(), counts: BTreeMap::new() };
        let cs = summary.categories.get(&c).unwrap_or(&empty);
        let notes = self.notes.get(&c);
        let max = cs.top.first().map_or(1, |g| g.count).max(1);
        let groups: Vec<GroupRow> = cs
            .top
            .iter()
            .filter(|g| !negative_only || g.polarity == Polarity::Negative)
            .take(self.opts.top_groups)
            .enumerate()
            .map(|(i, g)| GroupRow {
                rank: i + 1,
                phrase: g.text.clone(),
                group: g.group.clone(),
                polarity: g.polarity.as_str(),
                polarity_zh: if g.polarity == Polarity::Negative { "负面" } else { "正面" },
                count: group_digits(g.count),
                approx: g.error > 0,
                pct: format!("{:.1}", g.share * 100.0),
                bar: format!("{:.1}", g.count as f64 * 100.0 / max as f64),
                examples: examples_for(notes, g),
            })
            .collect();
        GroupTable {
            zh: c.zh(),
            en: en_category(c),
            items: group_digits(cs.items),
            with_keywords: group_digits(cs.items_with_keywords),
            groups_tracked: group_digits(cs.groups_tracked as u64),
            approximate: cs.evicted > 0,
            negative_only,
            groups,
        }
    }

    fn trend(&self, current: &Summary, previous: Option<&Summary>) -> std::result::Result<TrendView, Box<dyn std::error::Error>> {
        let Some(prev) = previous else {
            return Ok(TrendView::unavailable(self.opts.spike_min_count, self.opts.spike_ratio));
        };
        let rate = |n: u64, items: u64| if items == 0 { 0.0 } else { n as f64 / items as f64 };
        let mut rows: Vec<TrendRow> = Vec::new();
        for c in Category::ALL {
            let cur = current.categories.get(&c);
            let old = prev.categories.get(&c);
            let mut keys: HashSet<&String> = HashSet::new();
            keys.extend(cur.iter().flat_map(|s| s.counts.keys()));
            keys.extend(old.iter().flat_map(|s| s.counts.keys()));
            for key in keys {
                let now = cur.and_then(|s| s.counts.get(key)).copied().unwrap_or(0);
                let before = old.and_then(|s| s.counts.get(key)).copied().unwrap_or(0);
                let (r_now, r_before) = (rate(now, current.items), rate(before, prev.items));
                let spike = now >= self.opts.spike_min_count && (before == 0 || r_now >= self.opts.spike_ratio * r_before);
                rows.push(TrendRow {
                    category: c.as_str(),
                    category_zh: c.zh(),
                    phrase: self.phrase_of(c, key, current, prev),
                    polarity: self.polarity_of(c, key, current, prev).map(|p| p.as_str()),
                    group: key.clone(),
                    before: group_digits(before),
                    now: group_digits(now),
                    before_pct: format!("{:.2}", r_before * 100.0),
                    now_pct: format!("{:.2}", r_now * 100.0),
                    change_pp: format!("{:+.2}", (r_now - r_before) * 100.0),
                    ratio: if before == 0 || r_before == 0.0 { "新 new".into() } else { format!("×{:.1}", r_now / r_before) },
                    spike,
                    new: before == 0 && now > 0,
                    gone: now == 0 && before > 0,
                    up: r_now > r_before,
                    delta: r_now - r_before,
                    n_now: now,
                    n_before: before,
                });
            }
        }
        let by_key = |a: &TrendRow, b: &TrendRow| a.category.cmp(b.category).then(a.group.cmp(&b.group));
        let mut new_groups: Vec<TrendRow> = rows.iter().filter(|r| r.new).cloned().collect();
        new_groups.sort_by(|a, b| b.n_now.cmp(&a.n_now).then(by_key(a, b)));
        let mut spikes: Vec<TrendRow> = rows.iter().filter(|r| r.spike).cloned().collect();
        // Complaints first: a spike of a negative phrase is the one to act on.
        let negative_first = |r: &TrendRow| r.polarity != Some("negative");
        spikes.sort_by(|a, b| negative_first(a).cmp(&negative_first(b)).then(b.n_now.cmp(&a.n_now)).then(by_key(a, b)));
        let mut rising: Vec<TrendRow> = rows.iter().filter(|r| !r.new && r.delta > 0.0).cloned().collect();
        rising.sort_by(|a, b| b.delta.total_cmp(&a.delta).then(b.n_now.cmp(&a.n_now)).then(by_key(a, b)));
        let mut falling: Vec<TrendRow> = rows.iter().filter(|r| r.delta < 0.0).cloned().collect();
        falling.sort_by(|a, b| a.delta.total_cmp(&b.delta).then(b.n_before.cmp(&a.n_before)).then(by_key(a, b)));
        let n = self.opts.trend_rows;
        let spike_total = spikes.len();
        let new_total = new_groups.len();
        new_groups.truncate(n);
        spikes.truncate(n);
        rising.truncate(n);
        falling.truncate(n);

        // The chart: the largest rises (new groups included) and falls.
        let mut up: Vec<&TrendRow> = rows.iter().filter(|r| r.delta > 0.0).collect();
        up.sort_by(|a, b| b.delta.total_cmp(&a.delta).then(b.n_now.cmp(&a.n_now)).then(by_key(a, b)));
        let chart_rows: Vec<charts::Change> = up
            .iter()
            .take(8)
            .copied()
            .chain(falling.iter().take(8))
            .map(|r| charts::Change {
                label: format!("{}·{}", r.category_zh, r.phrase),
                change: r.delta * 100.0,
                color: if r.spike {
                    charts::SPIKE
                } else if r.delta > 0.0 {
                    charts::RISE
                } else {
                    charts::FALL
                },
                note: format!("{} pp（{} → {}）", r.change_pp, r.before, r.now),
            })
            .collect();
        let chart = if chart_rows.is_empty() { None } else { Some(charts::diverging("升降最多的分组 Groups that rose or fell most", &chart_rows)?) };
        Ok(TrendView {
            available: true,
            previous_items: group_digits(prev.items),
            current_items: group_digits(current.items),
            previous_approximate: prev.categories.values().any(|c| c.evicted > 0),
            spike_min_count: self.opts.spike_min_count,
            spike_ratio: format!("{}", self.opts.spike_ratio),
            spike_total,
            new_total,
            spikes,
            tables: vec![
                TrendTable {
                    zh: "新出现的分组", en: "New groups (absent before)", class: "new", empty: "没有新出现的分组。No new groups.", rows: new_groups
                },
                TrendTable { zh: "上升最多", en: "Rose most", class: "rising", empty: "没有上升的分组。No group rose.", rows: rising },
                TrendTable { zh: "下降最多", en: "Fell most", class: "falling", empty: "没有下降的分组。No group fell.", rows: falling },
            ],
            chart,
        })
    }

    /// The majority polarity of a group: in this run, else in either summary's top list.
    fn polarity_of(&self, c: Category, key: &str, current: &Summary, prev: &Summary) -> Option<Polarity> {
        if let Some(n) = self.notes.get(&c).and_then(|m| m.get(key)) {
            return Some(if n.positive > n.negative { Polarity::Positive } else { Polarity::Negative });
        }
        let from_top = |s: &Summary| s.categories.get(&c).and_then(|cs| cs.top.iter().find(|g| g.group == key)).map(|g| g.polarity);
        from_top(current).or_else(|| from_top(prev))
    }

    /// How to show a group key: the phrase seen in this run, else the summaries' display text, else the key.
    fn phrase_of(&self, c: Category, key: &str, current: &Summary, prev: &Summary) -> String {
        if let Some(n) = self.notes.get(&c).and_then(|m| m.get(key)) {
            return n.phrase.clone();
        }
        let from_top = |s: &Summary| s.categories.get(&c).and_then(|cs| cs.top.iter().find(|g| g.group == key)).map(|g| g.text.clone());
        from_top(current).or_else(|| from_top(prev)).unwrap_or_else(|| key.replace('|', ""))
    }
}

fn examples_for(notes: Option<&HashMap<String, GroupNotes>>, g: &GroupSummary) -> Vec<Example> {
    let Some(n) = notes.and_then(|m| m.get(&g.group)) else { return Vec::new() };
    // The summary's example ids first (the same items), then any others kept.
    let mut out: Vec<Example> = g.examples.iter().filter_map(|id| n.examples.iter().find(|e| &e.id == id).cloned()).collect();
    for e in &n.examples {
        if !out.iter().any(|o| o.id == e.id) {
            out.push(e.clone());
        }
    }
    out.truncate(n.examples.len().max(1));
    out
}

/// Reads one line of `triage classify` output.
fn parse_analysed(line: &str) -> std::result::Result<(FeedbackRecord, Analysis), String> {
    let value: serde_json::Value = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
    let serde_json::Value::Object(obj) = &value else { return Err("not a JSON object".into()) };
    let analysis = Analysis::deserialize(&value).map_err(|e| format!("not an analysed record: {e}"))?;
    let field = |k: &str| match obj.get(k) {
        Some(serde_json::Value::String(s)) => Some(s.clone()),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let record = FeedbackRecord {
        id: Some(analysis.id.clone()),
        text: String::new(),
        customer_tier: field("customer_tier"),
        customer_value: obj.get("customer_value").and_then(|v| v.as_f64()),
        channel: field("channel"),
        created_at: field("created_at"),
        extra: serde_json::Map::new(),
    };
    Ok((record, analysis))
}

/// Reads a summary written by an earlier run (`Summary` as JSON).
pub fn load_summary(path: &Path) -> Result<Summary> {
    let text = std::fs::read_to_string(path).map_err(|e| io_error(path, e))?;
    serde_json::from_str(&text)
        .map_err(|e| io_error(path, std::io::Error::new(std::io::ErrorKind::InvalidData, format!("not a feedback summary (JSON of summary::Summary): {e}"))))
}

/// `triage report`: the page for an earlier run's output (and rejects).
pub fn report_from_files(input: &Path, rejects: Option<&Path>, previous: Option<&Path>, output: &Path) -> Result<ReportBuilder> {
    let previous = previous.map(load_summary).transpose()?;
    let mut builder = ReportBuilder::new();
    builder.set_source(input.display().to_string());
    builder.read_analysed(input)?;
    if let Some(r) = rejects {
        builder.read_rejects(r)?;
    }
    builder.write(output, previous.as_ref())?;
    Ok(builder)
}

fn io_error(path: &Path, e: std::io::Error) -> Error {
    Error::Io { path: path.to_path_buf(), source: e }
}

fn template_error(e: minijinja::Error) -> Error {
    Error::Io { path: "templates/report.html".into(), source: std::io::Error::other(format!("report template: {e:#}")) }
}

fn chart_error(e: Box<dyn std::error::Error>) -> Error {
    Error::Io { path: "<report chart>".into(), source: std::io::Error::other(format!("report chart: {e}")) }
}

/// The first `limit` characters of `s` (with an ellipsis when cut).
fn cut_plain(s: &str, limit: usize) -> String {
    let mut it = s.char_indices();
    match it.nth(limit) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// Groups reject reasons: the part before the first colon (`not JSON: …` → `not JSON`).
fn reason_key(reason: &str) -> String {
    let head = reason.split(':').next().unwrap_or(reason).trim();
    cut_plain(if head.is_empty() { "unknown" } else { head }, 60)
}

/// `60` → ("1 小时内", "within 1 h").
fn within_label(minutes: u32) -> (String, String) {
    if minutes == 0 {
        ("立即".into(), "now".into())
    } else if minutes.is_multiple_of(1440) {
        (format!("{} 天内", minutes / 1440), format!("within {} d", minutes / 1440))
    } else if minutes.is_multiple_of(60) {
        (format!("{} 小时内", minutes / 60), format!("within {} h", minutes / 60))
    } else {
        (format!("{minutes} 分钟内"), format!("within {minutes} min"))
    }
}

const DISPLAY_ORDER: [Category; 4] = [Category::Problem, Category::Suggestion, Category::Enquiry, Category::Praise];
const URGENCY_ORDER: [Urgency; 3] = [Urgency::Critical, Urgency::Urgent, Urgency::Normal];
const LEVEL_ORDER: [Level; 3] = [Level::High, Level::Medium, Level::Low];

fn urgency_index(u: Urgency) -> usize {
    match u {
        Urgency::Normal => 0,
        Urgency::Urgent => 1,
        Urgency::Critical => 2,
    }
}

fn level_index(l: Level) -> usize {
    match l {
        Level::High => 0,
        Level::Medium => 1,
        Level::Low => 2,
    }
}

fn en_category(c: Category) -> &'static str {
    match c {
        Category::Praise => "Praise",
        Category::Suggestion => "Suggestion",
        Category::Problem => "Problem",
        Category::Enquiry => "Enquiry",
    }
}

fn category_color(c: Category) -> RGBColor {
    match c {
        Category::Problem => RGBColor(0xdc, 0x26, 0x26),
        Category::Suggestion => RGBColor(0xd9, 0x77, 0x06),
        Category::Enquiry => RGBColor(0x25, 0x63, 0xeb),
        Category::Praise => RGBColor(0x16, 0xa3, 0x4a),
    }
}

fn urgency_color(u: Urgency) -> RGBColor {
    match u {
        Urgency::Critical => RGBColor(0x99, 0x1b, 0x1b),
        Urgency::Urgent => RGBColor(0xea, 0x58, 0x0c),
        Urgency::Normal => RGBColor(0x94, 0xa3, 0xb8),
    }
}

fn level_color(l: Level) -> RGBColor {
    match l {
        Level::High => RGBColor(0xdc, 0x26, 0x26),
        Level::Medium => RGBColor(0xf5, 0x9e, 0x0b),
        Level::Low => RGBColor(0x9c, 0xa3, 0xaf),
    }
}

fn hex(c: RGBColor) -> String {
    format!("#{:02x}{:02x}{:02x}", c.0, c.1, c.2)
}

// ── The template's view ─────────────────────────────────────────────────────────

#[derive(Serialize)]
struct View {
    title: &'static str,
    title_en: &'static str,
    generated_at: String,
    source: Option<String>,
    empty: bool,
    totals: TotalsView,
    period: Option<PeriodView>,
    categories: Vec<CategoryRow>,
    charts: ChartsView,
    problem: GroupTable,
    suggestion: GroupTable,
    other_groups: Vec<ChipTable>,
    queue_size: usize,
    queue: Vec<QueueRow>,
    urgencies: Vec<CountRow>,
    departments: Vec<DepartmentRow>,
    trend: TrendView,
    rejects: RejectsView,
}

#[derive(Serialize)]
struct TotalsView {
    read: String,
    analysed: String,
    rejected: String,
    rejected_pct: String,
    high: String,
    critical: String,
    with_keywords_pct: String,
    untriaged: u64,
}

#[derive(Serialize)]
struct PeriodView {
    from: String,
    to: String,
    days: String,
    dated: String,
    undated: String,
    bad: String,
}

#[derive(Serialize)]
struct CategoryRow {
    key: &'static str,
    zh: &'static str,
    en: &'static str,
    count: String,
    pct: String,
    color: String,
}

#[derive(Serialize)]
struct ChartsView {
    categories: String,
    urgency: String,
    levels: String,
    departments: Option<String>,
    volume: Option<String>,
    trend: Option<String>,
}

#[derive(Serialize)]
struct GroupTable {
    zh: &'static str,
    en: &'static str,
    items: String,
    with_keywords: String,
    groups_tracked: String,
    approximate: bool,
    negative_only: bool,
    groups: Vec<GroupRow>,
}

#[derive(Serialize)]
struct GroupRow {
    rank: usize,
    phrase: String,
    group: String,
    polarity: &'static str,
    polarity_zh: &'static str,
    count: String,
    approx: bool,
    pct: String,
    bar: String,
    examples: Vec<Example>,
}

#[derive(Serialize)]
struct ChipTable {
    zh: &'static str,
    en: &'static str,
    chips: Vec<Chip>,
}

#[derive(Serialize)]
struct Chip {
    phrase: String,
    count: String,
    pct: String,
}

#[derive(Serialize)]
struct QueueRow {
    rank: usize,
    id: String,
    category: &'static str,
    category_zh: &'static str,
    text: String,
    level: &'static str,
    level_zh: &'static str,
    score: String,
    urgency: &'static str,
    urgency_zh: &'static str,
    within: String,
    within_en: String,
    due: Option<String>,
    created: Option<String>,
    department: String,
    reasons: Vec<String>,
    channel: Option<String>,
    tier: Option<String>,
}

#[derive(Serialize)]
struct CountRow {
    zh: String,
    en: String,
    class: String,
    count: String,
    pct: String,
}

#[derive(Serialize)]
struct DepartmentRow {
    name: String,
    total: String,
    pct: String,
    critical: String,
    urgent: String,
    normal: String,
    high: String,
}

#[derive(Serialize, Clone)]
struct TrendRow {
    category: &'static str,
    category_zh: &'static str,
    phrase: String,
    polarity: Option<&'static str>,
    group: String,
    before: String,
    now: String,
    before_pct: String,
    now_pct: String,
    change_pp: String,
    ratio: String,
    spike: bool,
    new: bool,
    gone: bool,
    up: bool,
    #[serde(skip)]
    delta: f64,
    #[serde(skip)]
    n_now: u64,
    #[serde(skip)]
    n_before: u64,
}

#[derive(Serialize)]
struct TrendView {
    available: bool,
    previous_items: String,
    current_items: String,
    previous_approximate: bool,
    spike_min_count: u64,
    spike_ratio: String,
    spike_total: usize,
    new_total: usize,
    spikes: Vec<TrendRow>,
    tables: Vec<TrendTable>,
    #[serde(skip)]
    chart: Option<String>,
}

#[derive(Serialize)]
struct TrendTable {
    zh: &'static str,
    en: &'static str,
    class: &'static str,
    empty: &'static str,
    rows: Vec<TrendRow>,
}

impl TrendView {
    fn unavailable(spike_min_count: u64, spike_ratio: f64) -> Self {
        TrendView {
            available: false,
            previous_items: String::new(),
            current_items: String::new(),
            previous_approximate: false,
            spike_min_count,
            spike_ratio: format!("{spike_ratio}"),
            spike_total: 0,
            new_total: 0,
            spikes: Vec::new(),
            tables: Vec::new(),
            chart: None,
        }
    }
}

#[derive(Serialize, Clone, Debug)]
struct RejectRow {
    file: String,
    line: u64,
    reason: String,
    raw: String,
}

#[derive(Serialize)]
struct ReasonRow {
    reason: String,
    count: String,
}

#[derive(Serialize)]
struct RejectsView {
    count: String,
    reasons: Vec<ReasonRow>,
    samples: Vec<RejectRow>,
    more: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kw(text: &str, start: usize, end: usize) -> Keyword {
        Keyword { text: text.into(), aspect: String::new(), opinion: String::new(), polarity: Polarity::Negative, start, end, group: "g".into() }
    }

    #[test]
    fn examples_are_cut_around_the_phrase() {
        let text = format!("{}物流太慢了{}", "前".repeat(100), "后".repeat(100));
        let e = Example::cut("1", &text, &kw("物流慢", 100, 105), 30);
        assert_eq!(e.hit, "物流太慢了");
        assert!(e.before.starts_with('…') && e.after.ends_with('…'));
        let shown = e.before.chars().count() + e.hit.chars().count() + e.after.chars().count();
        assert!(shown <= 32, "{e:?}");
        let short = Example::cut("1", "物流太慢了", &kw("物流慢", 0, 5), 30);
        assert_eq!((short.before.as_str(), short.hit.as_str(), short.after.as_str()), ("", "物流太慢了", ""));
        let bad = Example::cut("1", "短", &kw("x", 5, 9), 30);
        assert_eq!(bad.after, "短");
    }

    fn item(i: u64, groups: u64) -> (FeedbackRecord, Analysis) {
        let g = i % groups;
        let mut k = kw(&format!("部件{g}坏"), 0, 3);
        k.group = format!("部件{g}|坏");
        let a = Analysis {
            id: format!("x{i}"),
            text: format!("部件{g}坏了，第{i}条"),
            category: Category::Problem,
            category_zh: "问题".into(),
            confidence: 1.0,
            scores: BTreeMap::new(),
            labels: vec![Category::Problem],
            keywords: vec![k],
            topics: vec![],
            triage: Some(crate::priority::Triage {
                priority: crate::priority::Priority { score: (i % 101) as f64, level: Level::Low, impact: 1.0, value: 1.0, cost: 1.0, reasons: vec![] },
                urgency: Urgency::Normal,
                urgency_zh: "一般".into(),
                respond_within_minutes: 60,
                department: format!("d{}", i % 100),
            }),
            assessment: None,
        };
        (FeedbackRecord { created_at: Some(format!("{}", 1_700_000_000 + i * 86_400)), ..Default::default() }, a)
    }

    #[test]
    fn state_stays_bounded() {
        let opts = ReportOptions { max_groups: 50, queue: 5, max_departments: 8, reject_samples: 2, max_reject_reasons: 3, ..Default::default() };
        let mut b = ReportBuilder::with_options(opts);
        for i in 0..20_000 {
            let (r, a) = item(i, 5_000);
            b.add(&r, &a);
        }
        for i in 0..100 {
            b.add_reject(&Reject { file: "f".into(), line: i, reason: format!("reason {i}: detail"), raw: "x".repeat(500) });
        }
        let groups = &b.notes[&Category::Problem];
        assert!(groups.len() <= 100, "{} groups of notes", groups.len());
        assert!(groups.values().all(|n| n.examples.len() <= 3));
        assert_eq!(b.queue.len(), 5);
        let mut scores: Vec<f64> = b.queue.iter().map(|Reverse(e)| e.score).collect();
        scores.sort_by(f64::total_cmp);
        assert_eq!(scores, vec![100.0; 5]);
        // The earliest items with the top score are kept.
        let mut seqs: Vec<u64> = b.queue.iter().map(|Reverse(e)| e.seq).collect();
        seqs.sort();
        assert_eq!(seqs, vec![101, 202, 303, 404, 505]);
        assert!(b.departments.len() <= 9);
        assert!(b.reject_reasons.len() <= 4 && b.reject_samples.len() == 2);
        assert!(b.reject_samples.iter().all(|r| r.raw.chars().count() <= 101));
        assert!(b.days.len() <= MAX_DAYS);
        let html = b.render(None).unwrap();
        assert!(html.contains("20,000"));
    }

    #[test]
    fn labels() {
        let w = |m| {
            let (zh, en) = within_label(m);
            format!("{zh} {en}")
        };
        assert_eq!(w(60), "1 小时内 within 1 h");
        assert_eq!(w(15), "15 分钟内 within 15 min");
        assert_eq!(w(1440), "1 天内 within 1 d");
        assert_eq!(reason_key("not JSON: expected value"), "not JSON");
        assert_eq!(cut_plain("一二三四", 2), "一二…");
        assert_eq!(cut_plain("一二", 2), "一二");
    }
}
