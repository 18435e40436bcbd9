//! Clause presence heads: how strongly each clause, read on its own, holds each category.
//!
//! The item presence layer adds up evidence over the whole text. In a long, warm
//! review, the many praise words outweigh the one clause that asks for a change
//! ("…如果房间的窗户能打开,就更好!"), and a wish reads like a complaint when the
//! whole text is read at once. These heads score each clause separately. An item
//! holds a category as strongly as its strongest clause does, and the classifier
//! averages that logit with the item layer's (`combine`).
//!
//! Labels say which categories an item holds, not which clause holds them, so the
//! heads are fitted by multiple-instance learning (`crate::mil`).

use std::ops::Range;

use crate::classify::LinearLayer;
use crate::features::{feature_key, feature_names, FeatureExtractor, FeatureHash, Span, SparseVec};
use crate::segment::Token;

/// Features only clauses get: character trigrams (a clause is short, so 能不能,
/// 就更好 and 希望能 are worth their own feature), where the clause sits, and
/// whether the instance spans several clauses (`place:window`).
const PLACE_FEATURES: [&str; 4] = ["place:first", "place:last", "place:only", "place:window"];

/// The clause's score from the sentiment layer, and whether it is clearly
/// negative or positive. Without it a clause head has only the words of one
/// short clause to tell a complaint (早餐太差) from praise, where the sentiment
/// layer has learned from tens of thousands of reviews.
const SENTIMENT_FEATURES: [&str; 3] = ["csent", "csent:neg", "csent:pos"];

/// Each clause as (byte range, token range). A clause runs to the start of the
/// next one, so its closing punctuation (? ! …) is part of it.
pub fn clause_spans(text: &str, tokens: &[Token<'_>], ranges: &[Range<usize>]) -> Vec<(Range<usize>, Range<usize>)> {
    ranges
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let token_end = ranges.get(i + 1).map_or(tokens.len(), |next| next.start);
            let byte_end = ranges.get(i + 1).map_or(text.len(), |next| tokens[next.start].byte_start);
            (tokens[r.start].byte_start..byte_end, r.start..token_end)
        })
        .collect()
}

/// What a clause head reads: one clause, or a run of adjacent clauses. Commas
/// split one thought in two as often as they join two: 如果房间的窗户能打开, / 就更好!
/// and 建议: / check-out的时候能快一些 are each one wish, which neither clause
/// shows alone. Single clauses come first, in order, so instance `i < clause count` is clause `i`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    pub bytes: Range<usize>,
    pub tokens: Range<usize>,
    /// The clauses it covers (indices into `segment::clauses`).
    pub clauses: Range<usize>,
}

/// Every run of up to `window` adjacent clauses (`window` 1: the clauses alone).
pub fn instances(text: &str, tokens: &[Token<'_>], ranges: &[Range<usize>], window: usize) -> Vec<Instance> {
    let spans = clause_spans(text, tokens, ranges);
    (1..=window.max(1))
        .flat_map(|width| (0..(spans.len() + 1).saturating_sub(width)).map(move |start| start..start + width))
        .map(|c| Instance { bytes: spans[c.start].0.start..spans[c.end - 1].0.end, tokens: spans[c.start].1.start..spans[c.end - 1].1.end, clauses: c })
        .collect()
}

/// Calls `f` with each instance as a feature span, its index and the place features it gets.
fn for_each_instance<T>(text: &str, tokens: &[Token<'_>], instances: &[Instance], mut f: impl FnMut(&Span<'_, '_>, usize, &[&'static str]) -> T) -> Vec<T> {
    let count = instances.iter().map(|i| i.clauses.end).max().unwrap_or(0);
    instances
        .iter()
        .enumerate()
        .map(|(index, instance)| {
            let span_text = &text[instance.bytes.clone()];
            let whole = 0..span_text.len();
            let mut place = [""; PLACE_FEATURES.len()];
            let places = place_of(&instance.clauses, count, &mut place);
            f(&Span { text: span_text, tokens: &tokens[instance.tokens.clone()], clause_bytes: std::slice::from_ref(&whole) }, index, places)
        })
        .collect()
}

/// The feature vector of every instance of a text (`instances` from
/// `instances`, `sentiment` the sentiment layer's score of each).
pub fn clause_vectors(extractor: &FeatureExtractor, text: &str, tokens: &[Token<'_>], instances: &[Instance], sentiment: &[f32]) -> Vec<SparseVec> {
    for_each_instance(text, tokens, instances, |span, index, place| {
        let mut x = Vec::with_capacity(span.text.len() * 3);
        extractor.category(span, &mut x);
        let s = sentiment.get(index).copied().unwrap_or(0.0);
        x.push((feature_key(SENTIMENT_FEATURES[0]), crate::classify::squash_sentiment(s)));
        for (name, on) in SENTIMENT_FEATURES[1..].iter().zip([s < -1.0, s > 1.0]) {
            if on {
                x.push((feature_key(name), 1.0));
            }
        }
        for_each_trigram(span.text, |a, b, c| {
            let mut buf = [0u8; 4];
            let h = FeatureHash::new("t:").push(a.encode_utf8(&mut buf)).push(b.encode_utf8(&mut buf)).push(c.encode_utf8(&mut buf));
            x.push((h.finish(), 1.0));
        });
        for name in place {
            x.push((feature_key(name), 1.0));
        }
        crate::classify::dedup(&mut x);
        x
    })
}

/// The names of the features `clause_vectors` can produce, instance by instance
/// (for building the heads' vocabulary; kept beside the hashed path so both agree).
pub fn clause_names(extractor: &FeatureExtractor, text: &str, tokens: &[Token<'_>], instances: &[Instance]) -> Vec<Vec<String>> {
    for_each_instance(text, tokens, instances, |span, _, place| {
        let mut names = feature_names(extractor, span);
        for_each_trigram(span.text, |a, b, c| names.push(format!("t:{a}{b}{c}")));
        names.extend(place.iter().chain(&SENTIMENT_FEATURES).map(|s| s.to_string()));
        names.sort_unstable();
        names.dedup();
        names
    })
}

/// Consecutive character triples, not across spaces (as the bigrams).
fn for_each_trigram(text: &str, mut f: impl FnMut(char, char, char)) {
    let (mut a, mut b): (Option<char>, Option<char>) = (None, None);
    for c in text.chars() {
        if c == ' ' {
            (a, b) = (None, None);
            continue;
        }
        if let (Some(x), Some(y)) = (a, b) {
            f(x, y, c);
        }
        (a, b) = (b, Some(c));
    }
}

/// Where an instance sits among the item's `count` clauses, and whether it spans
/// several: the place features that apply, written into `out` (no allocation per clause).
fn place_of<'o>(clauses: &Range<usize>, count: usize, out: &'o mut [&'static str; PLACE_FEATURES.len()]) -> &'o [&'static str] {
    let flags = [clauses.start == 0, clauses.end == count, count == 1, clauses.len() > 1];
    let mut n = 0;
    for (name, on) in PLACE_FEATURES.into_iter().zip(flags) {
        if on {
            out[n] = name;
            n += 1;
        }
    }
    &out[..n]
}

/// The strongest clause's logit for each output of `heads`, or `None` for a text with no clause.
pub fn strongest(heads: &LinearLayer, clauses: &[SparseVec]) -> Option<[f32; 4]> {
    let mut best: Option<[f32; 4]> = None;
    let mut out = [0.0f32; 4];
    for x in clauses {
        heads.score(x, &mut out);
        let b = best.get_or_insert([f32::NEG_INFINITY; 4]);
        for (b, o) in b.iter_mut().zip(out) {
            *b = b.max(o);
        }
    }
    best
}

/// The presence logit from the item layer's and the strongest clause's: their
/// mean. Out of fold, a fitted weighting did no better than the plain mean, and
/// the mean needs no second, nested fit.
pub fn combine(item_logit: f32, clause_logit: Option<f32>) -> f32 {
    match clause_logit {
        Some(c) => 0.5 * (item_logit + c),
        None => item_logit,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::segment::{clauses, Segmenter};

    #[test]
    fn clauses_keep_their_closing_punctuation_and_place() {
        let seg = Segmenter::embedded().unwrap();
        let text = "房间很好,早餐太差,能不能增加品种?";
        let toks = seg.segment(text);
        let spans = clause_spans(text, &toks, &clauses(&toks));
        let parts: Vec<&str> = spans.iter().map(|(b, _)| &text[b.clone()]).collect();
        assert_eq!(parts, ["房间很好,", "早餐太差,", "能不能增加品种?"]);
        let fx = FeatureExtractor::embedded().unwrap();
        let names = clause_names(&fx, text, &toks, &instances(text, &toks, &clauses(&toks), 1));
        assert!(names[0].iter().any(|n| n == "place:first") && !names[0].iter().any(|n| n == "place:last"));
        assert!(names[2].iter().any(|n| n == "t:能不能") && names[2].iter().any(|n| n == "form:question_end"));
    }

    #[test]
    fn a_window_adds_runs_of_adjacent_clauses_after_the_clauses() {
        let seg = Segmenter::embedded().unwrap();
        let text = "房间很好,如果窗户能打开,就更好!";
        let toks = seg.segment(text);
        let ranges = clauses(&toks);
        let parts = |window| -> Vec<String> { instances(text, &toks, &ranges, window).iter().map(|i| text[i.bytes.clone()].to_string()).collect() };
        assert_eq!(parts(1), ["房间很好,", "如果窗户能打开,", "就更好!"]);
        assert_eq!(parts(2), ["房间很好,", "如果窗户能打开,", "就更好!", "房间很好,如果窗户能打开,", "如果窗户能打开,就更好!"]);
        assert_eq!(parts(3).len(), 6);
        let fx = FeatureExtractor::embedded().unwrap();
        let names = clause_names(&fx, text, &toks, &instances(text, &toks, &ranges, 2));
        let has = |i: usize, n: &str| names[i].iter().any(|x| x == n);
        assert!(has(4, "place:window") && has(4, "place:last") && !has(4, "place:first") && has(4, "t:开,就"));
        assert!(!has(2, "place:window") && has(3, "place:first"));
        assert!(instances("", &[], &[], 2).is_empty());
    }

    #[test]
    fn hashed_and_named_clause_features_agree() {
        let seg = Segmenter::embedded().unwrap();
        let fx = FeatureExtractor::embedded().unwrap();
        let text = "挺好吃的,就是 送得太慢,希望改进!";
        let toks = seg.segment(text);
        let ranges = instances(text, &toks, &clauses(&toks), 1);
        let vectors = clause_vectors(&fx, text, &toks, &ranges, &[-2.0, 0.5, -3.0, 2.0]);
        let names = clause_names(&fx, text, &toks, &ranges);
        assert_eq!(vectors.len(), 4, "a space breaks a clause too");
        for (x, names) in vectors.iter().zip(&names) {
            let keys: std::collections::HashSet<u64> = names.iter().map(|n| feature_key(n)).collect();
            assert!(x.iter().all(|(k, _)| keys.contains(k)), "a hashed clause feature has no name");
        }
        let has = |x: &SparseVec, name: &str| x.iter().any(|(k, _)| *k == feature_key(name));
        assert!(has(&vectors[0], "csent:neg") && !has(&vectors[1], "csent:neg") && has(&vectors[3], "csent:pos"));
    }

    #[test]
    fn the_strongest_clause_decides_and_the_mean_combines() {
        let layer = crate::model::LayerFile {
            outputs: ["praise", "suggestion", "problem", "enquiry"].map(String::from).to_vec(),
            features: vec!["w:希望".into()],
            weights: vec![vec![0.0, 3.0, 0.0, 0.0]],
            bias: vec![0.0, -1.0, 0.0, 0.0],
        };
        let heads = LinearLayer::from_file(&layer);
        let clauses = vec![vec![(feature_key("w:好"), 1.0)], vec![(feature_key("w:希望"), 1.0)]];
        assert_eq!(strongest(&heads, &clauses), Some([0.0, 2.0, 0.0, 0.0]));
        assert_eq!(strongest(&heads, &[]), None);
        assert_eq!(combine(-2.0, Some(2.0)), 0.0);
        assert_eq!(combine(-2.0, None), -2.0);
    }
}
