//! Priority stage (issue 4): each factor moves the score the right way, config
//! overrides and errors, the rolling issue counter under concurrent use, and the
//! example batch end to end.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use feedback_triage::category::Category;
use feedback_triage::keywords::Keyword;
use feedback_triage::normalize::Normalizer;
use feedback_triage::priority::{Assessment, IssueCounter, Level, PriorityInput, PriorityScorer, Triage, Urgency};
use feedback_triage::{Error, FeedbackRecord, Pipeline};

fn scorer() -> PriorityScorer {
    PriorityScorer::embedded().expect("embedded priority config")
}

fn norm(text: &str) -> String {
    Normalizer::embedded().unwrap().normalize(text).text
}

struct Item<'a> {
    text: &'a str,
    category: Category,
    tier: Option<&'a str>,
    spend: Option<f64>,
    keywords: Vec<Keyword>,
}

fn item(text: &str, category: Category) -> Item<'_> {
    Item { text, category, tier: None, spend: None, keywords: Vec::new() }
}

impl Item<'_> {
    fn tier(mut self, t: &'static str) -> Self {
        self.tier = Some(t);
        self
    }
    fn spend(mut self, s: f64) -> Self {
        self.spend = Some(s);
        self
    }
}

fn assess(s: &PriorityScorer, it: &Item<'_>) -> Assessment {
    let text = norm(it.text);
    let labels = [it.category];
    s.assess(&PriorityInput { category: it.category, labels: &labels, text: &text, keywords: &it.keywords, customer_tier: it.tier, customer_value: it.spend })
}

fn triage(s: &PriorityScorer, it: &Item<'_>, scope: u32) -> Triage {
    s.score(&assess(s, it), scope)
}

fn score(s: &PriorityScorer, it: &Item<'_>, scope: u32) -> f64 {
    triage(s, it, scope).priority.score
}

fn key(s: &PriorityScorer, text: &str) -> Option<String> {
    assess(s, &item(text, Category::Problem)).issue_key
}

fn keyword(text: &str, group: &str) -> Keyword {
    let (aspect, opinion) = text.split_at(text.char_indices().nth(2).map_or(text.len(), |(i, _)| i));
    serde_json::from_value(serde_json::json!({
        "text": text, "aspect": aspect, "opinion": opinion, "polarity": "negative",
        "start": 0, "end": text.chars().count(), "group": group,
    }))
    .expect("keyword")
}

// ── The embedded configuration ────────────────────────────────────────────────

#[test]
fn embedded_config_loads_and_an_empty_override_equals_it() {
    let a = scorer();
    let b = PriorityScorer::from_toml_str("").unwrap();
    let it = item("同一笔订单扣了我两次钱", Category::Problem);
    assert_eq!(triage(&a, &it, 1), triage(&b, &it, 1));
    // The documented default file is also a complete config on its own.
    PriorityScorer::from_toml_str(&format!("inherit = false\n{}", PriorityScorer::default_toml())).unwrap();
}

// ── Issue keys ────────────────────────────────────────────────────────────────

#[test]
fn differently_worded_reports_of_one_issue_share_a_key() {
    let s = scorer();
    let logins = ["登录一直失败，账号进不去", "APP登录不上，提示网络错误", "更新后无法登录了", "登录页面转圈圈，登不进去", "一直登录失败，耽误事"];
    for t in logins {
        assert_eq!(key(&s, t).as_deref(), Some("login_failure"), "{t}");
    }
    let shipping = ["物流太慢了，一周才到", "快递慢得要死", "发货太慢了", "物流速度慢，等了好多天", "已经两周了还没发货"];
    for t in shipping {
        assert_eq!(key(&s, t).as_deref(), Some("shipping_delay"), "{t}");
    }
    assert_eq!(key(&s, "app一打开就闪退").as_deref(), Some("app_crash"));
    assert_eq!(key(&s, "最新版本老是崩溃").as_deref(), Some("app_crash"));
}

#[test]
fn negated_or_excluded_terms_do_not_count() {
    let s = scorer();
    assert_eq!(key(&s, "物流不慢"), key(&s, "物流不慢!"), "same signature");
    assert_ne!(key(&s, "物流不慢").as_deref(), Some("shipping_delay"));
    assert_ne!(key(&s, "用了一个月从来没有闪退过").as_deref(), Some("app_crash"));
    assert_ne!(key(&s, "多媒体功能很差").as_deref(), Some("media_threat"));
    // A term split across clauses is not one phrase.
    assert_ne!(key(&s, "物流很好，就是价格有点贵，包装慢慢拆").as_deref(), Some("shipping_delay"));
}

#[test]
fn unmatched_items_fall_back_to_keyword_group_then_text_signature() {
    let s = scorer();
    let mut a = item("汤太咸了", Category::Problem);
    a.keywords = vec![keyword("汤咸", "taste_salty")];
    assert_eq!(assess(&s, &a).issue_key.as_deref(), Some("kw:taste_salty"));
    // Near-identical texts share a signature; different ones do not.
    assert_eq!(key(&s, "菜太咸了"), key(&s, "菜太咸了！！"));
    assert!(key(&s, "菜太咸了").unwrap().starts_with("text:"));
    assert_ne!(key(&s, "菜太咸了"), key(&s, "菜太淡了"));
    // Pure praise reports no issue.
    assert_eq!(assess(&s, &item("服务很好，谢谢", Category::Praise)).issue_key, None);
}

// ── Each factor moves the score the right way ───────────────────────────────────

#[test]
fn severity_orders_issue_types() {
    let s = scorer();
    let p = |t| score(&s, &item(t, Category::Problem), 1);
    let safety = p("杯子收到时碎了，玻璃渣掉进了食物里");
    let legal = p("再不解决我就找律师起诉你们");
    let media = p("不处理就发微博曝光你们");
    let money = p("同一笔订单扣了我两次钱");
    let core = p("更新后无法登录了");
    let delay = p("发货太慢了");
    let cosmetic = p("标签贴歪了");
    let minor = p("没送贴纸");
    let generic = p("菜太咸了");
    for (name, v) in [("legal", legal), ("media", media), ("money", money), ("core", core)] {
        assert!(safety > delay && v > delay, "{name} {v} vs delay {delay}");
    }
    assert!(core > delay, "core function {core} > delay {delay}");
    assert!(delay > generic, "delay {delay} > generic {generic}");
    assert!(generic > cosmetic && generic > minor, "generic {generic} > cosmetic {cosmetic}, minor {minor}");
    for (name, t) in [("safety", "杯子收到时碎了，玻璃渣掉进了食物里"), ("legal", "再不解决我就找律师起诉你们"), ("money", "同一笔订单扣了我两次钱")]
    {
        assert_eq!(triage(&s, &item(t, Category::Problem), 1).priority.level, Level::High, "{name}");
    }
    assert_eq!(triage(&s, &item("标签贴歪了", Category::Problem), 1).priority.level, Level::Low);
    assert_eq!(triage(&s, &item("没送贴纸", Category::Problem), 1).priority.level, Level::Low);
}

#[test]
fn scope_raises_impact_monotonically_up_to_the_cap() {
    let s = scorer();
    let it = item("一直登录失败", Category::Problem);
    let mut last = 0.0;
    for n in [1, 2, 5, 8, 20] {
        let v = score(&s, &it, n);
        assert!(v > last, "scope {n}: {v} should exceed {last}");
        last = v;
    }
    assert_eq!(score(&s, &it, 100_000), score(&s, &it, 1_000_000), "scope factor is capped");
    // Many customers with a core-function failure outrank one with a delay, and
    // eight outrank one.
    assert!(score(&s, &it, 5) > score(&s, &item("快递太慢了", Category::Problem), 1));
    let t = triage(&s, &it, 8);
    assert_eq!(t.priority.level, Level::High);
    assert!(t.priority.reasons.iter().any(|r| r.contains("8 customers report 登录失败")), "{:?}", t.priority.reasons);
}

#[test]
fn category_problems_above_enquiries_and_suggestions_praise_lowest() {
    let s = scorer();
    let text = "这个地方需要看看";
    let p = score(&s, &item(text, Category::Problem), 3);
    let e = score(&s, &item(text, Category::Enquiry), 3);
    let g = score(&s, &item(text, Category::Suggestion), 3);
    let r = score(&s, &item(text, Category::Praise), 3);
    assert!(p > e && p > g && e > r && g > r, "problem {p}, enquiry {e}, suggestion {g}, praise {r}");
    assert_eq!(triage(&s, &item("快递小哥很准时，服务很好", Category::Praise), 1).priority.level, Level::Low);
    assert_eq!(triage(&s, &item("希望可以自定义首页背景图片", Category::Suggestion), 1).priority.level, Level::Low);
    // A named fault counts as a problem whatever the classifier said.
    let q = score(&s, &item("请问登录失败怎么办", Category::Enquiry), 1);
    assert_eq!(q, score(&s, &item("请问登录失败怎么办", Category::Problem), 1));
}

#[test]
fn customer_value_vip_and_spend_raise_priority_and_absent_is_neutral() {
    let s = scorer();
    let t = "申请退货一周了还没退款";
    let plain = score(&s, &item(t, Category::Problem), 2);
    let regular = score(&s, &item(t, Category::Problem).tier("regular"), 2);
    let putong = score(&s, &item(t, Category::Problem).tier("普通"), 2);
    let unknown = score(&s, &item(t, Category::Problem).tier("martian"), 2);
    let vip = score(&s, &item(t, Category::Problem).tier("VIP"), 2);
    assert_eq!(plain, regular);
    assert_eq!(plain, putong);
    assert_eq!(plain, unknown);
    assert!(vip > regular, "vip {vip} > regular {regular}");
    let rich = score(&s, &item(t, Category::Problem).spend(30000.0), 2);
    let poor = score(&s, &item(t, Category::Problem).spend(100.0), 2);
    assert!(rich > plain && plain > poor, "spend 30000 {rich} > none {plain} > spend 100 {poor}");
    let vip_rich = triage(&s, &item(t, Category::Problem).tier("vip").spend(30000.0), 2);
    let reg_poor = triage(&s, &item(t, Category::Problem).tier("regular").spend(100.0), 2);
    assert!(vip_rich.priority.score > reg_poor.priority.score);
    assert!(vip_rich.priority.reasons.iter().any(|r| r == "VIP customer"), "{:?}", vip_rich.priority.reasons);
    // VIP complaints are answered sooner.
    assert!(vip_rich.respond_within_minutes < reg_poor.respond_within_minutes);
}

#[test]
fn among_equal_impact_and_value_the_cheaper_fix_ranks_higher() {
    // Two issues of one type and severity, one routed to a cheaper department.
    let cfg = r#"
[[issues]]
key = "cheap_fix"
type = "quality"
label = "便宜"
terms = ["甲问题"]
department = "客服部"

[[issues]]
key = "dear_fix"
type = "quality"
label = "贵"
terms = ["乙问题"]
department = "产品部"
"#;
    let s = PriorityScorer::from_toml_str(cfg).unwrap();
    let cheap = triage(&s, &item("出现甲问题", Category::Problem), 1);
    let dear = triage(&s, &item("出现乙问题", Category::Problem), 1);
    assert_eq!(cheap.priority.impact, dear.priority.impact);
    assert!(cheap.priority.cost < dear.priority.cost);
    assert!(cheap.priority.score > dear.priority.score);
    // And per issue type: the default money-lost fix is cheap.
    let d = scorer();
    assert!(assess(&d, &item("同一笔订单扣了我两次钱", Category::Problem)).cost < 1.0);
}

// ── Urgency, deadlines, departments, reasons ─────────────────────────────────────

#[test]
fn urgency_deadline_and_department_follow_the_issue() {
    let s = scorer();
    let t = |text: &str| triage(&s, &item(text, Category::Problem), 1);
    let glass = t("杯子收到时碎了，玻璃渣掉进了食物里");
    assert_eq!((glass.urgency, glass.urgency_zh.as_str(), glass.respond_within_minutes), (Urgency::Critical, "特急", 5));
    let lawyer = t("再不给我解决我就找律师起诉你们，还要发微博曝光");
    assert_eq!(lawyer.urgency, Urgency::Critical);
    assert!(lawyer.priority.reasons.iter().any(|r| r.starts_with("media threat")), "{:?}", lawyer.priority.reasons);
    let double = t("同一笔订单扣了我两次钱");
    assert_eq!((double.urgency, double.respond_within_minutes, double.department.as_str()), (Urgency::Urgent, 15, "财务部"));
    assert!(double.priority.reasons.iter().any(|r| r.starts_with("money lost")));
    let ship = t("物流太慢了");
    assert_eq!((ship.urgency, ship.urgency_zh.as_str(), ship.respond_within_minutes, ship.department.as_str()), (Urgency::Normal, "一般", 60, "物流部"));
    assert_eq!(t("更新后无法登录了").department, "技术部");
    assert_eq!(t("客服态度太差了").department, "客服部");
    // An explicit urgency cue.
    assert_eq!(t("衣服起球了，急用，请尽快处理").urgency, Urgency::Urgent);
    // Praise needs an answer within a day.
    let thanks = triage(&s, &item("快递小哥很准时，服务很好", Category::Praise), 1);
    assert_eq!((thanks.urgency, thanks.respond_within_minutes), (Urgency::Normal, 1440));
    // Many reporters escalate.
    assert_eq!(triage(&s, &item("物流太慢了", Category::Problem), 12).urgency, Urgency::Urgent);
}

// ── Config overrides ─────────────────────────────────────────────────────────

#[test]
fn config_overrides_merge_over_the_defaults() {
    let it = item("同一笔订单扣了我两次钱", Category::Problem);
    let strict = PriorityScorer::from_toml_str("[levels]\nhigh = 1000\nmedium = 500\n").unwrap();
    assert_eq!(triage(&strict, &it, 1).priority.level, Level::Low);

    let tiers = PriorityScorer::from_toml_str("[value.tiers]\nvip = 3.0\n").unwrap();
    let d = scorer();
    let v = item("发货太慢了", Category::Problem).tier("vip");
    assert!(score(&tiers, &v, 1) > score(&d, &v, 1));
    // Other tiers are kept from the defaults.
    let g = item("发货太慢了", Category::Problem).tier("svip");
    assert_eq!(score(&tiers, &g, 1), score(&d, &g, 1));

    // A new issue, a replaced one and a removed one.
    let custom = PriorityScorer::from_toml_str(
        r#"
[types.outage]
reason = "outage"
severity = 9.5
cost = 1.0
department = "技术部"
urgency = "critical"

[[issues]]
key = "wifi_down"
type = "outage"
label = "断网"
terms = ["断网", "wifi*连不上"]

[[issues]]
key = "shipping_delay"
type = "delay"
label = "快递龟速"
terms = ["龟速"]

[[issues]]
key = "cosmetic_flaw"
type = "cosmetic"
terms = ["x"]
enabled = false
"#,
    )
    .unwrap();
    let a = assess(&custom, &item("酒店wifi一直连不上", Category::Problem));
    assert_eq!(a.issue_key.as_deref(), Some("wifi_down"));
    assert_eq!(custom.score(&a, 1).urgency, Urgency::Critical);
    assert_eq!(assess(&custom, &item("快递龟速", Category::Problem)).issue_key.as_deref(), Some("shipping_delay"));
    assert_ne!(assess(&custom, &item("发货太慢了", Category::Problem)).issue_key.as_deref(), Some("shipping_delay"));
    assert_ne!(assess(&custom, &item("标签贴歪了", Category::Problem)).issue_key.as_deref(), Some("cosmetic_flaw"));

    // Deadlines and the formula are configurable too.
    let fast = PriorityScorer::from_toml_str("[urgency.minutes]\nnormal = 30\nurgent = 10\ncritical = 2\n").unwrap();
    assert_eq!(triage(&fast, &item("发货太慢了", Category::Problem), 1).respond_within_minutes, 30);
    let flat = PriorityScorer::from_toml_str("[formula]\nscope_weight = 0\n").unwrap();
    let l = item("一直登录失败", Category::Problem);
    assert_eq!(score(&flat, &l, 1), score(&flat, &l, 50));
}

#[test]
fn config_file_override_and_pipeline_with_priority() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("priority.toml");
    std::fs::write(
        &path,
        "[departments]\n\"物流部\" = 2.0\n[types.delay]\ndepartment = \"物流部\"\nreason = \"slow\"\nseverity = 4.0\ncost = 1.0\nurgency = \"normal\"\n",
    )
    .unwrap();
    let s = PriorityScorer::from_path(&path).unwrap();
    let d = scorer();
    let it = item("发货太慢了", Category::Problem);
    assert!(score(&s, &it, 1) < score(&d, &it, 1), "a dearer department lowers the score");
    let p = Pipeline::embedded().unwrap().with_priority(s);
    let a = p.analyze_text("发货太慢了").unwrap();
    assert!(a.triage.unwrap().priority.reasons.iter().any(|r| r.starts_with("slow")));
}

// ── Bad configs: a clear error naming the key ───────────────────────────────────

fn config_error(text: &str) -> (String, String) {
    match PriorityScorer::from_toml_str(text) {
        Err(Error::Config { key, reason, .. }) => (key, reason),
        Err(e) => panic!("expected a config error, got {e}"),
        Ok(_) => panic!("expected a config error for {text:?}"),
    }
}

#[test]
fn bad_configs_are_errors_naming_the_key() {
    assert_eq!(config_error("[formula]\nscope_wieght = 1.0\n").0, "formula.scope_wieght");
    assert_eq!(config_error("[levels]\nhigh = \"very\"\n").0, "levels.high");
    assert_eq!(config_error("[levels]\nhigh = 1.0\nmedium = 2.0\n").0, "levels.high");
    assert_eq!(config_error("[formula]\ncost_exponent = -1\n").0, "formula.cost_exponent");
    assert_eq!(config_error("[value]\ncombine = \"average\"\n").0, "value.combine");
    assert_eq!(config_error("[value.tiers]\nvip = 0\n").0, "value.tiers.vip");
    assert_eq!(config_error("[urgency.minutes]\nurgent = 0\n").0, "urgency.minutes.urgent");
    assert_eq!(config_error("[types.safety]\ndepartment = \"火星部\"\n").0, "types.safety.department");
    assert_eq!(config_error("[types.safety]\nurgency = \"asap\"\n").0, "types.safety.urgency");
    assert_eq!(config_error("[[issues]]\nkey = \"x\"\ntype = \"nope\"\nterms = [\"y\"]\n").0, "issues.x.type");
    assert_eq!(config_error("[[issues]]\nkey = \"x\"\ntype = \"delay\"\nterms = [\"*y\"]\n").0, "issues.x.terms[0]");
    assert_eq!(config_error("[[issues]]\nkey = \"x\"\ntype = \"delay\"\nterms = []\n").0, "issues.x.terms");
    assert_eq!(config_error("[[issues]]\ntype = \"delay\"\n").0, "issues[0].key");
    assert_eq!(config_error("inherit = false\n[formula]\n").0, "formula.scope_weight");
    let (k, reason) = config_error("[levels]\nhigh = \n");
    assert!(reason.contains("not valid TOML"), "{k}: {reason}");
    assert_eq!(k, "high");
    // The message names file, key and problem.
    let e = PriorityScorer::from_toml_str_named("[formula]\nscope_wieght = 1\n", "my.toml").unwrap_err().to_string();
    assert!(e.contains("my.toml") && e.contains("formula.scope_wieght") && e.contains("unknown key"), "{e}");
}

#[test]
fn bad_config_file_names_the_file_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, "[value.spend]\nneutral = -5\n").unwrap();
    match PriorityScorer::from_path(&path) {
        Err(Error::Config { origin, key, .. }) => {
            assert_eq!(key, "value.spend.neutral");
            assert!(origin.ends_with("bad.toml"), "{origin}");
        }
        other => panic!("expected a config error, got {other:?}"),
    }
    assert!(matches!(PriorityScorer::from_path(dir.path().join("missing.toml")), Err(Error::Io { .. })));
}

// ── The rolling issue counter ───────────────────────────────────────────────────

#[test]
fn counter_counts_within_a_rolling_window() {
    let c = IssueCounter::new(Duration::from_secs(600));
    let t0 = Instant::now();
    assert_eq!(c.observe_at("login_failure", t0), 1);
    assert_eq!(c.observe_at("login_failure", t0 + Duration::from_secs(60)), 2);
    assert_eq!(c.observe_at("shipping_delay", t0 + Duration::from_secs(61)), 1);
    assert_eq!(c.observe_at("login_failure", t0 + Duration::from_secs(300)), 3);
    assert_eq!(c.count_at("login_failure", t0 + Duration::from_secs(300)), 3);
    // t0 leaves the window at t0 + 600 s, the second report at t0 + 660 s.
    assert_eq!(c.observe_at("login_failure", t0 + Duration::from_secs(620)), 3);
    assert_eq!(c.count_at("login_failure", t0 + Duration::from_secs(700)), 2);
    assert_eq!(c.count_at("login_failure", t0 + Duration::from_secs(2000)), 0);
    c.prune_at(t0 + Duration::from_secs(2000));
    assert_eq!(c.tracked_issues(), 0);
}

#[test]
fn counter_is_exact_under_concurrent_use() {
    let c = Arc::new(IssueCounter::new(Duration::from_secs(3600)));
    let threads = 8;
    let per = 500;
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let c = Arc::clone(&c);
            std::thread::spawn(move || {
                let mut seen = Vec::with_capacity(per);
                for i in 0..per {
                    seen.push(c.observe("login_failure"));
                    c.observe(&format!("own-{t}"));
                    if i % 50 == 0 {
                        c.observe(&format!("shared-{}", i % 7));
                    }
                }
                seen
            })
        })
        .collect();
    let mut all: Vec<u32> = handles.into_iter().flat_map(|h| h.join().unwrap()).collect();
    all.sort_unstable();
    // Every report got a distinct count: no lost or doubled updates.
    assert_eq!(all, (1..=(threads * per) as u32).collect::<Vec<_>>());
    assert_eq!(c.count("login_failure"), (threads * per) as u32);
    for t in 0..threads {
        assert_eq!(c.count(&format!("own-{t}")), per as u32);
    }
}

#[test]
fn intake_scope_grows_as_more_customers_report_the_same_issue() {
    let pipeline = Pipeline::embedded().unwrap();
    let counter = pipeline.priority().issue_counter();
    let texts = ["登录一直失败，账号进不去", "APP登录不上", "更新后无法登录了", "登录页面转圈圈，登不进去", "一直登录失败，耽误事"];
    let mut scores = Vec::new();
    for t in texts {
        let a = pipeline.analyze_with_counter(&FeedbackRecord::new(t), &counter).unwrap();
        scores.push(a.triage.unwrap().priority);
    }
    assert!(scores.windows(2).all(|w| w[1].score > w[0].score), "{scores:?}");
    assert!(scores[4].reasons.iter().any(|r| r.contains("5 customers report 登录失败")), "{:?}", scores[4].reasons);
    // Shared across threads.
    let pipeline = Arc::new(pipeline);
    let counter = Arc::new(counter);
    let hs: Vec<_> = (0..4)
        .map(|_| {
            let (p, c) = (Arc::clone(&pipeline), Arc::clone(&counter));
            std::thread::spawn(move || p.analyze_with_counter(&FeedbackRecord::new("快递慢得要死"), &c).unwrap())
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    assert_eq!(counter.count("shipping_delay"), 4);
}

// ── End to end on the example batch ───────────────────────────────────────────

#[test]
fn example_batch_orders_pairs_and_levels() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/priority");
    let (Ok(batch), Ok(expect)) = (std::fs::read_to_string(dir.join("example_batch.jsonl")), std::fs::read_to_string(dir.join("example_expect.json"))) else {
        eprintln!("skipped: {} not present", dir.display());
        return;
    };
    let records: Vec<FeedbackRecord> = batch.lines().filter(|l| !l.trim().is_empty()).map(|l| serde_json::from_str(l).unwrap()).collect();
    let pipeline = Pipeline::embedded().unwrap();
    let out: HashMap<String, Triage> = pipeline.analyze_batch(&records).into_iter().map(|r| r.unwrap()).map(|a| (a.id.clone(), a.triage.unwrap())).collect();
    let expect: serde_json::Value = serde_json::from_str(&expect).unwrap();
    for pair in expect["pairs"].as_array().unwrap() {
        let (a, b) = (pair[0].as_str().unwrap(), pair[1].as_str().unwrap());
        let (sa, sb) = (out[a].priority.score, out[b].priority.score);
        assert!(sa > sb, "{a} ({sa}) should outrank {b} ({sb})");
    }
    for (id, level) in expect["levels"].as_object().unwrap() {
        assert_eq!(out[id].priority.level.as_str(), level.as_str().unwrap(), "{id}: {:?}", out[id].priority);
    }
}
