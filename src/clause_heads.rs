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
/// 就更好 and 希望能 are worth their own feature), and where the clause sits.
const PLACE_FEATURES: [&str; 3] = ["place:first", "place:last", "place:only"];

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

/// Calls `f` with each clause as a feature span, its index and the clause count.
fn for_each_clause<T>(text: &str, tokens: &[Token<'_>], ranges: &[Range<usize>], mut f: impl FnMut(&Span<'_, '_>, usize, usize) -> T) -> Vec<T> {
    let spans = clause_spans(text, tokens, ranges);
    let count = spans.len();
    spans
        .into_iter()
        .enumerate()
        .map(|(index, (bytes, toks))| {
            let clause = &text[bytes];
            let whole = 0..clause.len();
            f(&Span { text: clause, tokens: &tokens[toks], clause_bytes: std::slice::from_ref(&whole) }, index, count)
        })
        .collect()
}

/// The feature vector of every clause of a text (`ranges` from `segment::clauses`,
/// `sentiment` the sentiment layer's score of each).
pub fn clause_vectors(extractor: &FeatureExtractor, text: &str, tokens: &[Token<'_>], ranges: &[Range<usize>], sentiment: &[f32]) -> Vec<SparseVec> {
    for_each_clause(text, tokens, ranges, |span, index, count| {
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
        for name in place(index, count) {
            x.push((feature_key(name), 1.0));
        }
        crate::classify::dedup(&mut x);
        x
    })
}

/// The names of the features `clause_vectors` can produce, clause by clause
/// (for building the heads' vocabulary; kept beside the hashed path so both agree).
pub fn clause_names(extractor: &FeatureExtractor, text: &str, tokens: &[Token<'_>], ranges: &[Range<usize>]) -> Vec<Vec<String>> {
    for_each_clause(text, tokens, ranges, |span, index, count| {
        let mut names = feature_names(extractor, span);
        for_each_trigram(span.text, |a, b, c| names.push(format!("t:{a}{b}{c}")));
        names.extend(place(index, count).chain(SENTIMENT_FEATURES).map(str::to_string));
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

fn place(index: usize, count: usize) -> impl Iterator<Item = &'static str> {
    let flags = [index == 0, index + 1 == count, count == 1];
    PLACE_FEATURES.into_iter().zip(flags).filter(|(_, on)| *on).map(|(name, _)| name)
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
        let names = clause_names(&fx, text, &toks, &clauses(&toks));
        assert!(names[0].iter().any(|n| n == "place:first") && !names[0].iter().any(|n| n == "place:last"));
        assert!(names[2].iter().any(|n| n == "t:能不能") && names[2].iter().any(|n| n == "form:question_end"));
    }

    #[test]
    fn hashed_and_named_clause_features_agree() {
        let seg = Segmenter::embedded().unwrap();
        let fx = FeatureExtractor::embedded().unwrap();
        let text = "挺好吃的,就是 送得太慢,希望改进!";
        let toks = seg.segment(text);
        let ranges = clauses(&toks);
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
