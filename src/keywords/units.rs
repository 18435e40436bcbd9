//! Units: jieba tokens re-cut so that the patterns see a degree adverb or a
//! negator apart from the opinion it is glued to (太慢 → 太 + 慢, 送得慢 → 送 + 得 + 慢).

use super::*;

impl KeywordExtractor {
    pub(super) fn units<'a>(&self, s: &'a str, tokens: &[Token<'a>]) -> Vec<Unit<'a>> {
        let mut out = Vec::with_capacity(tokens.len() + 8);
        for t in tokens {
            let u =
                Unit { w: t.word, tag: t.tag, start: t.start, end: t.end, bs: t.byte_start, be: t.byte_end, brk: t.is_clause_break() && t.is_punctuation() };
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
    pub(super) fn known(&self, w: &str) -> bool {
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
    pub(super) fn split_into<'a>(&self, s: &'a str, u: Unit<'a>, out: &mut Vec<Unit<'a>>) {
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
                if is_verb_tag(u.tag) {
                    u.tag
                } else {
                    "a"
                }
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
    pub(super) fn split_head(&self, head: &str, bounds: &[usize], is_prefix: impl Fn(&str) -> bool) -> Option<Vec<usize>> {
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
}
