//! Synthetic training items: one wish at the end of a praise-only review (training only).
//!
//! Out of fold, the suggestion the model loses most often is a warm review that
//! ends in one wish (…各方面都还不错，希望以后能够开通宽带). Most warm reviews hold
//! no suggestion, so the item layer learns that praise words speak against one,
//! and the wish is outvoted. Each synthetic item joins a praise-only review to a
//! short item that is a wish and nothing else, labelled `[suggestion, praise]`
//! (LABELING.md rules 4 and 5), so a wish keeps its weight inside praise.
//!
//! Items are built only from the items a layer is fitted on, so cross-validation
//! stays out of fold, and pairs are chosen by a fixed hash, so reruns agree.

use crate::category::Category;
use crate::features::{feature_key, CueLexicon};
use crate::train::{is_real_feedback, GoldItem};

/// Which items may be joined, and how many joined items to make.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WishInPraise {
    /// How many items to make (0: none).
    pub count: usize,
    /// A wish is at most this many characters: a longer suggestion item usually
    /// says more than one thing.
    pub max_wish_chars: usize,
    /// The praise review's length bounds in characters.
    pub praise_chars: (usize, usize),
}

impl Default for WishInPraise {
    fn default() -> Self {
        WishInPraise { count: 0, max_wish_chars: 30, praise_chars: (12, 150) }
    }
}

impl WishInPraise {
    /// Up to `count` joined items from `items`: each praise review is used once,
    /// the wishes in turn. Empty when either kind is missing.
    pub fn build(&self, items: &[&GoldItem], cues: &CueLexicon) -> Vec<GoldItem> {
        let (Some(suggest), keep_up) = (cues.class("suggest"), cues.class("keep_up")) else {
            return Vec::new();
        };
        let has = |text: &str, class: Option<usize>| class.is_some_and(|c| cues.find(text).iter().any(|h| h.class == c));
        let only = |item: &GoldItem, category: Category| {
            Category::parse(&item.category) == Some(category) && item.labels.iter().all(|l| Category::parse(l) == Some(category))
        };
        let chars = |item: &GoldItem| item.text.chars().count();
        let wishes = by_hash(
            items
                .iter()
                .copied()
                .filter(|i| only(i, Category::Suggestion) && chars(i) <= self.max_wish_chars && has(&i.text, Some(suggest)) && !has(&i.text, keep_up)),
        );
        let (low, high) = self.praise_chars;
        let praise = by_hash(
            items
                .iter()
                .copied()
                .filter(|i| is_real_feedback(&i.id) && only(i, Category::Praise) && (low..=high).contains(&chars(i)) && !has(&i.text, Some(suggest))),
        );
        if wishes.is_empty() {
            return Vec::new();
        }
        praise
            .iter()
            .take(self.count)
            .zip(wishes.iter().cycle())
            .map(|(p, w)| GoldItem {
                id: format!("w-wish-in-praise:{}+{}", p.id, w.id),
                text: join(&p.text, &w.text),
                category: Category::Suggestion.as_str().into(),
                labels: vec![Category::Suggestion.as_str().into(), Category::Praise.as_str().into()],
                opinions: Vec::new(),
            })
            .collect()
    }
}

/// The items in a fixed pseudo-random order (by a hash of their id), so that a
/// subset of the items keeps the relative order it has in the whole.
fn by_hash<'a>(items: impl Iterator<Item = &'a GoldItem>) -> Vec<&'a GoldItem> {
    let mut v: Vec<&GoldItem> = items.collect();
    v.sort_by_key(|i| (feature_key(&i.id), i.id.clone()));
    v
}

/// The review, then the wish: after the review's own closing mark, or after a comma.
fn join(review: &str, wish: &str) -> String {
    let review = review.trim_end();
    let closed = review.ends_with(|c: char| "，。！？；…~～,.!?;".contains(c));
    format!("{review}{}{}", if closed { "" } else { "，" }, wish.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(id: &str, text: &str, category: &str, labels: &[&str]) -> GoldItem {
        GoldItem { id: id.into(), text: text.into(), category: category.into(), labels: labels.iter().map(|s| s.to_string()).collect(), opinions: vec![] }
    }

    #[test]
    fn joins_praise_only_reviews_to_pure_wishes() {
        let cues = CueLexicon::embedded().unwrap();
        let items = [
            item("r1", "房间干净，服务热情，早餐也不错", "praise", &["praise"]),
            item("r2", "物流很快，包装完好，东西很好用！", "praise", &["praise"]),
            item("r3", "东西不错，希望多出几个颜色就好了", "suggestion", &["suggestion", "praise"]),
            item("r4", "希望继续保持，一直这么好", "praise", &["praise"]),
            item("q1", "希望能增加夜间配送", "suggestion", &["suggestion"]),
            item("q2", "能不能把还款日改一下", "enquiry", &["enquiry"]),
            item("w-1", "写的例子，很好很满意哈哈", "praise", &["praise"]),
        ];
        let refs: Vec<&GoldItem> = items.iter().collect();
        let made = WishInPraise { count: 10, ..WishInPraise::default() }.build(&refs, &cues);
        // r1 and r2 are the only real praise-only reviews without a wish; q1 the only pure wish.
        assert_eq!(made.len(), 2);
        let mut texts: Vec<&str> = made.iter().map(|i| i.text.as_str()).collect();
        texts.sort();
        assert_eq!(texts, ["房间干净，服务热情，早餐也不错，希望能增加夜间配送", "物流很快，包装完好，东西很好用！希望能增加夜间配送"]);
        assert!(made.iter().all(|i| i.category == "suggestion" && i.labels == ["suggestion", "praise"] && !is_real_feedback(&i.id)));
        // The count caps, and a subset keeps the whole's order.
        let one = WishInPraise { count: 1, ..WishInPraise::default() }.build(&refs, &cues);
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].text, made[0].text);
        assert!(WishInPraise::default().build(&refs, &cues).is_empty());
    }
}
