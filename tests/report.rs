//! The analysis report (issue 6): empty input, a single item, a run with
//! rejects, trends with and without a previous summary, `triage report` on an
//! earlier run's output, bounded size for a large run, and a page that loads
//! nothing. The rendering in a real browser is in `report_browser.rs`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use feedback_triage::category::Category;
use feedback_triage::keywords::{Keyword, Polarity};
use feedback_triage::priority::{Level, Priority, Triage, Urgency};
use feedback_triage::report::{load_summary, ReportBuilder};
use feedback_triage::{Analysis, FeedbackRecord};
use serde_json::{json, Value};

fn triage() -> Command {
    Command::new(env!("CARGO_BIN_EXE_triage"))
}

fn write_jsonl(dir: &Path, name: &str, rows: &[Value]) -> PathBuf {
    let path = dir.join(name);
    let text: String = rows.iter().map(|r| format!("{r}\n")).collect();
    std::fs::write(&path, text).unwrap();
    path
}

fn item(id: String, text: &str, day: u32, hour: u32) -> Value {
    json!({"id": id, "text": text, "channel": "app", "created_at": format!("2024-05-{day:02} {hour:02}:15:00")})
}

/// Repeats `text` `n` times with ids `prefix-k`, spread over three days.
fn many(prefix: &str, text: &str, n: usize) -> Vec<Value> {
    (0..n).map(|k| item(format!("{prefix}-{k}"), text, 1 + (k % 3) as u32, 8 + (k % 10) as u32)).collect()
}

/// The earlier period: slow delivery is a minor issue, rude service a big one.
fn previous_items() -> Vec<Value> {
    [
        many("p-wl", "物流太慢了，等了一个星期才到", 3),
        many("p-kf", "客服态度很差，问什么都不理", 8),
        many("p-jg", "价格太贵了，性价比不高", 4),
        many("p-zan", "房间很干净，服务很好", 6),
        many("p-q", "请问怎么开发票？", 3),
    ]
    .concat()
}

/// This period: slow delivery spikes, broken screens appear, rude service falls.
fn current_items() -> Vec<Value> {
    [
        many("c-wl", "快递太慢了，催了好几次", 12),
        many("c-pm", "屏幕碎了，收到就是坏的", 6),
        many("c-kf", "客服态度很差，问什么都不理", 1),
        many("c-jg", "价格太贵了，性价比不高", 4),
        many("c-zan", "房间很干净，服务很好", 6),
        many("c-q", "请问怎么开发票？", 3),
    ]
    .concat()
}

/// A fixed analysis per sample text, so the report's logic is tested
/// independently of the model and lexicons (the CLI tests below run the real
/// pipeline).
fn fake_analysis(id: &str, text: &str) -> Analysis {
    let neg = Polarity::Negative;
    let pos = Polarity::Positive;
    #[allow(clippy::type_complexity)]
    let (category, kws, level, urgency, minutes, department, score): (Category, &[(&str, &str, Polarity, usize, usize)], Level, Urgency, u32, &str, f64) =
        match text {
            "物流太慢了，等了一个星期才到" => {
                (Category::Problem, &[("物流|慢", "物流慢", neg, 0, 5)], Level::Medium, Urgency::Normal, 60, "物流部", 6.0)
            }
            "快递太慢了，催了好几次" => (Category::Problem, &[("物流|慢", "快递慢", neg, 0, 4)], Level::Medium, Urgency::Normal, 60, "物流部", 6.0),
            "客服态度很差，问什么都不理" => {
                (Category::Problem, &[("客服|差", "客服差", neg, 0, 6)], Level::Medium, Urgency::Urgent, 15, "客服部", 7.0)
            }
            "价格太贵了，性价比不高" => (
                Category::Problem,
                &[("价格|贵", "价格贵", neg, 0, 5), ("性价比|不高", "性价比不高", neg, 6, 11)],
                Level::Low,
                Urgency::Normal,
                60,
                "客服部",
                3.0,
            ),
            "屏幕碎了，收到就是坏的" => (Category::Problem, &[("屏幕|碎", "屏幕碎", neg, 0, 3)], Level::High, Urgency::Critical, 5, "售后部", 9.0),
            "房间很干净，服务很好" => {
                (Category::Praise, &[("房间|干净", "房间干净", pos, 0, 5), ("服务|好", "服务好", pos, 6, 10)], Level::Low, Urgency::Normal, 1440, "客服部", 0.5)
            }
            "请问怎么开发票？" => (Category::Enquiry, &[], Level::Low, Urgency::Normal, 60, "客服部", 1.0),
            other => panic!("no fake analysis for {other}"),
        };
    Analysis {
        id: id.into(),
        text: text.into(),
        category,
        category_zh: category.zh().into(),
        confidence: 0.9,
        scores: BTreeMap::new(),
        labels: vec![category],
        keywords: kws
            .iter()
            .map(|&(group, phrase, polarity, start, end)| Keyword {
                text: phrase.into(),
                aspect: group.split('|').next().unwrap().into(),
                opinion: group.split('|').nth(1).unwrap().into(),
                polarity,
                start,
                end,
                group: group.into(),
            })
            .collect(),
        topics: vec![],
        triage: Some(Triage {
            priority: Priority { score, level, impact: 1.0, value: 1.0, cost: 1.0, reasons: vec![format!("{department}负责 routed to {department}")] },
            urgency,
            urgency_zh: urgency.zh().into(),
            respond_within_minutes: minutes,
            department: department.into(),
        }),
        assessment: None,
    }
}

fn build(rows: &[Value]) -> ReportBuilder {
    let mut b = ReportBuilder::new();
    for row in rows {
        let record: FeedbackRecord = serde_json::from_value(row.clone()).unwrap();
        let analysis = fake_analysis(record.id.as_deref().unwrap(), &record.text);
        b.add(&record, &analysis);
    }
    b
}

/// Reads `triage classify` output.
fn read_output(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// The part of the page from `<section … id="ID"` to its `</section>`.
fn section<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html.find(&format!("id=\"{id}\"")).unwrap_or_else(|| panic!("no section #{id}"));
    let end = html[start..].find("</section>").map_or(html.len(), |e| start + e);
    &html[start..end]
}

/// The table row containing `needle` after the first occurrence of `after`.
fn row<'a>(html: &'a str, after: &str, needle: &str) -> Option<&'a str> {
    let from = html.find(after)?;
    let at = from + html[from..].find(needle)?;
    let start = html[..at].rfind("<tr")?;
    let end = at + html[at..].find("</tr>")?;
    Some(&html[start..end])
}

/// The value of the overview card labelled `label`.
fn kpi(html: &str, label: &str) -> String {
    let at = html.find(&format!("<div class=\"label\">{label}</div>")).unwrap_or_else(|| panic!("no card {label}"));
    let rest = &html[at..];
    let v = rest.find("<div class=\"value\">").unwrap() + "<div class=\"value\">".len();
    rest[v..v + rest[v..].find("</div>").unwrap()].to_string()
}

/// The page names no web address and loads nothing.
fn assert_self_contained(html: &str) {
    let lower = html.to_ascii_lowercase();
    for bad in ["<script", "<link", "@import", "url(", "src=", "<iframe", "<object", "<embed", "http://", "https://"] {
        assert!(!lower.contains(bad), "report contains {bad:?}");
    }
    assert!(html.contains("http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'"));
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.trim_end().ends_with("</html>"));
}

#[test]
fn empty_input_gives_a_report_that_says_so() {
    let html = ReportBuilder::new().render(None).unwrap();
    assert!(html.contains("本次没有可分析的反馈"), "no empty notice");
    assert!(html.contains("No feedback items were analysed"));
    assert!(html.contains("the input was empty"));
    assert!(!html.contains("id=\"queue\""), "an empty report has no queue");
    assert!(section(&html, "trend").contains("No previous summary was given"));
    assert!(section(&html, "rejects").contains("No rows were rejected"));
    assert_self_contained(&html);

    // The same through the CLI, from an empty file.
    let dir = tempfile::tempdir().unwrap();
    let input = write_jsonl(dir.path(), "empty.jsonl", &[]);
    let out = dir.path().join("out.jsonl");
    let report = dir.path().join("report.html");
    let st = triage().args(["classify", "-q", "--input"]).arg(&input).arg("--output").arg(&out).arg("--report").arg(&report).status().unwrap();
    assert!(st.success());
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(html.contains("本次没有可分析的反馈"));
    assert!(html.contains("<div class=\"value\">0</div>"));
}

#[test]
fn single_item_report() {
    let dir = tempfile::tempdir().unwrap();
    let input = write_jsonl(
        dir.path(),
        "one.jsonl",
        &[
            json!({"id": "one-1", "text": "快递太慢了，催了好几次，电话13812345678也没人接", "customer_tier": "vip", "channel": "hotline", "created_at": "2024-05-02T09:30:00+08:00"}),
        ],
    );
    let out = dir.path().join("out.jsonl");
    let report = dir.path().join("report.html");
    let st = triage().args(["classify", "-q", "--input"]).arg(&input).arg("--output").arg(&out).arg("--report").arg(&report).status().unwrap();
    assert!(st.success());
    let html = std::fs::read_to_string(&report).unwrap();
    assert_self_contained(&html);
    assert!(!html.contains("本次没有可分析的反馈"));
    assert!(!html.contains("13812345678"), "personal data must be masked");
    // Totals: 1 read, 1 analysed, 0 rejected.
    assert_eq!(kpi(&html, "读取 Items read"), "1");
    assert_eq!(kpi(&html, "已分析 Analysed"), "1");
    assert_eq!(kpi(&html, "拒收 Rejected"), "0");
    // Period from created_at.
    assert!(html.contains("2024-05-02 09:30 — 2024-05-02 09:30"));
    // The item is the whole queue, with its deadline counted from created_at.
    let analysed = &read_output(&out)[0];
    let queue = section(&html, "queue");
    assert_eq!(queue.matches("<td class=\"rank\">").count(), 1);
    assert!(queue.contains("#one-1"));
    assert!(queue.contains("138****5678"), "the masked text is shown");
    assert!(queue.contains("截止 due 2024-05-02"));
    assert!(queue.contains(&format!("<td>{}</td>", analysed["department"].as_str().unwrap())));
    // Its category is the whole share, and its first phrase a listed group with the example.
    let category = analysed["category"].as_str().unwrap();
    assert!(section(&html, "categories").contains(&format!("cat-{category}\"></span>")));
    assert!(section(&html, "categories").contains("<td class=\"num\">100.0%</td>"));
    if let (Some(kw), "problem") = (analysed["keywords"].get(0), category) {
        let problems = section(&html, "problems");
        assert!(problems.contains(kw["group"].as_str().unwrap()), "{problems}");
        assert!(problems.contains("<mark>"), "the phrase is highlighted in its example");
    }
    // Charts: categories, urgency, level, department (no volume chart for one day).
    assert!(html.matches("<svg class=\"chart\"").count() >= 4);
}

#[test]
fn run_with_rejects() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("mixed.jsonl");
    std::fs::write(
        &input,
        [
            r#"{"id": "ok-1", "text": "屏幕碎了，收到就是坏的"}"#,
            r#"{"id": "bad-1", "text": "#,
            r#"{"id": "bad-2", "text": ""}"#,
            r#"{"id": "bad-3", "note": "电话 13812345678"}"#,
            r#"{"id": "ok-2", "text": "房间很干净，服务很好"}"#,
        ]
        .join("\n"),
    )
    .unwrap();
    let out = dir.path().join("out.jsonl");
    let rejects = dir.path().join("rejects.jsonl");
    let report = dir.path().join("report.html");
    let st = triage()
        .args(["classify", "-q", "--input"])
        .arg(&input)
        .arg("--output")
        .arg(&out)
        .arg("--rejects")
        .arg(&rejects)
        .arg("--report")
        .arg(&report)
        .status()
        .unwrap();
    assert!(st.success());
    let html = std::fs::read_to_string(&report).unwrap();
    assert_self_contained(&html);
    assert!(!html.contains("13812345678"), "rejected rows are masked too");
    let overview = section(&html, "overview");
    for (label, n) in [("读取 Items read", "5"), ("已分析 Analysed", "2"), ("拒收 Rejected", "3")] {
        assert_eq!(kpi(&html, label), n, "{label}");
    }
    let rej = section(&html, "rejects");
    assert!(rej.contains("3 rows could not be processed"));
    for reason in ["not JSON", "empty text", "missing `text` field"] {
        assert!(rej.contains(reason), "reason {reason} missing: {rej}");
    }
    assert!(rej.contains("mixed.jsonl:2"));

    // `triage report` on that output and rejects file shows the same totals.
    let again = dir.path().join("again.html");
    let st = triage().args(["report", "--input"]).arg(&out).arg("--rejects").arg(&rejects).arg("--output").arg(&again).status().unwrap();
    assert!(st.success());
    let html2 = std::fs::read_to_string(&again).unwrap();
    assert_eq!(section(&html2, "overview"), overview);
    assert_eq!(section(&html2, "queue"), section(&html, "queue"));
    assert_eq!(section(&html2, "problems"), section(&html, "problems"));
}

#[test]
fn trend_without_previous() {
    let html = build(&current_items()).render(None).unwrap();
    let trend = section(&html, "trend");
    assert!(trend.contains("未提供上期汇总"));
    assert!(trend.contains("No previous summary was given"));
    assert!(!trend.contains("<table"));
    assert!(!html.contains("flag flag-spike"));
    assert!(!html.contains("突增 Spikes"));
}

#[test]
fn trend_with_previous_flags_rises_falls_new_groups_and_spikes() {
    let previous = build(&previous_items()).summary();
    let html = build(&current_items()).render(Some(&previous)).unwrap();
    assert_self_contained(&html);
    let trend = section(&html, "trend");
    assert!(!trend.contains("No previous summary"));
    assert!(trend.contains("Compared with the previous run (24 items; this run 32)"), "{trend}");

    // New and absent before: broken screens, 6 items ≥ the minimum of 5 → spike.
    let new = row(trend, "class=\"trend new\"", "屏幕|碎").expect("屏幕碎 listed as new");
    assert!(new.contains("flag flag-new") && new.contains("flag flag-spike"), "{new}");
    // Slow delivery rose from 3/24 to 12/32 of items (×3.0) → a spike, not new.
    let rose = row(trend, "class=\"trend rising\"", "物流|慢").expect("物流慢 listed as rising");
    assert!(rose.contains("flag flag-spike") && !rose.contains("flag flag-new"), "{rose}");
    assert!(rose.contains("×3.0"), "{rose}");
    // Price complaints: the same count in a bigger run is a small fall, no spike.
    let price = row(trend, "class=\"trend falling\"", "价格|贵").expect("价格贵 listed as falling");
    assert!(!price.contains("flag flag-spike"));
    // Rude service fell most.
    let fell = row(trend, "class=\"trend falling\"", "客服|差").expect("客服差 listed as falling");
    assert!(fell.contains("<td class=\"num\">8</td><td class=\"num\">1</td>"), "{fell}");
    let falling_table = &trend[trend.find("class=\"trend falling\"").unwrap()..];
    assert!(falling_table.find("客服|差").unwrap() < falling_table.find("价格|贵").unwrap(), "the largest fall comes first");
    // The spike callout and the chart.
    assert!(trend.contains("突增 Spikes（2）"), "{trend}");
    assert!(trend.contains("<svg class=\"chart\""));
    assert!(section(&html, "overview").contains("突增 Spikes"));

    // A previous run with the same items shows no spike and nothing new.
    let same = build(&current_items());
    let html = same.render(Some(&same.summary())).unwrap();
    let trend = section(&html, "trend");
    assert!(!trend.contains("flag flag-spike") && !trend.contains("flag flag-new"));
    assert!(trend.contains("No new groups."));
    assert!(trend.contains("No group rose."));
}

#[test]
fn previous_summary_through_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let prev_json = dir.path().join("previous-summary.json");
    std::fs::write(&prev_json, serde_json::to_string_pretty(&build(&previous_items()).summary()).unwrap()).unwrap();
    assert_eq!(load_summary(&prev_json).unwrap().items, 24);
    let input = write_jsonl(dir.path(), "today.jsonl", &current_items());
    let out = dir.path().join("out.jsonl");

    // classify --report --previous
    let report = dir.path().join("report.html");
    let st = triage()
        .args(["classify", "-q", "--input"])
        .arg(&input)
        .arg("--output")
        .arg(&out)
        .arg("--report")
        .arg(&report)
        .arg("--previous")
        .arg(&prev_json)
        .status()
        .unwrap();
    assert!(st.success());
    let html = std::fs::read_to_string(&report).unwrap();
    let trend = section(&html, "trend");
    assert!(trend.contains("Compared with the previous run (24 items; this run 32)"), "{trend}");
    // The six broken-screen items report a group absent before: new, and a spike.
    let screen = read_output(&out).into_iter().find(|o| o["id"] == "c-pm-0").unwrap();
    if let Some(kw) = screen["keywords"].get(0) {
        let group = kw["group"].as_str().unwrap();
        let r = row(trend, "class=\"trend new\"", &format!("<span class=\"key\">{group}</span>")).expect("new group listed");
        assert!(r.contains("flag flag-spike"), "{r}");
    }

    // triage report --input OUT --previous
    let later = dir.path().join("later.html");
    let st = triage().args(["report", "--input"]).arg(&out).arg("--output").arg(&later).arg("--previous").arg(&prev_json).status().unwrap();
    assert!(st.success());
    let html2 = std::fs::read_to_string(&later).unwrap();
    assert_eq!(section(&html2, "trend"), section(&html, "trend"));

    // A file that is not a summary is a clear error, and no report is written.
    let bad = write_jsonl(dir.path(), "bad.json", &[json!({"hello": 1})]);
    let none = dir.path().join("none.html");
    let o = triage().args(["report", "--input"]).arg(&out).arg("--output").arg(&none).arg("--previous").arg(&bad).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not a feedback summary"));
    assert!(!none.exists());
    // --previous needs --report on classify.
    let o = triage().args(["classify", "-q", "--input"]).arg(&input).arg("--output").arg(&out).arg("--previous").arg(&prev_json).output().unwrap();
    assert!(!o.status.success());
}

#[test]
fn period_volume_chart_and_sections() {
    let html = build(&current_items()).render(None).unwrap();
    assert!(html.contains("2024-05-01 08:15 — 2024-05-03 16:15（3 天 days）"), "period missing");
    assert!(html.contains("aria-label=\"反馈量趋势（每日 per day） Items over time\""));
    // Category shares: problem 12 + 6 + 1 + 4 = 23 of 32.
    let cats = section(&html, "categories");
    assert!(cats.contains("问题<span class=\"en\">Problem</span></td><td class=\"num\">23</td><td class=\"num\">71.9%</td>"), "{cats}");
    // Problem groups with counts, shares and at most three examples each.
    let problems = section(&html, "problems");
    let wl = row(problems, "<tbody>", "物流|慢").unwrap();
    assert!(wl.contains("<td class=\"num\">12</td>") && wl.contains("52.2%"), "{wl}");
    assert_eq!(wl.matches("<li>").count(), 1, "identical texts are shown once: {wl}");
    assert!(problems.find("物流|慢").unwrap() < problems.find("屏幕|碎").unwrap());
    // Positive phrases are not problem groups.
    assert!(!problems.contains("房间|干净"));
    assert!(section(&html, "others").contains("房间干净"));
    // Departments and urgency tables.
    let routing = section(&html, "routing");
    for dept in ["物流部", "售后部", "客服部"] {
        assert!(routing.contains(&format!("<td>{dept}</td>")), "{dept}");
    }
    assert!(routing.contains("特急 critical") && routing.contains("一般 normal"));
}

fn synthetic(i: u64, groups: u64) -> (FeedbackRecord, Analysis) {
    let g = i % groups;
    let text = format!("第{g}号问题：{}，订单{i}。", "这个东西质量实在太差了，客服也不回复".repeat(8));
    let kw = Keyword {
        text: format!("部件{g}坏"),
        aspect: format!("部件{g}"),
        opinion: "坏".into(),
        polarity: Polarity::Negative,
        start: 0,
        end: 4,
        group: format!("部件{g}|坏"),
    };
    let category = if i.is_multiple_of(5) { Category::Suggestion } else { Category::Problem };
    let score = (i % 997) as f64 / 100.0;
    let analysis = Analysis {
        id: format!("x-{i}"),
        text,
        category,
        category_zh: category.zh().into(),
        confidence: 0.9,
        scores: BTreeMap::new(),
        labels: vec![category],
        keywords: vec![kw],
        topics: vec![],
        triage: Some(Triage {
            priority: Priority {
                score,
                level: if score > 8.0 { Level::High } else { Level::Low },
                impact: 1.0,
                value: 1.0,
                cost: 1.0,
                reasons: vec!["很多客户反馈 many customers report this".into(), "质量问题 quality".into()],
            },
            urgency: if i.is_multiple_of(7) { Urgency::Urgent } else { Urgency::Normal },
            urgency_zh: "一般".into(),
            respond_within_minutes: 60,
            department: format!("部门{}", i % 50),
        }),
        assessment: None,
    };
    let record =
        FeedbackRecord { id: Some(analysis.id.clone()), created_at: Some(format!("2024-{:02}-{:02} 10:00", 1 + i % 12, 1 + i % 28)), ..Default::default() };
    (record, analysis)
}

#[test]
fn report_of_300k_items_stays_a_few_hundred_kb() {
    let mut b = ReportBuilder::new();
    for i in 0..300_000u64 {
        let (r, a) = synthetic(i, 40_000);
        b.add(&r, &a);
    }
    let previous = {
        let mut p = ReportBuilder::new();
        for i in 0..50_000u64 {
            let (r, a) = synthetic(i * 7, 20_000);
            p.add(&r, &a);
        }
        p.summary()
    };
    let html = b.render(Some(&previous)).unwrap();
    assert!(html.len() < 400_000, "report of 300,000 items is {} bytes", html.len());
    assert!(html.contains("300,000"));
    assert_eq!(section(&html, "queue").matches("<td class=\"rank\">").count(), 30);
    // The highest score first (9.96, from the earliest item with it).
    assert!(section(&html, "queue").contains("<td class=\"num\">9.96</td>"));
    // 50 departments, capped at 32 with the rest counted under 其他.
    assert!(section(&html, "routing").contains("<td>其他</td>"));
    assert_self_contained(&html);
}
