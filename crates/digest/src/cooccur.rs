//! Co-occurrence: which terms come with a focus term in the same customer
//! sentence, ranked by pointwise mutual information, to explain what
//! customers mean (按钮 → 支付, 位置, 找不到).
//!
//! The unit is a distinct customer sentence of a call (a customer repeating
//! a sentence counts once). PMI favors rare terms, so a companion needs at
//! least `min_together` sentences with the focus term; terms that contain the
//! focus term or are part of it (支付按钮 for 按钮) are left out, since they
//! say nothing new.

use std::collections::HashMap;

use super::cache::decode_sentences;
use super::report::{Companion, Cooccurrence};
use callscope_core::error::{Error, Result};
use callscope_store::{CallFilter, Store};

/// Sentence counts around one focus term.
#[derive(Debug, Default)]
pub struct Counts {
    /// Sentences.
    pub sentences: u64,
    /// Sentences with the focus term.
    pub focus: u64,
    /// Per term: sentences with it.
    pub term: HashMap<u32, u64>,
    /// Per term: sentences with it and the focus term.
    pub together: HashMap<u32, u64>,
}

/// Counts sentences of the calls `filter` selects around term `focus`.
pub fn count(store: &Store, filter: &CallFilter, focus: u32) -> Result<Counts> {
    let mut counts = Counts::default();
    store.for_each_cached_terms(filter, true, |row, _, _, sentences| {
        decode_sentences(sentences, |terms| {
            counts.sentences += 1;
            let with_focus = terms.binary_search(&focus).is_ok();
            counts.focus += u64::from(with_focus);
            for &id in terms {
                *counts.term.entry(id).or_default() += 1;
                if with_focus && id != focus {
                    *counts.together.entry(id).or_default() += 1;
                }
            }
        })
        .ok_or_else(|| {
            Error::Store(format!(
                "cached sentences of row {row} do not decode; rerun with --rebuild-cache"
            ))
        })
    })?;
    Ok(counts)
}

/// Ranks companions of `focus` (named by `names`) by PMI.
pub fn rank(
    focus: &str,
    counts: &Counts,
    names: &HashMap<u32, String>,
    min_together: u64,
    limit: usize,
) -> Cooccurrence {
    let total = counts.sentences as f64;
    let mut terms: Vec<Companion> = counts
        .together
        .iter()
        .filter(|(_, &together)| together >= min_together)
        .filter_map(|(id, &together)| {
            let term = names.get(id)?;
            if term.contains(focus) || focus.contains(term.as_str()) {
                return None;
            }
            let alone = counts.term.get(id).copied().unwrap_or(together);
            let joint = together as f64 / total;
            let pmi = (joint / ((counts.focus as f64 / total) * (alone as f64 / total))).log2();
            let npmi = if joint >= 1.0 {
                1.0
            } else {
                pmi / -joint.log2()
            };
            Some(Companion {
                term: term.clone(),
                together,
                sentences: alone,
                pmi,
                npmi,
            })
        })
        .collect();
    terms.sort_by(|left, right| {
        right
            .pmi
            .total_cmp(&left.pmi)
            .then(right.together.cmp(&left.together))
            .then(left.term.cmp(&right.term))
    });
    terms.truncate(limit);
    Cooccurrence {
        focus: focus.to_string(),
        sentences: counts.sentences,
        focus_sentences: counts.focus,
        terms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pmi_prefers_true_companions_over_common_words() {
        // 1,000 sentences; focus (id 0) in 100. Term 1 (位置) in 60, 50 of
        // them with the focus; term 2 (订单) in 500, 50 with the focus
        // (chance level); term 3 in 2 (too rare); term 4 (支付按钮) contains
        // the focus.
        let counts = Counts {
            sentences: 1_000,
            focus: 100,
            term: HashMap::from([(1, 60), (2, 500), (3, 2), (4, 40)]),
            together: HashMap::from([(1, 50), (2, 50), (3, 2), (4, 40)]),
        };
        let names = HashMap::from([
            (1, "位置".to_string()),
            (2, "订单".to_string()),
            (3, "稀有".to_string()),
            (4, "支付按钮".to_string()),
        ]);
        let ranked = rank("按钮", &counts, &names, 3, 10);
        let terms: Vec<&str> = ranked.terms.iter().map(|c| c.term.as_str()).collect();
        assert_eq!(terms, vec!["位置", "订单"]);
        // P(both) = .05, P(focus) = .1, P(位置) = .06: PMI = log2(.05/.006).
        assert!((ranked.terms[0].pmi - (0.05f64 / 0.006).log2()).abs() < 1e-9);
        assert!(ranked.terms[1].pmi.abs() < 1e-9);
    }
}
