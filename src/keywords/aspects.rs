//! Finding the aspect an opinion judges: the noun run before it, the verb of
//! V得A, the object after a failure verb, or the standard of a comparison.

use super::*;

impl KeywordExtractor {
    /// The aspect run ending right before unit `b`: a head noun (or aspect verb)
    /// with up to two noun modifiers before it (客服态度, 送货速度).
    pub(super) fn aspect_before(&self, units: &[Unit<'_>], cs: usize, b: usize) -> Option<(usize, usize)> {
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
    pub(super) fn soft_space(&self, units: &[Unit<'_>], cs: usize, i: usize) -> bool {
        if !units[i].w.trim().is_empty() || i == cs || i + 1 >= units.len() {
            return false;
        }
        let (prev, next) = (&units[i - 1], &units[i + 1]);
        let l = &self.lex;
        self.is_aspect(prev) && (l.degree.contains(next.w) || l.negators.contains(next.w) || l.opinions.contains_key(next.w))
    }

    /// A word that can be the aspect.
    pub(super) fn is_aspect(&self, u: &Unit<'_>) -> bool {
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
    pub(super) fn compound_aspect(&self, u: &Unit<'_>) -> bool {
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
    pub(super) fn comparison_marker(units: &[Unit<'_>], cs: usize, run_start: usize) -> Option<usize> {
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

    pub(super) fn is_coordinator(w: &str) -> bool {
        matches!(w, "和" | "跟" | "与" | "及" | "以及" | "还是" | "或" | "或者" | "、" | "及其" | "还有")
    }

    pub(super) fn is_verb_like(&self, u: &Unit<'_>) -> bool {
        (is_verb_tag(u.tag) || self.lex.verb_aspects.contains(u.w) || self.lex.aspects.contains(u.w))
            && !self.lex.skip.contains(u.w)
            && !self.lex.degree.contains(u.w)
    }

    /// The aspect after an opinion: the object of a failure verb (用不了借呗,
    /// 不能群发短信, 没给筷子) or the noun of A的N (干净的房间).
    pub(super) fn forward_aspect(&self, units: &[Unit<'_>], m: &OpinionMatch, op_end: usize, ce: usize) -> Option<(usize, usize)> {
        let verbal = match m.found {
            Found::Pattern(_) => true,
            Found::Lexicon(OpinionInfo { pol: Pol::Fixed(Polarity::Negative), .. }) => m.end - m.start > 1 || is_verb_tag(units[m.end - 1].tag),
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
}
