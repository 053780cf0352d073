//! Character-based similarity for `similar` and `repeat`.
//!
//! # `similar`: phrase similarity (a fitting alignment)
//!
//! A sentence is compared with a phrase by aligning the whole phrase with
//! the best-matching stretch of the sentence (a "fitting" or semi-global
//! alignment, Sellers 1980; affine gaps as in Gotoh 1982). Text before and
//! after the stretch is free, so a greeting followed by the agent's employee
//! number is still the greeting. Inside the stretch, the alignment pays:
//!
//! | edit | cost |
//! |---|---|
//! | a phrase character replaced by another (an ASR slip: 服物 for 服务) | 1 |
//! | a phrase character missing from the sentence | 1 |
//! | a run of extra characters inserted into the phrase (我是客服小李) | 0.5 for the run, plus 0.05 per character after the first |
//!
//! `similarity = max(0, 1 - cost / phrase_length)`, with phrase length in
//! normalized characters (simplified, no punctuation or spaces). A rule's
//! `threshold` is the least similarity that counts: `0.8` on a 10-character
//! phrase allows two slips or missing characters, or one slip and a few
//! inserted words; `1.0` asks for the phrase verbatim (anywhere in the
//! sentence).
//!
//! # `repeat`: sentence similarity
//!
//! Two sentences of a speaker are the same request when the Dice coefficient
//! of their longest common subsequence, `2 * lcs / (len_a + len_b)`, is at
//! least the threshold: symmetric, and tolerant of slips and a few added
//! words ("我的快递三天了还没发货" / "我说我的快递三天了还没发货" = 0.92).

/// Costs in twentieths of a character, so that the dynamic program runs on
/// integers.
const UNIT: i32 = 20;
const SUBSTITUTION: i32 = UNIT;
const DELETION: i32 = UNIT;
const GAP_OPEN: i32 = UNIT / 2;
const GAP_EXTEND: i32 = 1;
const INFINITE: i32 = i32::MAX / 4;

/// The best alignment of a phrase within a sentence.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PhraseMatch {
    /// Similarity in 0..1 (see the module docs).
    pub similarity: f64,
    /// First sentence character of the matched stretch.
    pub start: usize,
    /// One past the last sentence character of the matched stretch.
    pub end: usize,
}

/// Reusable buffers for [`phrase_similarity`].
#[derive(Debug, Default)]
pub struct Scratch {
    matched: Vec<(i32, u32)>,
    deleted: Vec<(i32, u32)>,
    inserted: Vec<(i32, u32)>,
    previous_matched: Vec<(i32, u32)>,
    previous_deleted: Vec<(i32, u32)>,
    previous_inserted: Vec<(i32, u32)>,
}

fn better(left: (i32, u32), right: (i32, u32)) -> (i32, u32) {
    // Lower cost wins; on a tie, the earlier start, so that a slipped first
    // character is part of the stretch shown as evidence.
    if right.0 < left.0 || (right.0 == left.0 && right.1 < left.1) {
        right
    } else {
        left
    }
}

/// Aligns the whole `phrase` with the best stretch of `sentence`.
pub fn phrase_similarity(phrase: &[char], sentence: &[char], scratch: &mut Scratch) -> PhraseMatch {
    let phrase_length = phrase.len();
    let sentence_length = sentence.len();
    if phrase_length == 0 {
        return PhraseMatch {
            similarity: 0.0,
            start: 0,
            end: 0,
        };
    }
    // Row i holds, for each sentence position j, the best (cost, start) of
    // aligning phrase[..i] ending at j in state matched / deleted / inserted.
    let width = sentence_length + 1;
    let Scratch {
        matched,
        deleted,
        inserted,
        previous_matched,
        previous_deleted,
        previous_inserted,
    } = scratch;
    for buffer in [
        &mut *matched,
        &mut *deleted,
        &mut *inserted,
        &mut *previous_matched,
        &mut *previous_deleted,
        &mut *previous_inserted,
    ] {
        buffer.clear();
        buffer.resize(width, (INFINITE, 0));
    }
    // Row 0: nothing of the phrase aligned yet; any sentence prefix is free.
    for (j, cell) in previous_matched.iter_mut().enumerate() {
        *cell = (0, j as u32);
    }
    for i in 1..=phrase_length {
        let phrase_char = phrase[i - 1];
        // Column 0: the first i phrase characters are all missing.
        matched[0] = (INFINITE, 0);
        inserted[0] = (INFINITE, 0);
        let above = better(
            better(previous_matched[0], previous_deleted[0]),
            previous_inserted[0],
        );
        deleted[0] = (above.0.saturating_add(DELETION), above.1);
        for j in 1..width {
            let diagonal = better(
                better(previous_matched[j - 1], previous_deleted[j - 1]),
                previous_inserted[j - 1],
            );
            let cost = if sentence[j - 1] == phrase_char {
                0
            } else {
                SUBSTITUTION
            };
            matched[j] = (diagonal.0.saturating_add(cost), diagonal.1);
            let up = better(
                better(previous_matched[j], previous_deleted[j]),
                previous_inserted[j],
            );
            deleted[j] = (up.0.saturating_add(DELETION), up.1);
            let open = better(matched[j - 1], deleted[j - 1]);
            let open = (open.0.saturating_add(GAP_OPEN), open.1);
            let extend = (
                inserted[j - 1].0.saturating_add(GAP_EXTEND),
                inserted[j - 1].1,
            );
            inserted[j] = better(open, extend);
        }
        std::mem::swap(matched, previous_matched);
        std::mem::swap(deleted, previous_deleted);
        std::mem::swap(inserted, previous_inserted);
    }
    // The alignment may end anywhere; trailing sentence text is free, so an
    // alignment never ends in the inserted state. On a tie the later end
    // wins, so that a slipped last character is part of the stretch.
    let mut best = (INFINITE, 0u32);
    let mut best_end = 0;
    for j in 0..width {
        let candidate = better(previous_matched[j], previous_deleted[j]);
        if candidate.0 <= best.0 {
            best = candidate;
            best_end = j;
        }
    }
    let cost = f64::from(best.0) / f64::from(UNIT);
    let similarity = (1.0 - cost / phrase_length as f64).max(0.0);
    let start = (best.1 as usize).min(best_end);
    PhraseMatch {
        similarity,
        start,
        end: best_end,
    }
}

/// The best similarity any phrase could reach given only which characters
/// the sentence holds: `present / phrase_length`, where `present` counts the
/// phrase characters found in the sentence's character set. A cheap upper
/// bound of [`phrase_similarity`], to skip hopeless pairs.
pub fn similarity_upper_bound(phrase: &[char], sentence_mask: u128) -> f64 {
    if phrase.is_empty() {
        return 0.0;
    }
    let present = phrase
        .iter()
        .filter(|character| sentence_mask & char_bit(**character) != 0)
        .count();
    present as f64 / phrase.len() as f64
}

/// A one-bit fingerprint of a character for 128-bit character-set masks.
pub fn char_bit(character: char) -> u128 {
    let hashed = (character as u32).wrapping_mul(0x9E37_79B1);
    1u128 << (hashed >> 25)
}

/// The character-set mask of a text (see [`char_bit`]).
pub fn char_mask(text: &[char]) -> u128 {
    text.iter()
        .fold(0, |mask, character| mask | char_bit(*character))
}

/// Dice coefficient of the longest common subsequence: `2 * lcs / (a + b)`.
pub fn sentence_similarity(left: &[char], right: &[char], row: &mut Vec<u16>) -> f64 {
    if left.is_empty() || right.is_empty() {
        return 0.0;
    }
    let lcs = longest_common_subsequence(left, right, row);
    2.0 * lcs as f64 / (left.len() + right.len()) as f64
}

fn longest_common_subsequence(left: &[char], right: &[char], row: &mut Vec<u16>) -> usize {
    row.clear();
    row.resize(right.len() + 1, 0);
    for left_char in left {
        let mut diagonal = 0u16;
        for (j, right_char) in right.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = if left_char == right_char {
                diagonal + 1
            } else {
                above.max(row[j])
            };
            diagonal = above;
        }
    }
    row[right.len()] as usize
}

/// An upper bound of [`sentence_similarity`] from the characters the two
/// sentences share (multiset intersection bounds the LCS).
pub fn sentence_similarity_upper_bound(left_sorted: &[char], right_sorted: &[char]) -> f64 {
    if left_sorted.is_empty() || right_sorted.is_empty() {
        return 0.0;
    }
    let (mut i, mut j, mut common) = (0, 0, 0usize);
    while i < left_sorted.len() && j < right_sorted.len() {
        match left_sorted[i].cmp(&right_sorted[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                common += 1;
                i += 1;
                j += 1;
            }
        }
    }
    2.0 * common as f64 / (left_sorted.len() + right_sorted.len()) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chars(text: &str) -> Vec<char> {
        callscope_core::text::Normalizer::shared()
            .normalize_str(text)
            .chars()
            .collect()
    }

    fn similarity(phrase: &str, sentence: &str) -> (f64, String) {
        let sentence_chars = chars(sentence);
        let found = phrase_similarity(&chars(phrase), &sentence_chars, &mut Scratch::default());
        (
            (found.similarity * 1000.0).round() / 1000.0,
            sentence_chars[found.start..found.end].iter().collect(),
        )
    }

    #[test]
    fn phrase_similarity_cases() {
        // (phrase, sentence, similarity, matched stretch)
        let cases = [
            (
                "您好很高兴为您服务",
                "您好，很高兴为您服务。",
                1.0,
                "您好很高兴为您服务",
            ),
            // Employee number after the greeting: free.
            (
                "您好很高兴为您服务",
                "您好，很高兴为您服务，我是工号三零七。",
                1.0,
                "您好很高兴为您服务",
            ),
            // And before it.
            (
                "很高兴为您服务",
                "工号三零七很高兴为您服务",
                1.0,
                "很高兴为您服务",
            ),
            // An ASR slip: one substitution in nine characters.
            (
                "您好很高兴为您服务",
                "您好，很高兴为您服物",
                0.889,
                "您好很高兴为您服物",
            ),
            // One missing character.
            (
                "您好很高兴为您服务",
                "您好，很高兴为服务",
                0.889,
                "您好很高兴为服务",
            ),
            // Words inserted in the middle: one gap of 8 characters.
            (
                "您好很高兴为您服务",
                "您好，我是三零七号客服，很高兴为您服务",
                0.906,
                "您好我是三零七号客服很高兴为您服务",
            ),
            // Unrelated sentences are far below any sensible threshold.
            ("您好很高兴为您服务", "我的快递三天了还没有发货", 0.0, ""),
            ("感谢您的来电再见", "请问还有其他可以帮您的吗", 0.25, ""),
        ];
        for (phrase, sentence, expected, stretch) in cases {
            let (found, matched) = similarity(phrase, sentence);
            assert!(
                (found - expected).abs() < 0.002,
                "{phrase} in {sentence}: {found}, expected {expected}"
            );
            if !stretch.is_empty() {
                assert_eq!(matched, stretch, "{phrase} in {sentence}");
            }
        }
    }

    #[test]
    fn empty_inputs_are_dissimilar() {
        let mut scratch = Scratch::default();
        assert_eq!(
            phrase_similarity(&[], &chars("您好"), &mut scratch).similarity,
            0.0
        );
        assert_eq!(
            phrase_similarity(&chars("您好"), &[], &mut scratch).similarity,
            0.0
        );
    }

    #[test]
    fn the_upper_bound_never_underestimates() {
        let sentences = [
            "您好，很高兴为您服务",
            "我的快递三天了还没有发货",
            "好的",
            "您好您好您好",
        ];
        let phrases = ["您好很高兴为您服务", "感谢您的来电再见", "没办法"];
        let mut scratch = Scratch::default();
        for sentence in sentences {
            let sentence = chars(sentence);
            for phrase in phrases {
                let phrase = chars(phrase);
                let exact = phrase_similarity(&phrase, &sentence, &mut scratch).similarity;
                let bound = similarity_upper_bound(&phrase, char_mask(&sentence));
                assert!(bound + 1e-9 >= exact, "{bound} < {exact}");
            }
        }
    }

    #[test]
    fn sentence_similarity_cases() {
        let mut row = Vec::new();
        let cases = [
            ("我的快递三天了还没发货", "我的快递三天了还没发货", 1.0),
            (
                "我的快递三天了还没发货",
                "我说我的快递三天了还没发货",
                0.917,
            ),
            ("我的快递三天了还没发货", "能不能帮我改一下收货地址", 0.174),
        ];
        for (left, right, expected) in cases {
            let (left, right) = (chars(left), chars(right));
            let found = sentence_similarity(&left, &right, &mut row);
            assert!((found - expected).abs() < 0.001, "{found} vs {expected}");
            let (mut left_sorted, mut right_sorted) = (left.clone(), right.clone());
            left_sorted.sort_unstable();
            right_sorted.sort_unstable();
            assert!(sentence_similarity_upper_bound(&left_sorted, &right_sorted) + 1e-9 >= found);
        }
    }
}
