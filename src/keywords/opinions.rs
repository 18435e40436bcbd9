//! Matching an opinion at a unit: lexicon words and phrases (longest match),
//! modal failures (无法分组), omissions (没给筷子) and charges (扣了两次钱).

use super::*;

impl KeywordExtractor {
    /// The opinion starting at unit `i`, if any.
    pub(super) fn match_opinion(&self, s: &str, units: &[Unit<'_>], i: usize, cs: usize, ce: usize) -> Option<OpinionMatch> {
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
            if n == 1
                && w.chars().count() == 1
                && end < ce
                && is_verb_tag(units[end].tag)
                && !matches!(units[end].w, "了" | "的" | "得" | "过")
                && matches!(w, "快" | "多" | "少" | "早" | "晚" | "好" | "难" | "慢" | "大" | "小" | "高" | "低")
            {
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
                        Some(OpinionInfo { pol: Pol::Fixed(q), final_only: false })
                            if *q == p && !l.degree.contains(units[end].w) && !is_noun_tag(units[end].tag) =>
                        {
                            end += 1
                        }
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
        let unfinished =
            |u: &Unit<'_>| is_verb_tag(u.tag) && u.w.chars().count() >= 2 && ["好", "完", "对", "齐", "净", "全", "清", "到"].iter().any(|c| u.w.ends_with(c));
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
                return Some(OpinionMatch { start: i, end: j, found: Found::Pattern(Polarity::Negative), object: Some((j, j + 1)) });
            }
        }
        let _ = cs;
        None
    }
}
