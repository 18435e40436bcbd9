//! Aspect–opinion keyword phrases (LABELING.md §2) and the batch summary.

use std::sync::OnceLock;

use feedback_triage::keywords::{Keyword, KeywordExtractor, Polarity, MAX_KEYWORDS};
use feedback_triage::normalize::Normalizer;
use feedback_triage::segment::Segmenter;
use feedback_triage::summary::{Summary, SummaryBuilder};
use feedback_triage::{Analysis, Category};

struct Stages {
    normalizer: Normalizer,
    segmenter: Segmenter,
    /// The rules alone (no phrase filter): what the patterns propose.
    rules: KeywordExtractor,
    /// The shipped extractor: the rules, then the learned phrase filter.
    keywords: KeywordExtractor,
}

fn stages() -> &'static Stages {
    static S: OnceLock<Stages> = OnceLock::new();
    S.get_or_init(|| Stages {
        normalizer: Normalizer::embedded().unwrap(),
        segmenter: Segmenter::embedded().unwrap(),
        rules: KeywordExtractor::embedded().unwrap().with_filter(None),
        keywords: KeywordExtractor::embedded().unwrap(),
    })
}

/// The patterns' phrases (the filter off), with offsets checked.
fn extract(text: &str) -> Vec<Keyword> {
    extract_with(&stages().rules, text)
}

/// The shipped extractor's phrases.
fn filtered(text: &str) -> Vec<(String, String, Polarity)> {
    extract_with(&stages().keywords, text).into_iter().map(|k| (k.aspect, k.opinion, k.polarity)).collect()
}

fn extract_with(extractor: &KeywordExtractor, text: &str) -> Vec<Keyword> {
    let s = stages();
    let norm = s.normalizer.normalize(text);
    let toks = s.segmenter.segment(&norm.text);
    let kws = extractor.extract(&norm, &toks);
    // Every phrase's offsets cover its aspect and opinion in the original text.
    let orig = &norm.original;
    for k in &kws {
        let span: String = orig.chars().skip(k.start).take(k.end - k.start).collect();
        assert!(span.contains(&k.aspect), "{text}: span {span:?} lacks aspect {:?}", k.aspect);
        assert!(span.contains(&k.opinion), "{text}: span {span:?} lacks opinion {:?}", k.opinion);
        assert!(!k.group.is_empty() && k.group.contains('|'), "{k:?}");
    }
    kws
}

fn pairs(text: &str) -> Vec<(String, String, Polarity)> {
    extract(text).into_iter().map(|k| (k.aspect, k.opinion, k.polarity)).collect()
}

fn has(text: &str, aspect: &str, opinion: &str, polarity: Polarity) {
    let p = pairs(text);
    assert!(p.iter().any(|(a, o, pol)| a == aspect && o == opinion && *pol == polarity), "{text}: expected ({aspect}, {opinion}, {polarity:?}) in {p:?}");
}

use Polarity::{Negative as Neg, Positive as Pos};

#[test]
fn the_phrase_filter_keeps_judgements_and_drops_what_annotators_skip() {
    // Plain judgements survive the filter.
    for (text, aspect, opinion, pol) in [("物流很慢", "物流", "慢", Neg), ("客服态度好", "客服态度", "好", Pos), ("房间又旧又小", "房间", "小", Neg)]
    {
        let got = filtered(text);
        assert!(got.iter().any(|(a, o, p)| a == aspect && o == opinion && *p == pol), "{text}: {got:?}");
    }
    // A question about a deadline: the rules read 最晚 as a judgement (借呗晚),
    // but it judges nothing, and the annotators list no phrase for it.
    let text = "借呗最晚几点还款不算逾期";
    assert!(!extract(text).is_empty(), "the rules should propose a phrase for {text}");
    assert_eq!(filtered(text), vec![], "{text}");
    // The filter only removes: what it keeps, the rules proposed.
    for text in ["酒店位置不错，但是房间太小，早餐也很一般", "快递员态度差，送得太慢，包装也破了"] {
        let rules: Vec<_> = extract(text).into_iter().map(|k| (k.aspect, k.opinion, k.polarity)).collect();
        let kept = filtered(text);
        assert!(!kept.is_empty() && kept.iter().all(|k| rules.contains(k)), "{text}: {kept:?} ⊄ {rules:?}");
    }
}

#[test]
fn noun_adverb_adjective() {
    has("物流很慢", "物流", "慢", Neg);
    has("客服态度好", "客服态度", "好", Pos);
    has("房间非常干净", "房间", "干净", Pos);
    has("味道太咸了", "味道", "咸", Neg);
    let k = extract("物流很慢");
    assert_eq!(k[0].text, "物流慢");
}

#[test]
fn adjective_de_noun() {
    has("很干净的房间", "房间", "干净", Pos);
}

#[test]
fn verb_de_adjective() {
    let k = extract("送得太慢了");
    assert_eq!(k.len(), 1, "{k:?}");
    assert_eq!((k[0].aspect.as_str(), k[0].opinion.as_str(), k[0].polarity), ("送", "慢", Neg));
    assert_eq!(k[0].text, "送得慢");
    has("客服处理得很及时", "客服", "及时", Pos);
}

#[test]
fn verb_object_complaints() {
    has("没给筷子", "筷子", "没给", Neg);
    has("还扣了两次钱", "钱", "扣了两次", Neg);
    has("无法发送短信", "短信", "无法发送", Neg);
    has("用不了借呗", "借呗", "用不了", Neg);
    has("电话簿无法分组", "电话簿", "无法分组", Neg);
    let k = extract("没给筷子");
    assert_eq!(k[0].text, "没给筷子");
}

#[test]
fn negation_is_kept_and_flips_polarity() {
    has("菜不新鲜", "菜", "不新鲜", Neg);
    has("早餐不太好", "早餐", "不太好", Neg);
    has("信号也不是很好", "信号", "不是很好", Neg);
    has("价钱不贵", "价钱", "不贵", Pos);
    has("味道没有以前好", "味道", "没有以前好", Neg);
    has("态度很不好", "态度", "不好", Neg);
}

#[test]
fn contrast_keeps_each_side_right() {
    let p = pairs("味道不错，就是送得太慢");
    assert!(p.contains(&("味道".into(), "不错".into(), Pos)), "{p:?}");
    assert!(p.contains(&("送".into(), "慢".into(), Neg)), "{p:?}");
    // A size word after an "excess" degree is a complaint even in a contrast.
    has("质量还行，但是尺码偏大", "尺码", "大", Neg);
    let p = pairs("房间略小但很温馨");
    assert!(p.contains(&("房间".into(), "小".into(), Neg)), "{p:?}");
    has("虽然价格有点贵，不过服务很好", "服务", "好", Pos);
    has("虽然价格有点贵，不过服务很好", "价格", "贵", Neg);
}

#[test]
fn linked_opinions_share_the_aspect() {
    has("房间又旧又小", "房间", "旧", Neg);
    has("房间又旧又小", "房间", "小", Neg);
    has("房间设备陈旧而且不齐全", "房间设备", "不齐全", Neg);
    has("房间略小但很温馨", "房间", "温馨", Pos);
    // Opinions of one mind side by side form a list and share the aspect.
    has("苹果很脆很甜", "苹果", "甜", Pos);
    // Without a link word the second opinion does not borrow the aspect.
    assert!(!pairs("客服不怎么样很牛").iter().any(|(_, o, _)| o == "牛"), "{:?}", pairs("客服不怎么样很牛"));
}

#[test]
fn de_for_de_comparisons_and_fillers() {
    // 的 written for 得 before a degree adverb.
    has("还没拆开，但是包装的很好", "包装", "好", Pos);
    has("送的很快", "送", "快", Pos);
    // A standard of comparison that is no noun: the aspect is before 比.
    has("酒店环境比我想象的好", "酒店环境", "好", Pos);
    // Fillers between the aspect and the opinion.
    has("这个酒店应该算是不错的了", "酒店", "不错", Pos);
    has("服务态度也只是一般", "服务态度", "一般", Neg);
    // Place words are aspects.
    has("屋内比较干净", "屋内", "干净", Pos);
}

#[test]
fn aspects_the_tagger_misses() {
    // A compound tagged as a phrase, headed by a known aspect.
    has("下载速度很快", "下载速度", "快", Pos);
    // A locative between aspect and opinion.
    has("房间里有点旧", "房间", "旧", Neg);
    // A located failure takes its object: the place is not the aspect.
    has("支付宝里面找不到花呗", "花呗", "找不到", Neg);
    // A count word: vague opinions stand on known aspects only.
    has("早餐种类太少", "早餐种类", "少", Neg);
    // An adverb the patterns drop.
    has("空调几乎不好用", "空调", "不好用", Neg);
}

#[test]
fn adjective_de_general_noun() {
    has("不错的酒店", "酒店", "不错", Pos);
    assert!(pairs("这是最好的选择").is_empty(), "{:?}", pairs("这是最好的选择"));
    // A general phrase is kept last when there are more than four.
    let k = extract("不错的酒店，房间很大，服务很好，早餐很丰富，位置很方便");
    assert_eq!(k.len(), MAX_KEYWORDS, "{k:?}");
    assert!(!k.iter().any(|k| k.aspect == "酒店"), "{k:?}");
}

#[test]
fn ease_of_an_action() {
    has("出租车比较好叫", "出租车", "好叫", Pos);
    has("酒店有些难找", "酒店", "难找", Neg);
    // A superlative that sets a limit is not a judgement either.
    assert!(pairs("借呗最低可以多少期还").is_empty(), "{:?}", pairs("借呗最低可以多少期还"));
    // 好 before a modal or a two-character verb is not a judgement.
    assert!(pairs("好想吃火锅").is_empty(), "{:?}", pairs("好想吃火锅"));
}

#[test]
fn comparison_standard_is_not_the_aspect() {
    has("配置比其他城市的四星宾馆差", "配置", "差", Neg);
    assert!(!pairs("配置比其他城市的四星宾馆差").iter().any(|(a, _, _)| a.contains("宾馆")));
}

#[test]
fn cross_domain_phrases() {
    has("骑手送餐超时，汤都洒了", "送餐", "超时", Neg);
    has("额度太低了，利息太高", "利息", "高", Neg);
    has("网速很慢，信号也不好", "信号", "不好", Neg);
    has("界面很丑，操作复杂", "操作", "复杂", Neg);
    has("系统经常崩溃", "系统", "崩溃", Neg);
    has("服务态度机械", "服务态度", "机械", Neg);
}

#[test]
fn context_dependent_polarity() {
    has("价格太高", "价格", "高", Neg);
    has("性价比很高", "性价比", "高", Pos);
    has("噪音很大", "噪音", "大", Neg);
    has("屏幕很大", "屏幕", "大", Pos);
    has("房间很小", "房间", "小", Neg);
}

#[test]
fn wishes_and_plain_questions_have_no_phrase() {
    assert!(pairs("希望服务能更好一点").is_empty());
    assert!(pairs("要是送餐能再快点就好了").is_empty());
    assert!(pairs("花呗怎么还款").is_empty());
    assert!(pairs("质量好吗").is_empty());
}

/// The judgements the classifier reads: (polarity, softened) per proposal.
fn judgements(text: &str) -> Vec<(Polarity, bool)> {
    let s = stages();
    let norm = s.normalizer.normalize(text);
    let toks = s.segmenter.segment(&norm.text);
    let (_, shipped) = s.keywords.extract_with_judgements(&norm, &toks);
    let rules = s.rules.judgements(&norm, &toks);
    // The filter never changes the judgements: they are the rules' proposals.
    assert_eq!(shipped, rules, "{text}");
    rules.into_iter().map(|j| (j.polarity, j.softened)).collect()
}

#[test]
fn judgements_are_plain_clause_opinions_before_the_filter() {
    use Polarity::{Negative as Neg, Positive as Pos};
    assert_eq!(judgements("房间很好,就是早餐太差"), vec![(Pos, false), (Neg, false)]);
    assert_eq!(judgements("环境不错,房间略小"), vec![(Pos, false), (Neg, true)]);
    // Wishes and questions judge nothing.
    assert!(judgements("希望早餐能更丰富一点").is_empty());
    assert!(judgements("房间大吗").is_empty());
}

#[test]
fn offsets_point_into_the_original_text() {
    // Traditional characters and full-width punctuation: aspect and opinion are
    // reported as written, offsets index the original characters.
    let k = extract("包裝很好，質量很好！");
    let q = k.iter().find(|k| k.aspect == "質量").expect("質量 phrase");
    assert_eq!(q.opinion, "好");
    let orig: Vec<char> = "包裝很好，質量很好！".chars().collect();
    assert_eq!(orig[q.start..q.end].iter().collect::<String>(), "質量很好");
    // A dropped control character shifts the original offsets.
    let k = extract("a\u{0}物流很慢");
    assert_eq!((k[0].start, k[0].end), (2, 6));
    // Upper case as written.
    has("Vista很难用", "Vista", "难用", Neg);
}

#[test]
fn synonyms_share_a_group() {
    let g = |t: &str| extract(t).into_iter().map(|k| k.group).collect::<Vec<_>>();
    assert_eq!(g("送餐慢"), vec!["配送|慢"]);
    assert_eq!(g("配送太慢"), vec!["配送|慢"]);
    assert_eq!(g("送得慢"), vec!["配送|慢"]);
    assert_eq!(g("态度差"), vec!["态度|差"]);
    assert_eq!(g("态度不好"), vec!["态度|差"]);
    assert_eq!(g("服务态度很差劲"), vec!["态度|差"]);
    assert_eq!(g("菜不新鲜"), vec!["菜|不新鲜"]);
    assert_eq!(g("价格太高"), vec!["价格|贵"]);
    assert_eq!(g("价钱偏贵"), vec!["价格|贵"]);
    assert_eq!(g("价格不高"), vec!["价格|便宜"]);
    let k = &stages().keywords;
    assert_eq!(k.group_key("送餐", "很慢"), "配送|慢");
    assert_eq!(k.group_key("服务态度", "不太好"), "态度|差");
    assert_eq!(k.group_key("物流", "快"), "物流|快");
}

#[test]
fn empty_and_phrase_less_inputs() {
    let s = stages();
    let norm = s.normalizer.normalize("");
    assert!(s.keywords.extract(&norm, &[]).is_empty());
    assert!(s.keywords.topics(&norm, &[]).is_empty());
    for t in ["!!!", "   ", "12345", "请问", "花呗怎么还款", "😀😀"] {
        assert!(extract(t).is_empty(), "{t}");
    }
    // Topic words are the fallback for items with no phrase.
    let norm = s.normalizer.normalize("花呗怎么提前还款");
    let toks = s.segmenter.segment(&norm.text);
    let topics = s.keywords.topics(&norm, &toks);
    assert!(!topics.is_empty() && topics.len() <= 3, "{topics:?}");
    assert!(topics.iter().any(|t| t == "花呗" || t == "还款"), "{topics:?}");
}

#[test]
fn at_most_four_phrases_in_text_order() {
    let k = extract("房间很大，服务很好，早餐很丰富，位置很方便，价格很便宜，床很舒服");
    assert_eq!(k.len(), MAX_KEYWORDS, "{k:?}");
    assert!(k.windows(2).all(|w| w[0].start < w[1].start), "{k:?}");
}

// ---- summary --------------------------------------------------------------

fn analysis(id: &str, category: Category, text: &str) -> Analysis {
    Analysis {
        id: id.to_string(),
        text: text.to_string(),
        category,
        category_zh: category.zh().to_string(),
        confidence: 1.0,
        scores: Default::default(),
        labels: vec![category],
        keywords: extract(text),
        topics: Vec::new(),
        triage: None,
        assessment: None,
    }
}

#[test]
fn summary_counts_groups_per_category() {
    let mut b = SummaryBuilder::new();
    b.add(&analysis("1", Category::Problem, "送餐太慢了"));
    b.add(&analysis("2", Category::Problem, "配送很慢，送得也慢"));
    b.add(&analysis("3", Category::Problem, "送得慢"));
    b.add(&analysis("4", Category::Problem, "骑手送餐慢"));
    b.add(&analysis("5", Category::Praise, "味道不错"));
    b.add(&analysis("6", Category::Enquiry, "花呗怎么还款"));
    let s = b.finish();
    assert_eq!(s.items, 6);
    assert_eq!(s.items_with_keywords, 5);
    let p = &s.categories[&Category::Problem];
    assert_eq!(p.items, 4);
    let top = &p.top[0];
    assert_eq!(top.group, "配送|慢");
    // Item 2 says it twice but counts once.
    assert_eq!(top.count, 4);
    assert_eq!(top.share, 1.0);
    assert_eq!(top.polarity, Polarity::Negative);
    assert_eq!(top.examples, vec!["1", "2", "3"]);
    assert_eq!(top.error, 0);
    assert_eq!(s.count(Category::Problem, "配送|慢"), 4);
    assert_eq!(s.count(Category::Praise, "味道|好"), 1);
    assert_eq!(s.categories[&Category::Enquiry].items_with_keywords, 0);
    // Round trip: a later run reads it back.
    let json = serde_json::to_string(&s).unwrap();
    let back: Summary = serde_json::from_str(&json).unwrap();
    assert_eq!(back, s);
}

#[test]
fn summary_merge_equals_one_pass() {
    let texts = ["物流很慢", "物流太慢了", "包装很好", "客服态度差", "物流慢", "态度不好", "包装不错"];
    let mut whole = SummaryBuilder::new();
    let mut left = SummaryBuilder::new();
    let mut right = SummaryBuilder::new();
    for (i, t) in texts.iter().enumerate() {
        let a = analysis(&i.to_string(), Category::Problem, t);
        whole.add(&a);
        if i < 3 {
            left.add(&a)
        } else {
            right.add(&a)
        }
    }
    left.merge(right);
    let (a, b) = (whole.finish(), left.finish());
    assert_eq!(a.items, b.items);
    assert_eq!(a.categories[&Category::Problem].counts, b.categories[&Category::Problem].counts);
    assert_eq!(a.categories[&Category::Problem].top[0].examples, b.categories[&Category::Problem].top[0].examples);
}

#[test]
fn summary_memory_is_bounded_by_eviction() {
    // Two groups at most: the least reported (oldest on ties) makes room.
    let mut b = SummaryBuilder::new().with_max_groups(2);
    for (i, t) in ["物流慢", "物流慢", "物流慢", "包装好", "味道咸", "味道咸", "味道咸"].iter().enumerate() {
        b.add(&analysis(&i.to_string(), Category::Problem, t));
    }
    let s = b.finish();
    let p = &s.categories[&Category::Problem];
    assert_eq!(p.groups_tracked, 2);
    assert!(p.evicted >= 1);
    assert_eq!(p.counts.get("物流|慢"), Some(&3));
    // 味道咸 took over 包装好's slot: its count is an upper bound, error the slack.
    let salty = p.top.iter().find(|g| g.group == "味道|咸").expect("味道|咸 tracked");
    assert!(salty.count >= 3 && salty.count - salty.error <= 3, "{salty:?}");
    assert!(salty.examples.len() <= 3);
    assert!(!p.counts.contains_key("包装|好"));
}
