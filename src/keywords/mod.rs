//! Stage 5: aspect–opinion keyword phrases (LABELING.md §2).
//!
//! Rules over jieba's words and part-of-speech tags, with the lexicons in
//! `models/keywords/` (embedded at build time):
//!
//! 1. Tokens that glue a degree adverb or negator to an opinion (太慢, 不太好,
//!    送得慢) are split into units, so the patterns see 太 + 慢.
//! 2. Each clause (split at punctuation) is scanned for opinions: lexicon words
//!    and phrases (longest match over up to four units), modal failures (无法分组,
//!    不能群发), omissions (没给筷子) and charges (扣了两次钱).
//! 3. Walking back from an opinion, degree adverbs are dropped (很慢 → 慢) and
//!    negators kept (不新鲜, 不是很好, 没有以前好); an odd number of negators flips
//!    the polarity.
//! 4. The aspect is the noun (or lexicon aspect verb) right before the opinion,
//!    with a noun modifier (客服态度); else the verb of V得A (送得慢); else the
//!    object after a failure verb (用不了借呗) or the noun of A的N (干净的房间);
//!    else, for an opinion that opens a clause or follows a conjunction or
//!    contrast word (房间很大，也很干净 / 房间略小但很温馨), the previous aspect.
//! 5. Context-dependent words (大, 高, 多, 快 ...) take their polarity from the
//!    aspect's class (价格高 is a complaint, 性价比高 praise), and read as a
//!    complaint after an "excess" degree (偏大, 有点小).
//! 6. Clauses that voice a wish or hypothesis (希望…, 如果…) yield nothing.
//!
//! Each phrase carries a canonical `group` ("配送|慢") from the synonym tables,
//! so counts add up across wording (see `synonyms.toml`).

mod aspects;
mod filter;
pub(crate) mod lexicon;
mod opinions;
mod topics;
mod units;

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::normalize::NormalizedText;
use crate::segment::Token;

use filter::ItemContext;
pub use filter::{FilterFile, PhraseFilter, FILTER_FORMAT, FILTER_VERSION};
use lexicon::{Lexicon, OpinionInfo, Pol};
use topics::TopicModel;

/// At most this many phrases per item (LABELING.md §2).
pub const MAX_KEYWORDS: usize = 4;
/// At most this many topic words per item.
pub const MAX_TOPICS: usize = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Polarity {
    Positive,
    Negative,
}

impl Polarity {
    pub fn as_str(self) -> &'static str {
        match self {
            Polarity::Positive => "positive",
            Polarity::Negative => "negative",
        }
    }

    pub fn flip(self) -> Self {
        match self {
            Polarity::Positive => Polarity::Negative,
            Polarity::Negative => Polarity::Positive,
        }
    }
}

/// One aspect–opinion phrase found in an item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Keyword {
    /// Display phrase, aspect + opinion (物流慢).
    pub text: String,
    pub aspect: String,
    pub opinion: String,
    pub polarity: Polarity,
    /// Character offsets into the original text covering the aspect and opinion.
    pub start: usize,
    pub end: usize,
    /// Canonical group key shared by phrases that mean the same issue.
    pub group: String,
}

/// One judgement the rules found, before the filter decides whether a person
/// would list it. Wishes, hypotheses and questions yield none, so a negative
/// judgement is a plain complaint: evidence the classifier reads (LABELING.md
/// rules 4, 5 and 10). The filter is left out on purpose: it is trained on the
/// labelled items, and its verdicts would leak those labels into the
/// classifier's cross-validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Judgement {
    pub polarity: Polarity,
    /// The aspect is in the aspect lexicon (a concrete thing judged).
    pub known_aspect: bool,
    /// A "somewhat" degree comes right before the opinion (略小, 有点旧).
    pub softened: bool,
}

/// Extracts keyword phrases; `Send + Sync`, build once and share.
#[derive(Debug)]
pub struct KeywordExtractor {
    lex: Lexicon,
    topics: TopicModel,
    /// Keeps the proposals a person would list (None: keep all).
    filter: Option<PhraseFilter>,
    max_keywords: usize,
}

/// A phrase the rules propose, before the filter and the cap.
struct Proposal {
    candidate: Candidate,
    keyword: Keyword,
    known: bool,
}

impl Proposal {
    /// Which phrases the cap keeps first: direct (not carried-over) ones, then
    /// those on known aspects.
    fn order_key(&self) -> (bool, bool) {
        (self.candidate.derived, !self.known)
    }
}

/// A proposal as a training example of the phrase filter.
#[doc(hidden)]
pub struct ProposalExample {
    pub keyword: Keyword,
    pub features: Vec<String>,
    pub order_key: (bool, bool),
}

/// Which of a list of phrases (in text order) the cap of `max` keeps when the
/// filter has scored them: the most probable, ties by position.
#[doc(hidden)]
pub fn most_probable(probs: &[f32], max: usize) -> Vec<bool> {
    keep_first(probs.len(), max, |&a, &b| probs[b].total_cmp(&probs[a]).then(a.cmp(&b)))
}

/// Which of a list of phrases (in text order) the cap of `max` keeps without
/// a filter: the lowest `keys` first, ties by position; the kept ones stay in text order.
#[doc(hidden)]
pub fn keep_mask(keys: &[(bool, bool)], max: usize) -> Vec<bool> {
    keep_first(keys.len(), max, |&a, &b| (keys[a], a).cmp(&(keys[b], b)))
}

/// A mask over `len` items keeping the first `max` in the order `cmp` gives.
fn keep_first(len: usize, max: usize, cmp: impl FnMut(&usize, &usize) -> std::cmp::Ordering) -> Vec<bool> {
    let mut keep = vec![len <= max; len];
    if len > max {
        let mut order: Vec<usize> = (0..len).collect();
        order.sort_by(cmp);
        for &i in order.iter().take(max) {
            keep[i] = true;
        }
    }
    keep
}

/// One word of a clause after splitting glued modifiers off opinions.
#[derive(Debug, Clone, Copy)]
struct Unit<'a> {
    w: &'a str,
    tag: &'a str,
    /// Character offsets into the normalised text.
    start: usize,
    end: usize,
    /// Byte offsets into the normalised text.
    bs: usize,
    be: usize,
    brk: bool,
}

/// How an opinion was recognised.
#[derive(Debug, Clone, Copy)]
enum Found {
    Lexicon(OpinionInfo),
    /// A pattern with a fixed polarity (无法分组, 没给).
    Pattern(Polarity),
}

#[derive(Debug, Clone, Copy)]
struct OpinionMatch {
    /// Unit range of the matched opinion core.
    start: usize,
    end: usize,
    found: Found,
    /// An aspect fixed by the pattern itself (扣了两次钱 → 钱).
    object: Option<(usize, usize)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// 物流慢: aspect, then opinion.
    AspectOpinion,
    /// 送得慢: aspect, 得, opinion.
    VerbDe,
    /// 没给筷子: opinion, then aspect.
    OpinionAspect,
}

#[derive(Debug, Clone)]
struct Candidate {
    /// Unit ranges of the aspect and of the opinion (display span).
    aspect: (usize, usize),
    opinion: (usize, usize),
    /// Unit range of the opinion core (for the group key).
    core: (usize, usize),
    negated: bool,
    polarity: Polarity,
    layout: Layout,
    /// The verb of V得A when the aspect is its subject (客服处理得及时).
    verb: Option<usize>,
    /// The aspect was carried over (房间大、干净) or is a further conjunct: such
    /// phrases are kept last when an item has more than four.
    derived: bool,
    /// Which rule found the aspect, and how the opinion was recognised: both
    /// are evidence for the phrase filter.
    source: AspectSource,
    found: Found,
}

/// The rule that tied an aspect to an opinion (see the module comment, step 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AspectSource {
    /// The noun run right before the opinion (物流很慢).
    Before,
    /// Fixed by the opinion pattern (扣了两次钱).
    Object,
    /// A的N (干净的房间).
    Attributive,
    /// V起来 (用起来很舒服).
    Qilai,
    /// V得A (送得慢).
    VerbDe,
    /// A bare verb before a manner word (携带方便).
    BareVerb,
    /// The object after a failure (用不了借呗).
    Forward,
    /// A further conjunct (X和Y都好).
    Coordinated,
    /// The standard of a comparison skipped (比X好).
    Comparison,
    /// The previous clause's aspect after 、.
    Listed,
    /// The previous opinion's aspect in the same clause (又旧又小).
    Linked,
}

impl AspectSource {
    fn name(self) -> &'static str {
        match self {
            AspectSource::Before => "before",
            AspectSource::Object => "object",
            AspectSource::Attributive => "attributive",
            AspectSource::Qilai => "qilai",
            AspectSource::VerbDe => "verb_de",
            AspectSource::BareVerb => "bare_verb",
            AspectSource::Forward => "forward",
            AspectSource::Coordinated => "coordinated",
            AspectSource::Comparison => "comparison",
            AspectSource::Listed => "listed",
            AspectSource::Linked => "linked",
        }
    }
}

fn is_noun_tag(tag: &str) -> bool {
    // s: place words (屋内, 楼下) are judged too (屋内比较干净).
    matches!(tag, "n" | "nr" | "nrt" | "nrfg" | "ns" | "nt" | "nz" | "ng" | "vn" | "an" | "eng" | "j" | "nw" | "s")
}

fn is_verb_tag(tag: &str) -> bool {
    tag.starts_with('v')
}

/// Tags of words that are never split into modifier + opinion.
fn unsplittable_tag(tag: &str) -> bool {
    matches!(tag, "r" | "x" | "eng" | "p" | "c" | "w")
}

impl KeywordExtractor {
    /// The extractor with the embedded lexicons.
    pub fn embedded() -> Result<Self> {
        Ok(KeywordExtractor { lex: Lexicon::embedded()?, topics: TopicModel::embedded()?, filter: Some(PhraseFilter::embedded()?), max_keywords: MAX_KEYWORDS })
    }

    /// The extractor with lexicons given as TOML texts (same formats as the files
    /// in `models/keywords/`), e.g. a team's extended copies.
    pub fn from_lexicons(opinions: &str, aspects: &str, modifiers: &str, synonyms: &str) -> Result<Self> {
        Ok(KeywordExtractor {
            lex: Lexicon::from_sources(opinions, aspects, modifiers, synonyms)?,
            topics: TopicModel::embedded()?,
            filter: Some(PhraseFilter::embedded()?),
            max_keywords: MAX_KEYWORDS,
        })
    }

    /// Replaces the phrase filter (None keeps every phrase the rules propose).
    pub fn with_filter(mut self, filter: Option<PhraseFilter>) -> Self {
        self.filter = filter;
        self
    }

    /// Keeps at most `n` phrases per item (default 4).
    pub fn with_max_keywords(mut self, n: usize) -> Self {
        self.max_keywords = n;
        self
    }

    /// The canonical group key of an aspect and an opinion as they would be
    /// extracted (degree adverbs dropped, negation kept): ("送餐", "慢") → "配送|慢".
    pub fn group_key(&self, aspect: &str, opinion: &str) -> String {
        let aspect = aspect.to_lowercase();
        let opinion = opinion.to_lowercase();
        let mut core = opinion.as_str();
        let mut negated = false;
        // Strip negators greedily (longest first), then degree adverbs.
        'outer: loop {
            for p in &self.lex.prefixes {
                if core.len() > p.len() && core.starts_with(p.as_str()) && !self.lex.opinions.contains_key(core) {
                    if self.lex.negators.contains(p) {
                        negated = !negated;
                    }
                    core = &core[p.len()..];
                    continue 'outer;
                }
            }
            break;
        }
        format!("{}|{}", self.lex.aspect_group(&aspect), self.lex.opinion_group(core, negated))
    }

    /// Aspect–opinion phrases of one item, in text order, at most four.
    pub fn extract(&self, text: &NormalizedText, tokens: &[Token<'_>]) -> Vec<Keyword> {
        self.extract_with_judgements(text, tokens).0
    }

    /// The judgements the rules propose, before the filter (see `Judgement`).
    pub fn judgements(&self, text: &NormalizedText, tokens: &[Token<'_>]) -> Vec<Judgement> {
        self.with_proposals(text, tokens, |_, units, proposals| self.judgements_of(units, &proposals))
    }

    /// `extract` and `judgements` from one pass of the rules.
    pub fn extract_with_judgements(&self, text: &NormalizedText, tokens: &[Token<'_>]) -> (Vec<Keyword>, Vec<Judgement>) {
        self.with_proposals(text, tokens, |s, units, proposals| {
            let judgements = self.judgements_of(units, &proposals);
            (self.select_phrases(s, units, proposals), judgements)
        })
    }

    fn judgements_of(&self, units: &[Unit<'_>], proposals: &[Proposal]) -> Vec<Judgement> {
        proposals
            .iter()
            .map(|p| {
                let o = p.candidate.opinion.0;
                let softened = units[o.saturating_sub(2)..o].iter().any(|u| self.lex.softeners.contains(u.w));
                Judgement { polarity: p.keyword.polarity, known_aspect: p.known, softened }
            })
            .collect()
    }

    /// The filter, then the cap.
    fn select_phrases(&self, s: &str, units: &[Unit<'_>], proposals: Vec<Proposal>) -> Vec<Keyword> {
        let Some(filter) = &self.filter else {
            return self.select(proposals);
        };
        let ctx = ItemContext::of(s, units, proposals.len());
        let mut kept: Vec<(f32, Proposal)> = Vec::with_capacity(proposals.len());
        for (rank, p) in proposals.into_iter().enumerate() {
            let prob = filter.probability(&self.hashed_features(s, units, &p.candidate, rank, &ctx));
            if prob >= filter.threshold() {
                kept.push((prob, p));
            }
        }
        let probs: Vec<f32> = kept.iter().map(|(p, _)| *p).collect();
        let keep = most_probable(&probs, self.max_keywords);
        kept.into_iter().zip(keep).filter(|(_, k)| *k).map(|((_, p), _)| p.keyword).collect()
    }

    /// Every phrase the rules propose (before the filter and the cap of four),
    /// with the filter's feature names: the training examples of the filter.
    #[doc(hidden)]
    pub fn proposals_with_features(&self, text: &NormalizedText, tokens: &[Token<'_>]) -> Vec<ProposalExample> {
        self.with_proposals(text, tokens, |s, units, proposals| {
            let ctx = ItemContext::of(s, units, proposals.len());
            proposals
                .into_iter()
                .enumerate()
                .map(|(rank, p)| {
                    let mut features = Vec::new();
                    self.phrase_features(s, units, &p.candidate, rank, &ctx, &mut |n| features.push(n.to_string()));
                    ProposalExample { order_key: p.order_key(), keyword: p.keyword, features }
                })
                .collect()
        })
    }

    /// Runs the rules over one item and hands the deduplicated proposals, in
    /// text order, to `finish` along with the units they index.
    fn with_proposals<R>(&self, text: &NormalizedText, tokens: &[Token<'_>], finish: impl FnOnce(&str, &[Unit<'_>], Vec<Proposal>) -> R) -> R {
        let s = text.text.as_str();
        if tokens.is_empty() {
            return finish(s, &[], Vec::new());
        }
        let units = self.units(s, tokens);
        let cands = self.candidates(s, &units);
        // Byte offset of each character of the original (and its end).
        let orig_bytes: Vec<usize> =
            if cands.is_empty() { Vec::new() } else { text.original.char_indices().map(|(b, _)| b).chain(std::iter::once(text.original.len())).collect() };
        let mut proposals: Vec<Proposal> = Vec::with_capacity(cands.len());
        for candidate in cands {
            let keyword = self.keyword(text, &orig_bytes, &units, &candidate);
            if proposals.iter().any(|p| p.keyword.aspect == keyword.aspect && (p.keyword.opinion == keyword.opinion || p.keyword.group == keyword.group)) {
                continue;
            }
            let known = self.known_aspect(&s[units[candidate.aspect.0].bs..units[candidate.aspect.1 - 1].be]);
            proposals.push(Proposal { candidate, keyword, known });
        }
        finish(s, &units, proposals)
    }

    /// The cap: at most `max_keywords` phrases, in text order.
    fn select(&self, proposals: Vec<Proposal>) -> Vec<Keyword> {
        let keys: Vec<_> = proposals.iter().map(Proposal::order_key).collect();
        let keep = keep_mask(&keys, self.max_keywords);
        proposals.into_iter().zip(keep).filter(|(_, k)| *k).map(|(p, _)| p.keyword).collect()
    }

    /// An aspect in the aspect lexicon, or a compound ending in one (酒店服务).
    fn known_aspect(&self, aspect: &str) -> bool {
        if self.lex.aspects.contains(aspect) {
            return true;
        }
        aspect.char_indices().skip(1).any(|(i, _)| aspect[i..].chars().count() >= 2 && self.lex.aspects.contains(&aspect[i..]))
    }

    /// Topic words (TF-IDF over nouns and verbs) for items with no
    /// aspect–opinion phrase; never mixed into `extract`'s phrases.
    pub fn topics(&self, _text: &NormalizedText, tokens: &[Token<'_>]) -> Vec<String> {
        self.topics.top(tokens, MAX_TOPICS)
    }

    /// The units the patterns see, as `word/tag` (a debugging aid).
    #[doc(hidden)]
    pub fn debug_units(&self, text: &NormalizedText, tokens: &[Token<'_>]) -> String {
        self.units(&text.text, tokens).iter().map(|u| format!("{}/{}", u.w, u.tag)).collect::<Vec<_>>().join(" ")
    }

    // ---- candidates -----------------------------------------------------------

    fn candidates(&self, s: &str, units: &[Unit<'_>]) -> Vec<Candidate> {
        let mut out = Vec::new();
        // The last aspect seen, for opinions that continue it: (aspect units,
        // clause index, end unit of its opinion).
        let mut last: Option<((usize, usize), usize)> = None;
        let mut clause_idx = 0usize;
        let mut cs = 0;
        while cs < units.len() {
            // Clause [cs, ce).
            let mut ce = cs;
            while ce < units.len() && (!units[ce].brk || self.soft_space(units, cs, ce)) {
                ce += 1;
            }
            if ce > cs {
                self.clause(s, units, cs, ce, clause_idx, &mut last, &mut out);
                clause_idx += 1;
            }
            // A sentence end (。!?) forgets the running aspect.
            if ce < units.len() && units[ce].w.chars().any(|c| matches!(c, '。' | '!' | '?' | '…' | '.' | ';')) {
                last = None;
            }
            cs = ce + 1;
        }
        out
    }

    #[allow(clippy::too_many_arguments)]
    fn clause(
        &self,
        s: &str,
        units: &[Unit<'_>],
        cs: usize,
        ce: usize,
        clause_idx: usize,
        last: &mut Option<((usize, usize), usize)>,
        out: &mut Vec<Candidate>,
    ) {
        let l = &self.lex;
        let hyp_end = l.hypothetical_end(&s[units[cs].bs..units[ce - 1].be]).map(|e| units[cs].bs + e);
        let question = {
            let lastw = units[ce - 1].w;
            lastw == "吗" || lastw == "么" || (ce < units.len() && units[ce].w.contains('?') && (cs..ce).any(|k| units[k].w == "吗"))
        };
        // The aspect and end of the last opinion taken in this clause.
        let mut prev_opinion: Option<((usize, usize), usize, Polarity)> = None;
        let mut i = cs;
        'scan: while i < ce {
            // Neutral words spread over several units (差 + 不多).
            for n in (2..=(ce - i).min(3)).rev() {
                if l.neutral.contains(&s[units[i].bs..units[i + n - 1].be]) {
                    i += n;
                    continue 'scan;
                }
            }
            let Some(m) = self.match_opinion(s, units, i, cs, ce) else {
                i += 1;
                continue;
            };
            i = m.end;
            // Modifiers before the opinion: degree adverbs (dropped) and negators (kept).
            let mut k = m.start;
            let mut negs = 0usize;
            let mut first_neg = None;
            let mut excess = false;
            while k > cs {
                let w = units[k - 1].w;
                if l.negators.contains(w) {
                    negs += 1;
                    first_neg = Some(k - 1);
                } else if l.degree.contains(w) {
                    excess |= l.excess.contains(w);
                } else if (w == "的" || w == "地") && k >= cs + 2 && l.degree.contains(units[k - 2].w) {
                    // 非常的顺: the particle after a degree adverb.
                } else if l.comparison.contains(w) && k >= cs + 2 && l.negators.contains(units[k - 2].w) {
                    // 没有 以前 好: the filler belongs to the negated comparison.
                } else {
                    break;
                }
                k -= 1;
            }
            if matches!(m.found, Found::Pattern(_)) {
                negs = 0;
                first_neg = None;
            }
            if hyp_end.is_some_and(|e| e <= units[m.end - 1].be) || question {
                continue;
            }
            // 最高额度, 最低可以还多少, 最晚几点: a superlative size word that goes
            // on to name or ask about something sets a limit, it does not judge.
            let superlative_limit = matches!(m.found, Found::Lexicon(OpinionInfo { pol: Pol::Context(_), .. }))
                && m.start > cs
                && units[m.start - 1].w == "最"
                && m.end < ce
                && !l.particles.contains(units[m.end].w);
            if superlative_limit {
                continue;
            }
            let op_start = first_neg.unwrap_or(m.start);
            let mut op_end = m.end;
            if op_end < ce && units[op_end].w == "了" && is_verb_tag(units[m.end - 1].tag) {
                op_end += 1;
            }

            // The aspect.
            let mut layout = Layout::AspectOpinion;
            let mut verb = None;
            let mut coordinated: Vec<(usize, usize)> = Vec::new();
            let mut inherited = false;
            let mut source = AspectSource::Object;
            let mut aspect = m.object.inspect(|_| layout = Layout::OpinionAspect);
            let mut b = k;
            let mut located = false;
            while b > cs
                && (l.skip.contains(units[b - 1].w)
                    || l.degree.contains(units[b - 1].w)
                    || (b > cs + 1 && l.locatives.contains(units[b - 1].w) && is_noun_tag(units[b - 2].tag) && {
                        located = true;
                        true
                    })
                    || units[b - 1].w.trim().is_empty()
                    || (matches!(units[b - 1].w, "的" | "地") && b >= cs + 2 && (l.skip.contains(units[b - 2].w) || l.degree.contains(units[b - 2].w))))
            {
                b -= 1;
            }
            // 让人不爽, 令人失望: the person moved is not what is judged.
            if b >= cs + 2 && matches!(units[b - 1].w, "人" | "我" | "我们" | "人家") && matches!(units[b - 2].w, "让" | "令" | "使" | "叫" | "给") {
                b -= 2;
                while b > cs && (l.skip.contains(units[b - 1].w) || l.degree.contains(units[b - 1].w)) {
                    b -= 1;
                }
            }
            // 用起来很舒服: with no subject, "V起来" is the aspect.
            let mut v_qilai = None;
            if b < k
                && b > cs
                && matches!(units[b].w, "起来" | "上去" | "上身")
                && (is_verb_tag(units[b - 1].tag) || units[b - 1].tag == "p")
                && !l.skip.contains(units[b - 1].w)
            {
                // 小说读起来很压抑 judges the 小说; 用起来很舒服, the use.
                v_qilai = Some(self.aspect_before(units, cs, b - 1).unwrap_or((b - 1, b + 1)));
            }
            // 椅子的好脏, 包装的很好: a 的 between the aspect and the modifiers
            // (written for 得 as often as not).
            let de_before_degree = b > cs + 1 && units[b - 1].w == "的" && (b < k || (b == k && k < m.start));
            if de_before_degree && self.is_aspect(&units[b - 2]) {
                b -= 1;
            }
            // A的N: the opinion describes the noun after it (干净的房间, 最好的(一家)宾馆).
            let backward_adjacent = b > cs && self.is_aspect(&units[b - 1]) && b == k;
            let attributive = if aspect.is_none() && !backward_adjacent && op_end + 1 < ce && units[op_end].w == "的" {
                let mut j = op_end + 1;
                while j < ce && j - op_end <= 2 && matches!(units[j].tag, "m" | "mq" | "q") {
                    j += 1;
                }
                (j < ce && self.is_aspect(&units[j]) && !is_verb_tag(units[j].tag)).then_some(j)
            } else {
                None
            };
            if let Some(j) = attributive {
                let mut e = j + 1;
                while e < ce && e - j < 3 && self.is_aspect(&units[e]) && !is_verb_tag(units[e].tag) {
                    e += 1;
                }
                let head = &units[e - 1];
                if !l.aspects.contains(head.w) || l.vague_aspects.contains(head.w) {
                    continue;
                }
                inherited = l.generic_aspects.contains(head.w);
                aspect = Some((j, e));
                source = AspectSource::Attributive;
            }
            if aspect.is_none() {
                if let Some(a) = v_qilai {
                    aspect = Some(a);
                    source = AspectSource::Qilai;
                } else if b >= cs + 2 && (units[b - 1].w == "得" || (de_before_degree && is_verb_tag(units[b - 2].tag))) && self.is_verb_like(&units[b - 2]) {
                    // V得A: 送得慢; with a subject, 客服处理得很及时 judges the 客服.
                    let v = b - 2;
                    layout = Layout::VerbDe;
                    source = AspectSource::VerbDe;
                    verb = Some(v);
                    aspect = Some(self.aspect_before(units, cs, v).unwrap_or((v, v + 1)));
                } else if let Some(run) = self.aspect_before(units, cs, b) {
                    let conj = run.0 > 0 && Self::is_coordinator(units[run.0 - 1].w);
                    let all = (run.1..m.start).any(|x| matches!(units[x].w, "都" | "均" | "全" | "全都" | "都是" | "也都"));
                    if run.0 > cs && matches!(units[run.0 - 1].w, "离" | "距" | "距离" | "靠近" | "临近" | "到") {
                        // 离X近: X is a landmark, not what is judged.
                        continue;
                    }
                    if conj && (all || units[run.0 - 1].w == "、") {
                        // X和Y都好, X、Y都好: every conjunct is judged.
                        aspect = Some(run);
                        source = AspectSource::Before;
                        let mut a0 = run.0;
                        while a0 > 0 && Self::is_coordinator(units[a0 - 1].w) && coordinated.len() < 3 {
                            let lower = if units[a0 - 1].w == "、" { 0 } else { cs };
                            let Some(prev) = self.aspect_before(units, lower, a0 - 1) else { break };
                            coordinated.push(prev);
                            a0 = prev.0;
                        }
                    } else if let Some(cmp) = Self::comparison_marker(units, cs, run.0) {
                        // 比X好 / 不如X: X is the standard of comparison; the aspect is before it.
                        let mut b2 = cmp;
                        while b2 > cs && (l.skip.contains(units[b2 - 1].w) || l.degree.contains(units[b2 - 1].w)) {
                            b2 -= 1;
                        }
                        aspect = self.aspect_before(units, cs, b2);
                        if aspect.is_none() {
                            continue;
                        }
                        source = AspectSource::Comparison;
                    } else {
                        aspect = Some(run);
                        source = AspectSource::Before;
                    }
                } else if let Some(cmp) = (cs..b).rev().take(5).find(|&j| matches!(units[j].w, "比" | "比起")) {
                    // 环境比我想象的好, 比以前好: a standard that is no noun; the
                    // aspect is before 比.
                    let mut b2 = cmp;
                    while b2 > cs && (l.skip.contains(units[b2 - 1].w) || l.degree.contains(units[b2 - 1].w)) {
                        b2 -= 1;
                    }
                    if let Some(a) = self.aspect_before(units, cs, b2) {
                        aspect = Some(a);
                        source = AspectSource::Comparison;
                    }
                }
            }
            // 携带方便, 安装麻烦: a bare verb before a manner opinion is what is judged.
            if aspect.is_none() && b > cs {
                let v = &units[b - 1];
                let core = &s[units[m.start].bs..units[m.end - 1].be];
                if is_verb_tag(v.tag) && v.w.chars().count() >= 2 && l.manner.contains(core) && !self.known(v.w) {
                    aspect = Some((b - 1, b));
                    source = AspectSource::BareVerb;
                }
            }
            // 支付宝里找不到花呗: before a located failure, the object is the aspect.
            if aspect.is_none() || (located && !inherited) {
                if let Some(object) = self.forward_aspect(units, &m, op_end, ce) {
                    aspect = Some(object);
                    layout = Layout::OpinionAspect;
                    source = AspectSource::Forward;
                }
            }
            // 房间大、干净、安静: an opinion opening a clause after 、 judges the
            // previous clause's aspect. (Carrying an aspect across commas or
            // conjunctions costs more precision than it gains recall, and the
            // phrase filter cannot tell the good carries from the bad.)
            if aspect.is_none() && b == cs && cs > 0 && units[cs - 1].w == "、" {
                if let Some((a, idx)) = *last {
                    if idx + 1 == clause_idx {
                        aspect = Some(a);
                        inherited = true;
                        source = AspectSource::Listed;
                    }
                }
            }
            // 房间又旧又小, 设备陈旧而且不齐全, 略小但很温馨: an opinion linked to the
            // previous one in the same clause judges the same aspect.
            if aspect.is_none() {
                if let Some((a, prev_end, prev_polarity)) = prev_opinion {
                    // Between the two: a link word, and otherwise only modifiers;
                    // or, for two opinions of one mind, modifiers alone (很脆很甜,
                    // 新鲜好吃: a list needs no link word, a contrast does).
                    let gap = &units[prev_end.min(m.start)..m.start];
                    let modifiers_only =
                        gap.iter().all(|u| l.links.contains(u.w) || l.degree.contains(u.w) || l.negators.contains(u.w) || u.w.trim().is_empty());
                    let own_polarity = match m.found {
                        Found::Pattern(p) | Found::Lexicon(OpinionInfo { pol: Pol::Fixed(p), .. }) => Some(if negs % 2 == 1 { p.flip() } else { p }),
                        Found::Lexicon(_) => None,
                    };
                    let link_word = gap.iter().any(|u| l.links.contains(u.w));
                    if modifiers_only && (link_word || own_polarity.is_none_or(|p| p == prev_polarity)) {
                        aspect = Some(a);
                        inherited = true;
                        source = AspectSource::Linked;
                    }
                }
            }
            let Some(aspect) = aspect else { continue };
            // Vague opinions (近, 多, 没有) only on aspects the lexicon knows.
            // (Proposing the others for the phrase filter to judge gained nothing.)
            let core = &s[units[m.start].bs..units[m.end - 1].be];
            if l.weak.contains(core) && !self.known_aspect(&s[units[aspect.0].bs..units[aspect.1 - 1].be]) {
                continue;
            }
            *last = Some((aspect, clause_idx));

            // Polarity.
            let polarity = match m.found {
                Found::Pattern(p) => p,
                Found::Lexicon(OpinionInfo { pol: Pol::Fixed(p), .. }) => p,
                Found::Lexicon(OpinionInfo { pol: Pol::Context(ix), .. }) => {
                    if excess && !matches!(&s[units[m.start].bs..units[m.end - 1].be], "快" | "慢") {
                        Polarity::Negative
                    } else {
                        let atext = &s[units[aspect.0].bs..units[aspect.1 - 1].be];
                        l.context[ix as usize].polarity(l.aspect_class(atext))
                    }
                }
            };
            let negated = negs % 2 == 1;
            let polarity = if negated { polarity.flip() } else { polarity };
            prev_opinion = Some((aspect, op_end, polarity));
            let phrase = Candidate {
                aspect,
                opinion: (op_start, op_end),
                core: (m.start, m.end),
                negated,
                polarity,
                layout,
                verb,
                derived: inherited,
                source,
                found: m.found,
            };
            // Coordinated aspects come first, in text order.
            for &a in coordinated.iter().rev() {
                let polarity = match m.found {
                    Found::Lexicon(OpinionInfo { pol: Pol::Context(ix), .. }) if !excess => {
                        let p = l.context[ix as usize].polarity(l.aspect_class(&s[units[a.0].bs..units[a.1 - 1].be]));
                        if negated {
                            p.flip()
                        } else {
                            p
                        }
                    }
                    _ => polarity,
                };
                out.push(Candidate { aspect: a, polarity, derived: true, source: AspectSource::Coordinated, ..phrase.clone() });
            }
            out.push(phrase);
        }
    }

    fn keyword(&self, text: &NormalizedText, orig_bytes: &[usize], units: &[Unit<'_>], c: &Candidate) -> Keyword {
        let s = text.text.as_str();
        // Aspect and opinion as written: the original characters they came from.
        let as_written = |from: usize, to: usize| -> String {
            let (a, b) = text.original_range(units[from].start, units[to - 1].end);
            match (orig_bytes.get(a), orig_bytes.get(b)) {
                (Some(&x), Some(&y)) if x <= y => text.original[x..y].to_string(),
                _ => s[units[from].bs..units[to - 1].be].to_string(),
            }
        };
        let aspect = as_written(c.aspect.0, c.aspect.1);
        let opinion = as_written(c.opinion.0, c.opinion.1);
        let display = match c.layout {
            Layout::AspectOpinion => format!("{aspect}{opinion}"),
            Layout::VerbDe => match c.verb {
                Some(v) if v >= c.aspect.1 => format!("{aspect}{}得{opinion}", &s[units[v].bs..units[v].be]),
                _ => format!("{aspect}得{opinion}"),
            },
            Layout::OpinionAspect => format!("{opinion}{aspect}"),
        };
        let lo = units[c.aspect.0].start.min(units[c.opinion.0].start);
        let hi = units[c.aspect.1 - 1].end.max(units[c.opinion.1 - 1].end);
        let (start, end) = text.original_range(lo, hi);
        // The group reads the normalised text (simplified, lower case).
        let norm_aspect = &s[units[c.aspect.0].bs..units[c.aspect.1 - 1].be];
        let core = &s[units[c.core.0].bs..units[c.core.1 - 1].be];
        // A context word on a price groups by what it means: 价格高 and 价格贵 are one issue.
        let on_price = matches!(self.lex.opinions.get(core), Some(OpinionInfo { pol: Pol::Context(_), .. }))
            && self.lex.cost_class.is_some()
            && self.lex.aspect_class(norm_aspect) == self.lex.cost_class;
        let opinion_group = if on_price {
            match c.polarity {
                Polarity::Positive => "便宜".to_string(),
                Polarity::Negative => "贵".to_string(),
            }
        } else {
            self.lex.opinion_group(core, c.negated)
        };
        let group = format!("{}|{}", self.lex.aspect_group(norm_aspect), opinion_group);
        Keyword { text: display, aspect, opinion, polarity: c.polarity, start, end, group }
    }
}
