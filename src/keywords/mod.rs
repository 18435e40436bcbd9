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

mod lexicon;
mod topics;

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::normalize::NormalizedText;
use crate::segment::Token;

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

/// Extracts keyword phrases; `Send + Sync`, build once and share.
#[derive(Debug)]
pub struct KeywordExtractor {
    lex: Lexicon,
    topics: TopicModel,
    max_keywords: usize,
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
}

fn is_noun_tag(tag: &str) -> bool {
    matches!(tag, "n" | "nr" | "nrt" | "nrfg" | "ns" | "nt" | "nz" | "ng" | "vn" | "an" | "eng" | "j" | "nw")
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
        Ok(KeywordExtractor { lex: Lexicon::embedded()?, topics: TopicModel::embedded()?, max_keywords: MAX_KEYWORDS })
    }

    /// The extractor with lexicons given as TOML texts (same formats as the files
    /// in `models/keywords/`), e.g. a team's extended copies.
    pub fn from_lexicons(opinions: &str, aspects: &str, modifiers: &str, synonyms: &str) -> Result<Self> {
        Ok(KeywordExtractor {
            lex: Lexicon::from_sources(opinions, aspects, modifiers, synonyms)?,
            topics: TopicModel::embedded()?,
            max_keywords: MAX_KEYWORDS,
        })
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
        if tokens.is_empty() {
            return Vec::new();
        }
        let s = text.text.as_str();
        let units = self.units(s, tokens);
        let cands = self.candidates(s, &units);
        let mut out: Vec<Keyword> = Vec::with_capacity(cands.len().min(self.max_keywords));
        if cands.is_empty() {
            return out;
        }
        // Byte offset of each character of the original (and its end).
        let orig_bytes: Vec<usize> = text.original.char_indices().map(|(b, _)| b).chain(std::iter::once(text.original.len())).collect();
        let mut all: Vec<((bool, bool), Keyword)> = Vec::with_capacity(cands.len());
        for c in &cands {
            let kw = self.keyword(text, &orig_bytes, &units, c);
            if all.iter().any(|(_, k)| k.aspect == kw.aspect && (k.opinion == kw.opinion || k.group == kw.group)) {
                continue;
            }
            let known = self.known_aspect(&s[units[c.aspect.0].bs..units[c.aspect.1 - 1].be]);
            all.push(((c.derived, !known), kw));
        }
        // More phrases than are kept: those on known aspects first, then the
        // earliest; the kept phrases stay in text order.
        if all.len() > self.max_keywords {
            let mut order: Vec<usize> = (0..all.len()).collect();
            order.sort_by_key(|&i| (all[i].0, i));
            let mut keep = vec![false; all.len()];
            for &i in order.iter().take(self.max_keywords) {
                keep[i] = true;
            }
            let mut k = keep.into_iter();
            all.retain(|_| k.next().unwrap_or(false));
        }
        out.extend(all.into_iter().map(|(_, kw)| kw));
        out
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

    // ---- units --------------------------------------------------------------

    fn units<'a>(&self, s: &'a str, tokens: &[Token<'a>]) -> Vec<Unit<'a>> {
        let mut out = Vec::with_capacity(tokens.len() + 8);
        for t in tokens {
            let u = Unit {
                w: t.word,
                tag: t.tag,
                start: t.start,
                end: t.end,
                bs: t.byte_start,
                be: t.byte_end,
                brk: t.is_clause_break() && t.is_punctuation(),
            };
            // 价格比 + 出租车便宜: a known aspect glued to 比.
            if let Some(head) = t.word.strip_suffix('比') {
                if !head.is_empty() && self.lex.aspects.contains(head) {
                    let hb = u.bs + head.len();
                    let hc = u.start + head.chars().count();
                    out.push(Unit { w: &s[u.bs..hb], tag: "n", end: hc, be: hb, ..u });
                    out.push(Unit { w: &s[hb..u.be], tag: "p", start: hc, bs: hb, ..u });
                    continue;
                }
            }
            if u.brk || t.word.len() <= 3 || unsplittable_tag(t.tag) || self.known(t.word) {
                out.push(u);
                continue;
            }
            self.split_into(s, u, &mut out);
        }
        out
    }

    /// A word the patterns know as a whole.
    fn known(&self, w: &str) -> bool {
        let l = &self.lex;
        l.opinions.contains_key(w)
            || l.neutral.contains(w)
            || l.negators.contains(w)
            || l.degree.contains(w)
            || l.aspects.contains(w)
            || l.skip.contains(w)
            || l.modal_negators.contains(w)
    }

    /// Splits a glued token (太慢, 不太好, 送得慢, 也不) into known pieces when
    /// that gives an opinion; otherwise keeps it whole.
    fn split_into<'a>(&self, s: &'a str, u: Unit<'a>, out: &mut Vec<Unit<'a>>) {
        let w = u.w;
        let bounds: Vec<usize> = w.char_indices().map(|(b, _)| b).chain(std::iter::once(w.len())).collect();
        let n = bounds.len() - 1;
        if n > 8 {
            out.push(u);
            return;
        }
        // A glued token splits as  [prefix]* opinion [particle]  or  verb 得 [prefix]* opinion,
        // where prefixes are degree adverbs, negators and linking adverbs (也, 还, 都).
        let l = &self.lex;
        let is_prefix = |p: &str| l.degree.contains(p) || l.negators.contains(p) || l.skip.contains(p);
        // Cuts (byte offsets in w) of the best split: fewest pieces.
        let mut best: Option<(Vec<usize>, usize)> = None;
        // The opinion piece ends at `j`, optionally followed by one particle.
        for j in (1..=n).rev() {
            let tail = &w[bounds[j]..];
            if !(tail.is_empty() || l.particles.contains(tail)) {
                continue;
            }
            for i in 0..j {
                let piece = &w[bounds[i]..bounds[j]];
                if !l.opinions.contains_key(piece) {
                    continue;
                }
                // The head w[..bounds[i]]: prefixes, or verb + 得 + prefixes.
                if let Some(mut cuts) = self.split_head(&w[..bounds[i]], &bounds[..=i], is_prefix) {
                    cuts.push(bounds[i]);
                    cuts.push(bounds[j]);
                    if !tail.is_empty() {
                        cuts.push(w.len());
                    }
                    if cuts.len() > 2 && best.as_ref().is_none_or(|(b, _)| cuts.len() < b.len()) {
                        best = Some((cuts, bounds[i]));
                    }
                }
            }
        }
        // A trailing 得 (送得) splits off too, for V得A across tokens.
        if best.is_none() && n >= 2 && w.ends_with('得') {
            best = Some((vec![0, w.len() - '得'.len_utf8(), w.len()], usize::MAX));
        }
        let Some((cuts, op_at)) = best else {
            out.push(u);
            return;
        };
        let mut char_pos = u.start;
        for win in cuts.windows(2) {
            let (a, b) = (win[0], win[1]);
            let piece = &w[a..b];
            let len = piece.chars().count();
            let tag = if a == op_at {
                if is_verb_tag(u.tag) { u.tag } else { "a" }
            } else if piece == "得" {
                "ud"
            } else if a > op_at {
                "ul"
            } else if a == 0 && l.aspects.contains(piece) {
                "n"
            } else if a == 0 && !is_prefix(piece) {
                "v"
            } else {
                "d"
            };
            out.push(Unit { w: &s[u.bs + a..u.bs + b], tag, start: char_pos, end: char_pos + len, bs: u.bs + a, be: u.bs + b, brk: false });
            char_pos += len;
        }
        let _ = s;
    }

    /// Cuts of `head` (a token's text before its opinion) into prefixes, or into a
    /// verb, 得 and prefixes; `bounds` are its char boundaries. `None` if neither.
    fn split_head(&self, head: &str, bounds: &[usize], is_prefix: impl Fn(&str) -> bool) -> Option<Vec<usize>> {
        let n = bounds.len() - 1;
        // Fewest prefixes covering head[bounds[from]..]: greedy longest-first is enough
        // for these short words, with a fallback to shorter pieces.
        fn cover(head: &str, bounds: &[usize], from: usize, is_prefix: &dyn Fn(&str) -> bool) -> Option<Vec<usize>> {
            let n = bounds.len() - 1;
            if from == n {
                return Some(Vec::new());
            }
            for to in (from + 1..=n).rev() {
                if is_prefix(&head[bounds[from]..bounds[to]]) {
                    if let Some(mut rest) = cover(head, bounds, to, is_prefix) {
                        rest.insert(0, bounds[from]);
                        return Some(rest);
                    }
                }
            }
            None
        }
        if let Some(c) = cover(head, bounds, 0, &is_prefix) {
            return Some(c);
        }
        // aspect + prefixes: 速度快, 皮太厚, 价格合理 glued by jieba.
        for k in (1..n).rev() {
            if self.lex.aspects.contains(&head[..bounds[k]]) {
                if let Some(rest) = cover(head, bounds, k, &is_prefix) {
                    let mut c = vec![0];
                    c.extend(rest);
                    return Some(c);
                }
            }
        }
        if n >= 1 && self.lex.aspects.contains(head) {
            return Some(vec![0]);
        }
        // verb 得 prefixes
        for k in 1..n {
            if &head[bounds[k]..bounds[k + 1]] == "得" {
                if let Some(rest) = cover(head, bounds, k + 1, &is_prefix) {
                    let mut c = vec![0, bounds[k]];
                    c.extend(rest);
                    return Some(c);
                }
            }
        }
        None
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
            while ce < units.len() && !(units[ce].brk && !self.soft_space(units, cs, ce)) {
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
            lastw == "吗"
                || lastw == "么"
                || (ce < units.len() && units[ce].w.contains('?') && (cs..ce).any(|k| units[k].w == "吗"))
        };
        // The aspect and end of the last opinion taken in this clause.
        let mut prev_opinion: Option<((usize, usize), usize)> = None;
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
            if b < k && b > cs && matches!(units[b].w, "起来" | "上去" | "上身") && (is_verb_tag(units[b - 1].tag) || units[b - 1].tag == "p") && !l.skip.contains(units[b - 1].w) {
                // 小说读起来很压抑 judges the 小说; 用起来很舒服, the use.
                v_qilai = Some(self.aspect_before(units, cs, b - 1).unwrap_or((b - 1, b + 1)));
            }
            // 椅子的好脏: a 的 between the aspect and the modifiers.
            if b > cs + 1 && b < k && units[b - 1].w == "的" && self.is_aspect(&units[b - 2]) {
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
            }
            if aspect.is_none() {
                if let Some(a) = v_qilai {
                    aspect = Some(a);
                } else if b >= cs + 2 && units[b - 1].w == "得" && self.is_verb_like(&units[b - 2]) {
                    // V得A: 送得慢; with a subject, 客服处理得很及时 judges the 客服.
                    let v = b - 2;
                    layout = Layout::VerbDe;
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
                    } else {
                        aspect = Some(run);
                    }
                }
            }
            // 携带方便, 安装麻烦: a bare verb before a manner opinion is what is judged.
            if aspect.is_none() && b > cs {
                let v = &units[b - 1];
                let core = &s[units[m.start].bs..units[m.end - 1].be];
                if is_verb_tag(v.tag) && v.w.chars().count() >= 2 && l.manner.contains(core) && !self.known(v.w) {
                    aspect = Some((b - 1, b));
                }
            }
            // 支付宝里找不到花呗: before a located failure, the object is the aspect.
            if aspect.is_none() || (located && !inherited) {
                if let Some(object) = self.forward_aspect(units, &m, op_end, ce) {
                    aspect = Some(object);
                    layout = Layout::OpinionAspect;
                }
            }
            // 房间大、干净、安静: an opinion opening a clause after 、 judges the
            // previous clause's aspect. (Carrying an aspect across commas or
            // conjunctions costs more precision than it gains recall.)
            if aspect.is_none() && b == cs && cs > 0 && units[cs - 1].w == "、" {
                if let Some((a, idx)) = *last {
                    if idx + 1 == clause_idx {
                        aspect = Some(a);
                        inherited = true;
                    }
                }
            }
            // 房间又旧又小, 设备陈旧而且不齐全, 略小但很温馨: an opinion linked to the
            // previous one in the same clause judges the same aspect.
            if aspect.is_none() {
                if let Some((a, prev_end)) = prev_opinion {
                    // Between the two: a link word, and otherwise only modifiers.
                    let gap = &units[prev_end.min(m.start)..m.start];
                    let linked = gap.iter().any(|u| l.links.contains(u.w))
                        && gap.iter().all(|u| l.links.contains(u.w) || l.degree.contains(u.w) || l.negators.contains(u.w) || u.w.trim().is_empty());
                    if linked {
                        aspect = Some(a);
                        inherited = true;
                    }
                }
            }
            let Some(aspect) = aspect else { continue };
            // Vague opinions (近, 多, 没有) only on aspects the lexicon knows.
            let core = &s[units[m.start].bs..units[m.end - 1].be];
            if l.weak.contains(core) && !self.known_aspect(&s[units[aspect.0].bs..units[aspect.1 - 1].be]) {
                continue;
            }
            *last = Some((aspect, clause_idx));
            prev_opinion = Some((aspect, op_end));

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
            // Coordinated aspects come first, in text order.
            for &a in coordinated.iter().rev() {
                let polarity = match m.found {
                    Found::Lexicon(OpinionInfo { pol: Pol::Context(ix), .. }) if !excess => {
                        let p = l.context[ix as usize].polarity(l.aspect_class(&s[units[a.0].bs..units[a.1 - 1].be]));
                        if negated { p.flip() } else { p }
                    }
                    _ => polarity,
                };
                out.push(Candidate { aspect: a, opinion: (op_start, op_end), core: (m.start, m.end), negated, polarity, layout, verb, derived: true });
            }
            out.push(Candidate {
                aspect,
                opinion: (op_start, op_end),
                core: (m.start, m.end),
                negated,
                polarity,
                layout,
                verb,
                derived: inherited,
            });
        }
    }

    /// The aspect run ending right before unit `b`: a head noun (or aspect verb)
    /// with up to two noun modifiers before it (客服态度, 送货速度).
    fn aspect_before(&self, units: &[Unit<'_>], cs: usize, b: usize) -> Option<(usize, usize)> {
        if b <= cs {
            return None;
        }
        // X的V: a verb after 的 is used as a noun (一楼的烧烤不错).
        let nominal_verb = b >= cs + 2
            && units[b - 2].w == "的"
            && is_verb_tag(units[b - 1].tag)
            && units[b - 1].w.chars().count() >= 2
            && !self.lex.skip.contains(units[b - 1].w)
            && !self.lex.opinions.contains_key(units[b - 1].w);
        if !self.is_aspect(&units[b - 1]) && !nominal_verb {
            return None;
        }
        if nominal_verb && !self.is_aspect(&units[b - 1]) {
            return Some((b - 1, b));
        }
        let head = b - 1;
        let mut a0 = head;
        if !is_verb_tag(units[head].tag) {
            while a0 > cs && head + 1 - a0 < 3 && units[head].end - units[a0 - 1].start <= 6 && {
                let u = &units[a0 - 1];
                self.is_aspect(u) && (is_noun_tag(u.tag) || self.lex.aspects.contains(u.w))
            } {
                a0 -= 1;
            }
        }
        Some((a0, head + 1))
    }

    /// A space between an aspect and its opinion (裤子 很好) does not end the clause.
    fn soft_space(&self, units: &[Unit<'_>], cs: usize, i: usize) -> bool {
        if !units[i].w.trim().is_empty() || i == cs || i + 1 >= units.len() {
            return false;
        }
        let (prev, next) = (&units[i - 1], &units[i + 1]);
        let l = &self.lex;
        self.is_aspect(prev) && (l.degree.contains(next.w) || l.negators.contains(next.w) || l.opinions.contains_key(next.w))
    }

    /// A word that can be the aspect.
    fn is_aspect(&self, u: &Unit<'_>) -> bool {
        let l = &self.lex;
        let w = u.w;
        if l.not_aspects.contains(w) || l.skip.contains(w) || l.degree.contains(w) || l.negators.contains(w) {
            return false;
        }
        if l.aspects.contains(w) {
            return true;
        }
        let opinion_word = match l.opinions.get(w) {
            None => false,
            Some(OpinionInfo { pol: Pol::Fixed(Polarity::Negative), .. }) => !is_noun_tag(u.tag),
            Some(_) => true,
        };
        if opinion_word || l.contrast.contains(w) {
            return false;
        }
        if u.tag == "eng" {
            return w.chars().any(|c| c.is_alphabetic()) && w.len() >= 2;
        }
        is_noun_tag(u.tag) || (is_verb_tag(u.tag) && l.verb_aspects.contains(w)) || self.compound_aspect(u)
    }

    /// A compound the tagger did not call a noun but whose head is a known aspect
    /// (下载速度/l, 隔音效果/l): the head of a Chinese compound is last.
    fn compound_aspect(&self, u: &Unit<'_>) -> bool {
        let l = &self.lex;
        if unsplittable_tag(u.tag) || u.w.chars().count() < 3 {
            return false;
        }
        u.w.char_indices().skip(1).any(|(i, _)| {
            let head = &u.w[i..];
            head.chars().count() >= 2 && l.aspects.contains(head) && !l.not_aspects.contains(head)
        })
    }

    /// The position of 比 (不如, 像 …) right before an aspect run, possibly with
    /// a possessive in between (比我的三星流畅).
    fn comparison_marker(units: &[Unit<'_>], cs: usize, run_start: usize) -> Option<usize> {
        let mut j = run_start;
        let mut near = true;
        while j > cs && run_start - j < 6 {
            let w = units[j - 1].w;
            if matches!(w, "比" | "比起" | "不如" | "相比") || (near && matches!(w, "像" | "跟" | "和" | "与" | "同")) {
                return Some(j - 1);
            }
            // Past a possessive or a number (比我的三星), only 比 itself marks the
            // standard (比其他城市的四星宾馆差): 和 and 跟 also join aspects.
            near &= units[j - 1].tag == "r" || w == "的" || units[j - 1].tag == "eng" || units[j - 1].tag == "m";
            near &= run_start - j < 3;
            if units[j - 1].brk || units[j - 1].tag == "x" {
                return None;
            }
            j -= 1;
        }
        None
    }

    fn is_coordinator(w: &str) -> bool {
        matches!(w, "和" | "跟" | "与" | "及" | "以及" | "还是" | "或" | "或者" | "、" | "及其" | "还有")
    }

    fn is_verb_like(&self, u: &Unit<'_>) -> bool {
        (is_verb_tag(u.tag) || self.lex.verb_aspects.contains(u.w) || self.lex.aspects.contains(u.w))
            && !self.lex.skip.contains(u.w)
            && !self.lex.degree.contains(u.w)
    }

    /// The aspect after an opinion: the object of a failure verb (用不了借呗,
    /// 不能群发短信, 没给筷子) or the noun of A的N (干净的房间).
    fn forward_aspect(&self, units: &[Unit<'_>], m: &OpinionMatch, op_end: usize, ce: usize) -> Option<(usize, usize)> {
        let verbal = match m.found {
            Found::Pattern(_) => true,
            Found::Lexicon(OpinionInfo { pol: Pol::Fixed(Polarity::Negative), .. }) => {
                m.end - m.start > 1 || is_verb_tag(units[m.end - 1].tag)
            }
            _ => false,
        };
        let mut j = op_end;
        if verbal {
            while j < ce && matches!(units[j].w, "了" | "我" | "给我" | "我的" | "过") {
                j += 1;
            }
        } else if j + 1 < ce && units[j].w == "的" {
            j += 1;
        } else {
            return None;
        }
        if j >= ce || !self.is_aspect(&units[j]) || (is_verb_tag(units[j].tag) && !self.lex.aspects.contains(units[j].w)) {
            return None;
        }
        let mut e = j + 1;
        while e < ce && e - j < 2 && self.is_aspect(&units[e]) && !is_verb_tag(units[e].tag) && units[e].end - units[j].start <= 6 {
            e += 1;
        }
        if self.lex.vague_aspects.contains(units[e - 1].w) {
            return None;
        }
        Some((j, e))
    }

    /// The opinion starting at unit `i`, if any.
    fn match_opinion(&self, s: &str, units: &[Unit<'_>], i: usize, cs: usize, ce: usize) -> Option<OpinionMatch> {
        let l = &self.lex;
        let w = units[i].w;
        // Ease of an action: 好叫, 难找, 不好调节 (unless the lexicon has the whole).
        if i + 1 < ce && (l.easy_markers.contains(w) || l.hard_markers.contains(w)) {
            let v = &units[i + 1];
            let whole = &s[units[i].bs..v.be];
            // 好 + a two-character verb is mostly "so as to" (好享受, 好培养).
            let max_verb = if l.easy_markers.contains(w) { 1 } else { 2 };
            if is_verb_tag(v.tag)
                && v.w.chars().count() <= max_verb
                && !l.opinions.contains_key(whole)
                && !l.opinions.contains_key(v.w)
                && !l.modal_verbs.contains(v.w)
                && !l.skip.contains(v.w)
                && !l.degree.contains(v.w)
            {
                let pol = if l.easy_markers.contains(w) { Polarity::Positive } else { Polarity::Negative };
                return Some(OpinionMatch { start: i, end: i + 2, found: Found::Pattern(pol), object: None });
            }
        }
        // Lexicon words and phrases, longest first.
        let max_n = (ce - i).min(4);
        for n in (1..=max_n).rev() {
            let slice = &s[units[i].bs..units[i + n - 1].be];
            if slice.len() > l.max_opinion_chars * 4 {
                continue;
            }
            let Some(info) = l.opinions.get(slice) else { continue };
            let end = i + n;
            // A degree adverb, negator or noun right before another opinion is not one itself
            // (严重不符, 卫生很好, 没有问题).
            if n == 1 && l.degree.contains(w) && end < ce && (l.opinions.contains_key(units[end].w) || l.negators.contains(units[end].w)) {
                // 好重, 好不方便: a degree adverb here.
                return None;
            }
            // 快到了, 多放点, 少给了: a one-character word before a verb is an adverb.
            if n == 1 && w.chars().count() == 1 && end < ce && is_verb_tag(units[end].tag) && !matches!(units[end].w, "了" | "的" | "得" | "过") && matches!(w, "快" | "多" | "少" | "早" | "晚" | "好" | "难" | "慢" | "大" | "小" | "高" | "低") {
                return None;
            }
            if n == 1 && (l.negators.contains(w) || l.aspects.contains(w) || is_noun_tag(units[i].tag)) {
                let mut j = end;
                while j < ce && (l.degree.contains(units[j].w) || l.skip.contains(units[j].w) || l.negators.contains(units[j].w)) {
                    j += 1;
                }
                // Not an opinion here; a pattern may still start (没 + 给).
                if j < ce && (l.opinions.contains_key(units[j].w) || (j > end && l.negators.contains(units[j - 1].w))) {
                    break;
                }
                // 没有 + noun is a negator of what follows, not 没有 the opinion.
                if l.negators.contains(w) && j < ce && !l.particles.contains(units[j].w) {
                    break;
                }
            }
            if info.final_only {
                let mut j = end;
                while j < ce && (l.particles.contains(units[j].w) || units[j].tag == "x" || units[j].tag == "y") {
                    j += 1;
                }
                if j < ce {
                    continue;
                }
            }
            // 酸甜 + 可口: adjacent opinions of the same polarity read as one (酸甜可口).
            let mut end = end;
            if let Pol::Fixed(p) = info.pol {
                while end < ce {
                    match l.opinions.get(units[end].w) {
                        Some(OpinionInfo { pol: Pol::Fixed(q), final_only: false }) if *q == p && !l.degree.contains(units[end].w) && !is_noun_tag(units[end].tag) => end += 1,
                        _ => break,
                    }
                }
            }
            return Some(OpinionMatch { start: i, end, found: Found::Lexicon(*info), object: None });
        }
        // Modal failure: 无法 + verb, 不能 + verb.
        if l.modal_negators.contains(w) && i + 1 < ce && is_verb_tag(units[i + 1].tag) && !l.skip.contains(units[i + 1].w) && units[i + 1].w != "有" {
            return Some(OpinionMatch { start: i, end: i + 2, found: Found::Pattern(Polarity::Negative), object: None });
        }
        // Omission: 没 + 给 (筷子); 没 + 缝好 / 没 + 洗干净 (a result not reached).
        let unfinished = |u: &Unit<'_>| is_verb_tag(u.tag) && u.w.chars().count() >= 2 && ["好", "完", "对", "齐", "净", "全", "清", "到"].iter().any(|c| u.w.ends_with(c));
        if l.omission_negators.contains(w) && i + 1 < ce && (l.give_verbs.contains(units[i + 1].w) || unfinished(&units[i + 1])) {
            return Some(OpinionMatch { start: i, end: i + 2, found: Found::Pattern(Polarity::Negative), object: None });
        }
        // Charge: 扣 了 两次 钱.
        if l.charge_verbs.contains(w) {
            let mut j = i + 1;
            while j < ce && (units[j].w == "了" || matches!(units[j].tag, "m" | "mq" | "q") || units[j].w.ends_with('次')) {
                j += 1;
            }
            if j < ce && j > i + 1 && l.money_nouns.contains(units[j].w) {
                return Some(OpinionMatch {
                    start: i,
                    end: j,
                    found: Found::Pattern(Polarity::Negative),
                    object: Some((j, j + 1)),
                });
            }
        }
        let _ = cs;
        None
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
