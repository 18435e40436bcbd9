//! The keyword lexicons in `models/keywords/`, parsed once into hash tables.

use std::collections::HashMap;

use rustc_hash::{FxHashMap, FxHashSet};

use aho_corasick::{AhoCorasick, MatchKind};
use serde::Deserialize;

use super::Polarity;
use crate::error::{Error, Result};

/// The embedded lexicon files (name, contents).
pub const OPINIONS: &str = include_str!("../../models/keywords/opinions.toml");
pub const ASPECTS: &str = include_str!("../../models/keywords/aspects.toml");
pub const MODIFIERS: &str = include_str!("../../models/keywords/modifiers.toml");
pub const SYNONYMS: &str = include_str!("../../models/keywords/synonyms.toml");

/// How an opinion word's polarity is decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pol {
    Fixed(Polarity),
    /// Index into `Lexicon::context`.
    Context(u16),
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct OpinionInfo {
    pub pol: Pol,
    /// Only an opinion at the end of a clause.
    pub final_only: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct ContextRule {
    pub default: Polarity,
    pub by_class: Vec<(u8, Polarity)>,
}

impl ContextRule {
    pub fn polarity(&self, class: Option<u8>) -> Polarity {
        class.and_then(|c| self.by_class.iter().find(|(k, _)| *k == c).map(|(_, p)| *p)).unwrap_or(self.default)
    }
}

/// All keyword lexicons, ready for lookups.
#[derive(Debug)]
pub(crate) struct Lexicon {
    pub opinions: FxHashMap<String, OpinionInfo>,
    /// Words that contain an opinion but are not one (差不多, 多少).
    pub neutral: FxHashSet<String>,
    /// Opinions on how an action goes (方便, 麻烦, 快): a bare verb before them is
    /// the aspect (携带方便).
    pub manner: FxHashSet<String>,
    /// Opinions too vague to stand on an aspect the lexicon does not know (离码头近).
    pub weak: FxHashSet<String>,
    /// Longest opinion entry, in characters.
    pub max_opinion_chars: usize,
    pub context: Vec<ContextRule>,
    pub aspects: FxHashSet<String>,
    pub verb_aspects: FxHashSet<String>,
    pub not_aspects: FxHashSet<String>,
    /// Aspects too general to take from A的N (不错的酒店 praises the stay, not a
    /// feature of it).
    pub generic_aspects: FxHashSet<String>,
    /// Aspects too vague to take from A的N at all (最好的选择).
    pub vague_aspects: FxHashSet<String>,
    /// Aspect class members (longest-first search through `class_ac`).
    class_ac: AhoCorasick,
    class_of_pattern: Vec<u8>,
    /// The `cost` class: a context word on a price groups as 贵 or 便宜.
    pub cost_class: Option<u8>,
    pub degree: FxHashSet<String>,
    pub excess: FxHashSet<String>,
    /// "Somewhat" degrees: a judgement after them is a passing remark (房间略小).
    pub softeners: FxHashSet<String>,
    pub negators: FxHashSet<String>,
    pub comparison: FxHashSet<String>,
    pub contrast: FxHashSet<String>,
    /// Words that link two opinions on one aspect (又旧又小, 陈旧而且不齐全).
    pub links: FxHashSet<String>,
    pub locatives: FxHashSet<String>,
    pub skip: FxHashSet<String>,
    hypothetical_ac: AhoCorasick,
    pub omission_negators: FxHashSet<String>,
    pub give_verbs: FxHashSet<String>,
    pub modal_negators: FxHashSet<String>,
    pub charge_verbs: FxHashSet<String>,
    pub money_nouns: FxHashSet<String>,
    pub particles: FxHashSet<String>,
    pub easy_markers: FxHashSet<String>,
    pub hard_markers: FxHashSet<String>,
    pub modal_verbs: FxHashSet<String>,
    /// Degree adverbs and negators that may be split off the front of a token,
    /// longest first.
    pub prefixes: Vec<String>,
    pub aspect_groups: FxHashMap<String, String>,
    pub opinion_groups: FxHashMap<String, String>,
    pub antonyms: FxHashMap<String, String>,
}

#[derive(Deserialize)]
struct OpinionsFile {
    positive: HashMap<String, Vec<String>>,
    negative: HashMap<String, Vec<String>>,
    #[serde(default)]
    context: HashMap<String, HashMap<String, String>>,
    #[serde(default)]
    position: PositionTable,
    #[serde(default)]
    neutral: Option<WordsTable>,
    #[serde(default)]
    weak: Option<WordsTable>,
    #[serde(default)]
    manner: Option<WordsTable>,
}

#[derive(Deserialize, Default)]
struct PositionTable {
    #[serde(default)]
    final_only: Vec<String>,
}

#[derive(Deserialize)]
struct WordsTable {
    words: Vec<String>,
}

#[derive(Deserialize)]
struct GenericTable {
    words: Vec<String>,
    #[serde(default)]
    vague: Vec<String>,
}

#[derive(Deserialize)]
struct AspectsFile {
    aspects: HashMap<String, Vec<String>>,
    verbs: WordsTable,
    not_aspects: WordsTable,
    #[serde(default)]
    generic: Option<GenericTable>,
    classes: HashMap<String, Vec<String>>,
}

#[derive(Deserialize)]
struct ModifiersFile {
    degree: Vec<String>,
    skip: Vec<String>,
    excess: Vec<String>,
    #[serde(default)]
    softeners: Vec<String>,
    negators: Vec<String>,
    comparison: Vec<String>,
    contrast: Vec<String>,
    #[serde(default)]
    links: Vec<String>,
    #[serde(default)]
    locatives: Vec<String>,
    hypothetical: Vec<String>,
    patterns: PatternsTable,
}

#[derive(Deserialize)]
struct PatternsTable {
    omission_negators: Vec<String>,
    give_verbs: Vec<String>,
    modal_negators: Vec<String>,
    charge_verbs: Vec<String>,
    money_nouns: Vec<String>,
    particles: Vec<String>,
    #[serde(default)]
    easy_markers: Vec<String>,
    #[serde(default)]
    hard_markers: Vec<String>,
    #[serde(default)]
    modal_verbs: Vec<String>,
}

#[derive(Deserialize)]
struct SynonymsFile {
    aspects: HashMap<String, Vec<String>>,
    opinions: HashMap<String, Vec<String>>,
    antonyms: HashMap<String, String>,
}

fn parse<T: for<'de> Deserialize<'de>>(name: &str, data: &str) -> Result<T> {
    toml::from_str(data).map_err(|e| {
        let line = e.span().map(|s| data[..s.start.min(data.len())].lines().count().max(1)).unwrap_or(0);
        Error::Lexicon { name: name.into(), line, reason: e.message().to_string() }
    })
}

/// Only the negators of `modifiers.toml`, as the lexicon reads them (trimmed,
/// lower-cased): the classifier's negation scope uses the same list.
pub(crate) fn embedded_negators() -> Result<FxHashSet<String>> {
    #[derive(Deserialize)]
    struct Negators {
        negators: Vec<String>,
    }
    parse::<Negators>("modifiers.toml", MODIFIERS).map(|m| set(m.negators))
}

fn lex_err(name: &str, reason: String) -> Error {
    Error::Lexicon { name: name.into(), line: 0, reason }
}

fn set(words: Vec<String>) -> FxHashSet<String> {
    words.into_iter().map(|w| w.trim().to_lowercase()).filter(|w| !w.is_empty()).collect()
}

fn polarity_name(name: &str, s: &str) -> Result<Polarity> {
    match s {
        "positive" | "+" => Ok(Polarity::Positive),
        "negative" | "-" => Ok(Polarity::Negative),
        other => Err(lex_err(name, format!("polarity must be positive or negative, found `{other}`"))),
    }
}

impl Lexicon {
    pub fn embedded() -> Result<Self> {
        Self::from_sources(OPINIONS, ASPECTS, MODIFIERS, SYNONYMS)
    }

    pub fn from_sources(opinions: &str, aspects: &str, modifiers: &str, synonyms: &str) -> Result<Self> {
        let o: OpinionsFile = parse("keywords/opinions.toml", opinions)?;
        let a: AspectsFile = parse("keywords/aspects.toml", aspects)?;
        let m: ModifiersFile = parse("keywords/modifiers.toml", modifiers)?;
        let s: SynonymsFile = parse("keywords/synonyms.toml", synonyms)?;

        // Aspect classes, named in a stable (sorted) order.
        let mut class_names: Vec<&String> = a.classes.keys().collect();
        class_names.sort();
        let class_index = |n: &str| class_names.iter().position(|c| c.as_str() == n).map(|i| i as u8);
        let mut patterns = Vec::new();
        let mut class_of_pattern = Vec::new();
        for (ci, name) in class_names.iter().enumerate() {
            for w in &a.classes[*name] {
                patterns.push(w.to_lowercase());
                class_of_pattern.push(ci as u8);
            }
        }
        let class_ac = AhoCorasick::builder().match_kind(MatchKind::Standard).build(&patterns).map_err(|e| lex_err("keywords/aspects.toml", e.to_string()))?;

        // Opinions: context-dependent words first, then fixed ones; a word listed
        // with both polarities (and no context rule) is an error.
        let mut context = Vec::new();
        let mut opinions: FxHashMap<String, OpinionInfo> = FxHashMap::default();
        let mut ctx_words: Vec<(&String, &HashMap<String, String>)> = o.context.iter().collect();
        ctx_words.sort_by(|x, y| x.0.cmp(y.0));
        for (word, rule) in ctx_words {
            let mut default = None;
            let mut by_class = Vec::new();
            for (k, v) in rule {
                let p = polarity_name("keywords/opinions.toml", v)?;
                if k == "default" {
                    default = Some(p);
                } else {
                    let c = class_index(k).ok_or_else(|| lex_err("keywords/opinions.toml", format!("[context] {word}: unknown aspect class `{k}`")))?;
                    by_class.push((c, p));
                }
            }
            let default = default.ok_or_else(|| lex_err("keywords/opinions.toml", format!("[context] {word}: missing `default`")))?;
            opinions.insert(word.to_lowercase(), OpinionInfo { pol: Pol::Context(context.len() as u16), final_only: false });
            context.push(ContextRule { default, by_class });
        }
        for (pol, table) in [(Polarity::Positive, &o.positive), (Polarity::Negative, &o.negative)] {
            let mut themes: Vec<&String> = table.keys().collect();
            themes.sort();
            for theme in themes {
                for w in &table[theme] {
                    let w = w.trim().to_lowercase();
                    if w.is_empty() {
                        continue;
                    }
                    match opinions.get(&w) {
                        Some(OpinionInfo { pol: Pol::Context(_), .. }) => {}
                        Some(OpinionInfo { pol: Pol::Fixed(p), .. }) if *p != pol => {
                            return Err(lex_err(
                                "keywords/opinions.toml",
                                format!("`{w}` is listed as both positive and negative; add it to [context] instead"),
                            ));
                        }
                        _ => {
                            opinions.insert(w, OpinionInfo { pol: Pol::Fixed(pol), final_only: false });
                        }
                    }
                }
            }
        }
        for w in &o.position.final_only {
            if let Some(info) = opinions.get_mut(&w.to_lowercase()) {
                info.final_only = true;
            }
        }
        let neutral = set(o.neutral.map(|t| t.words).unwrap_or_default());
        let weak = set(o.weak.map(|t| t.words).unwrap_or_default());
        let manner = set(o.manner.map(|t| t.words).unwrap_or_default());
        let max_opinion_chars = opinions.keys().map(|w| w.chars().count()).max().unwrap_or(1);

        let mut aspect_words = FxHashSet::default();
        for words in a.aspects.values() {
            aspect_words.extend(words.iter().map(|w| w.to_lowercase()));
        }

        let degree = set(m.degree);
        let negators = set(m.negators);
        let mut prefixes: Vec<String> = degree.iter().chain(negators.iter()).cloned().collect();
        prefixes.extend(["也", "还", "都", "又", "真", "就", "却", "是", "倒"].map(String::from));
        prefixes.sort_by(|x, y| y.chars().count().cmp(&x.chars().count()).then_with(|| x.cmp(y)));
        prefixes.dedup();

        let hyp: Vec<String> = m.hypothetical.iter().map(|w| w.to_lowercase()).collect();
        let hypothetical_ac =
            AhoCorasick::builder().match_kind(MatchKind::LeftmostFirst).build(&hyp).map_err(|e| lex_err("keywords/modifiers.toml", e.to_string()))?;

        let mut aspect_groups = FxHashMap::default();
        for (canon, members) in &s.aspects {
            let canon = canon.to_lowercase();
            for mbr in members {
                aspect_groups.insert(mbr.to_lowercase(), canon.clone());
            }
            aspect_groups.insert(canon.clone(), canon);
        }
        let mut opinion_groups = FxHashMap::default();
        for (canon, members) in &s.opinions {
            let canon = canon.to_lowercase();
            for mbr in members {
                opinion_groups.insert(mbr.to_lowercase(), canon.clone());
            }
        }
        for canon in s.opinions.keys() {
            opinion_groups.insert(canon.to_lowercase(), canon.to_lowercase());
        }
        let antonyms = s.antonyms.into_iter().map(|(k, v)| (k.to_lowercase(), v.to_lowercase())).collect();

        Ok(Lexicon {
            opinions,
            neutral,
            weak,
            manner,
            max_opinion_chars,
            context,
            aspects: aspect_words,
            verb_aspects: set(a.verbs.words),
            not_aspects: set(a.not_aspects.words),
            generic_aspects: set(a.generic.as_ref().map(|t| t.words.clone()).unwrap_or_default()),
            vague_aspects: set(a.generic.map(|t| t.vague).unwrap_or_default()),
            class_ac,
            class_of_pattern,
            cost_class: class_index("cost"),
            degree,
            excess: set(m.excess),
            softeners: set(m.softeners),
            negators,
            comparison: set(m.comparison),
            contrast: set(m.contrast),
            links: set(m.links),
            locatives: set(m.locatives),
            skip: set(m.skip),
            hypothetical_ac,
            omission_negators: set(m.patterns.omission_negators),
            give_verbs: set(m.patterns.give_verbs),
            modal_negators: set(m.patterns.modal_negators),
            charge_verbs: set(m.patterns.charge_verbs),
            money_nouns: set(m.patterns.money_nouns),
            particles: set(m.patterns.particles),
            easy_markers: set(m.patterns.easy_markers),
            hard_markers: set(m.patterns.hard_markers),
            modal_verbs: set(m.patterns.modal_verbs),
            prefixes,
            aspect_groups,
            opinion_groups,
            antonyms,
        })
    }

    /// The class of an aspect: that of its longest suffix that is a class member
    /// (the head of a Chinese compound is last: 空调外机噪音 is a noise), else that
    /// of the longest member it contains.
    pub fn aspect_class(&self, aspect: &str) -> Option<u8> {
        // (is suffix, length) ranks a match.
        let mut best: Option<((bool, usize), u8)> = None;
        for m in self.class_ac.find_overlapping_iter(aspect) {
            let rank = (m.end() == aspect.len(), m.end() - m.start());
            if best.is_none_or(|(r, _)| rank > r) {
                best = Some((rank, self.class_of_pattern[m.pattern().as_usize()]));
            }
        }
        best.map(|(_, c)| c)
    }

    /// Byte offset (in `clause`) where the first wish/hypothesis cue ends.
    pub fn hypothetical_end(&self, clause: &str) -> Option<usize> {
        self.hypothetical_ac.find(clause).map(|m| m.end())
    }

    /// The canonical aspect: the whole aspect if listed, else its longest listed
    /// suffix of two or more characters, else the aspect itself.
    pub fn aspect_group(&self, aspect: &str) -> String {
        if let Some(g) = self.aspect_groups.get(aspect) {
            return g.clone();
        }
        for (i, _) in aspect.char_indices().skip(1) {
            let suffix = &aspect[i..];
            if suffix.chars().count() < 2 {
                break;
            }
            if let Some(g) = self.aspect_groups.get(suffix) {
                return g.clone();
            }
        }
        aspect.to_string()
    }

    /// The canonical opinion of `core` (degree adverbs dropped), negated or not.
    pub fn opinion_group(&self, core: &str, negated: bool) -> String {
        let base = self.opinion_groups.get(core).map(String::as_str).unwrap_or(core);
        if !negated {
            return base.to_string();
        }
        if let Some(a) = self.antonyms.get(base) {
            return a.clone();
        }
        let neg = format!("不{base}");
        self.opinion_groups.get(&neg).cloned().unwrap_or(neg)
    }
}
