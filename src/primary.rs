//! The decision: from the classifier's two readings of an item (how likely each
//! category is present, and the multinomial layer's direct guess at the primary
//! one) to the primary category, its probability and the labels.
//!
//! The presence reading follows LABELING.md's precedence (problem > suggestion >
//! enquiry > praise): c is primary when c is present and nothing above it is, so
//! P(c primary) = p_c × Π(1 − p_h) over the categories h above c. The primary
//! category is the most probable one, so it always agrees with the reported
//! scores. (Taking the first category whose presence reached 0.5, as models did
//! before, could name suggestion at 0.33 while problem scored 0.45.)
//!
//! The multinomial layer, fitted on the primary category itself, can be averaged
//! in (`DecisionRule::blend`). Out of fold a weight of 0.4 led, but it lost on both
//! held-out sets, so the shipped model uses 0; see the README.

use crate::category::Category;

/// How the two readings are combined and when a category counts as present.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DecisionRule {
    /// Weight of the multinomial layer in the primary distribution (0: presence alone).
    pub blend: f32,
    /// Presence probability at which a category is listed in `labels`, per category.
    pub thresholds: [f32; 4],
}

/// The primary category, the probability of every category being primary (in
/// `Category::ALL` order, summing to 1) and the labels.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub primary: Category,
    pub probabilities: [f32; 4],
    /// The primary first, then every other present category below it in
    /// precedence. A present category *above* the primary is left out: under
    /// rule 4 it would have been primary, so the decision has ruled it out.
    pub labels: Vec<Category>,
}

impl DecisionRule {
    pub fn decide(&self, presence: &[f32; 4], multinomial: &[f32; 4]) -> Decision {
        let probabilities = primary_distribution(presence, multinomial, self.blend);
        let primary = argmax(&probabilities);
        let mut labels = vec![primary];
        let below = Category::BY_PRECEDENCE.iter().skip_while(|&&c| c != primary).skip(1);
        labels.extend(below.filter(|c| presence[c.index()] >= self.thresholds[c.index()]));
        Decision { primary, probabilities, labels }
    }
}

/// The chance that each category is primary. The presence reading: p_c × Π(1 − p_h)
/// over the categories h above c, and what is left (nothing present) shared as the
/// multinomial layer says; then averaged with the multinomial layer, `blend` to it.
pub fn primary_distribution(presence: &[f32; 4], multinomial: &[f32; 4], blend: f32) -> [f32; 4] {
    let mut by_presence = [0.0f32; 4];
    let mut none_above = 1.0f32;
    for c in Category::BY_PRECEDENCE {
        by_presence[c.index()] = presence[c.index()] * none_above;
        none_above *= 1.0 - presence[c.index()];
    }
    std::array::from_fn(|i| (1.0 - blend) * (by_presence[i] + none_above * multinomial[i]) + blend * multinomial[i])
}

/// The most probable category; ties go to the earlier one in `Category::ALL`.
pub fn argmax(p: &[f32; 4]) -> Category {
    let mut best = 0;
    for i in 1..4 {
        if p[i] > p[best] {
            best = i;
        }
    }
    Category::ALL[best]
}

#[cfg(test)]
mod tests {
    use super::*;
    use Category::*;

    const HALF: [f32; 4] = [0.5; 4];

    #[test]
    fn presence_alone_follows_precedence_and_lists_what_is_below() {
        let rule = DecisionRule { blend: 0.0, thresholds: HALF };
        // praise, suggestion, problem, enquiry
        let d = rule.decide(&[0.95, 0.9, 0.05, 0.02], &[0.7, 0.2, 0.05, 0.05]);
        assert_eq!(d.primary, Suggestion);
        assert_eq!(d.labels, vec![Suggestion, Praise]);
        assert!((d.probabilities.iter().sum::<f32>() - 1.0).abs() < 1e-5);
    }

    #[test]
    fn the_primary_is_the_most_probable_category_even_below_its_threshold() {
        // problem 0.45 is primary with probability 0.45; suggestion only 0.6 × 0.55 = 0.33.
        let d = DecisionRule { blend: 0.0, thresholds: HALF }.decide(&[0.1, 0.6, 0.45, 0.0], &[0.25; 4]);
        assert_eq!(d.primary, Problem);
        assert_eq!(d.labels, vec![Problem, Suggestion]);
        assert!(d.probabilities.iter().all(|&p| p <= d.probabilities[Problem.index()]));
    }

    #[test]
    fn the_multinomial_layer_can_outvote_a_faint_category_above() {
        let presence = [0.97, 0.55, 0.62, 0.01];
        let multinomial = [0.05, 0.9, 0.04, 0.01];
        assert_eq!(DecisionRule { blend: 0.0, thresholds: HALF }.decide(&presence, &multinomial).primary, Problem);
        let d = DecisionRule { blend: 0.4, thresholds: HALF }.decide(&presence, &multinomial);
        assert_eq!(d.primary, Suggestion);
        // problem (0.62) is above suggestion in precedence: listing it would contradict rule 4.
        assert_eq!(d.labels, vec![Suggestion, Praise]);
        assert!((d.probabilities.iter().sum::<f32>() - 1.0).abs() < 1e-5);
    }

    #[test]
    fn with_nothing_present_the_multinomial_layer_decides() {
        let d = DecisionRule { blend: 0.0, thresholds: HALF }.decide(&[0.1, 0.1, 0.1, 0.1], &[0.1, 0.1, 0.1, 0.7]);
        assert_eq!(d.primary, Enquiry);
        assert_eq!(d.labels, vec![Enquiry]);
    }
}
