//! Homophone matching for `fuzzy = "pinyin"`: ASR writes what it hears, so
//! 没办法 can come out as 没半法 (méi bàn fǎ / méi bàn fǎ). A keyword matches
//! a stretch of a sentence whose characters read as the same toneless pinyin
//! syllables, position by position.
//!
//! Every reading of a polyphonic character counts (长 reads zhang or chang),
//! on both sides; characters without pinyin (letters, symbols) must be equal;
//! ASCII digits read as their Chinese numerals (3 = 三 = san). Words shorter
//! than [`MIN_FUZZY_CHARS`] characters match exactly only: two-syllable
//! homophones are too common in ordinary speech.

use std::collections::HashMap;
use std::sync::OnceLock;

use pinyin::ToPinyinMulti;

/// Shortest word (in characters) that gets homophone matching.
pub const MIN_FUZZY_CHARS: usize = 3;

/// Ranges of characters whose readings are tabulated up front.
const TABLE_START: u32 = 0x3400;
const TABLE_END: u32 = 0xA000;

/// Toneless pinyin readings of characters, as small integer ids.
struct SyllableTable {
    /// For table characters: `offsets[c - TABLE_START]..offsets[c - TABLE_START + 1]`
    /// in `readings`.
    offsets: Vec<u32>,
    readings: Vec<u16>,
    /// Readings of ASCII letters and digits.
    ascii: [[u16; 1]; 128],
    ascii_known: [bool; 128],
    /// Number of distinct syllable ids.
    syllables: usize,
}

fn table() -> &'static SyllableTable {
    static TABLE: OnceLock<SyllableTable> = OnceLock::new();
    TABLE.get_or_init(SyllableTable::build)
}

impl SyllableTable {
    fn build() -> SyllableTable {
        let mut interned: HashMap<&'static str, u16> = HashMap::new();
        let intern = |syllable: &'static str, interned: &mut HashMap<&'static str, u16>| {
            let next = interned.len() as u16;
            *interned.entry(syllable).or_insert(next)
        };
        let mut offsets = Vec::with_capacity((TABLE_END - TABLE_START + 1) as usize);
        let mut readings = Vec::new();
        for code in TABLE_START..TABLE_END {
            offsets.push(readings.len() as u32);
            let Some(character) = char::from_u32(code) else {
                continue;
            };
            let Some(multi) = character.to_pinyin_multi() else {
                continue;
            };
            let start = readings.len();
            for index in 0..multi.count() {
                let id = intern(multi.get(index).plain(), &mut interned);
                if !readings[start..].contains(&id) {
                    readings.push(id);
                }
            }
        }
        offsets.push(readings.len() as u32);
        const DIGITS: [&str; 10] = [
            "ling", "yi", "er", "san", "si", "wu", "liu", "qi", "ba", "jiu",
        ];
        const LETTERS: [&str; 26] = [
            "#a", "#b", "#c", "#d", "#e", "#f", "#g", "#h", "#i", "#j", "#k", "#l", "#m", "#n",
            "#o", "#p", "#q", "#r", "#s", "#t", "#u", "#v", "#w", "#x", "#y", "#z",
        ];
        let mut ascii = [[0u16; 1]; 128];
        let mut ascii_known = [false; 128];
        for (digit, syllable) in DIGITS.iter().enumerate() {
            ascii[b'0' as usize + digit] = [intern(syllable, &mut interned)];
            ascii_known[b'0' as usize + digit] = true;
        }
        for (letter, syllable) in LETTERS.iter().enumerate() {
            let id = intern(syllable, &mut interned);
            ascii[b'a' as usize + letter] = [id];
            ascii[b'A' as usize + letter] = [id];
            ascii_known[b'a' as usize + letter] = true;
            ascii_known[b'A' as usize + letter] = true;
        }
        SyllableTable {
            offsets,
            readings,
            ascii,
            ascii_known,
            syllables: interned.len(),
        }
    }

    fn readings(&self, character: char) -> &[u16] {
        let code = character as u32;
        if code < 128 {
            return if self.ascii_known[code as usize] {
                &self.ascii[code as usize]
            } else {
                &[]
            };
        }
        if (TABLE_START..TABLE_END).contains(&code) {
            let index = (code - TABLE_START) as usize;
            let (start, end) = (
                self.offsets[index] as usize,
                self.offsets[index + 1] as usize,
            );
            return &self.readings[start..end];
        }
        &[]
    }
}

/// The toneless readings of a character as syllable ids (empty when it has
/// no pinyin).
pub fn readings(character: char) -> &'static [u16] {
    table().readings(character)
}

/// Whether two characters can sound the same: equal, or sharing a reading.
pub fn sounds_alike(left: char, right: char) -> bool {
    if left == right {
        return true;
    }
    let (left, right) = (readings(left), readings(right));
    left.iter().any(|syllable| right.contains(syllable))
}

/// A homophone found in a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HomophoneHit {
    /// The id the word was registered with.
    pub word: u32,
    /// First character of the match in the text.
    pub start: usize,
    /// One past the last character.
    pub end: usize,
}

/// Finds homophones of many words at once. Words are indexed by the
/// syllables of their first two characters; a bitmap of those pairs rejects
/// most sentence positions with one probe.
#[derive(Debug, Clone, Default)]
pub struct HomophoneIndex {
    words: Vec<(u32, Vec<char>)>,
    /// (first syllable * syllables + second syllable, word position), sorted.
    by_pair: Vec<(u32, u32)>,
    /// One bit per syllable pair that starts some word.
    pair_bits: Vec<u64>,
    /// Words whose first two characters do not both have pinyin: tried at
    /// every position.
    unpaired: Vec<u32>,
    syllables: u32,
    min_chars: usize,
}

impl HomophoneIndex {
    /// An index of `words` (id, normalized word); words shorter than
    /// [`MIN_FUZZY_CHARS`] are left out (they match exactly only).
    pub fn new<'w>(words: impl IntoIterator<Item = (u32, &'w str)>) -> HomophoneIndex {
        HomophoneIndex::with_min_chars(words, MIN_FUZZY_CHARS)
    }

    /// An index of the words of at least `min_chars` (2 or more) characters;
    /// [`HomophoneIndex::new`] uses [`MIN_FUZZY_CHARS`]. Other minimums are
    /// for measuring false positives.
    pub fn with_min_chars<'w>(
        words: impl IntoIterator<Item = (u32, &'w str)>,
        min_chars: usize,
    ) -> HomophoneIndex {
        let min_chars = min_chars.max(2);
        let table = table();
        let syllables = table.syllables as u32;
        let mut index = HomophoneIndex {
            syllables,
            min_chars,
            ..HomophoneIndex::default()
        };
        for (id, word) in words {
            let characters: Vec<char> = word.chars().collect();
            if characters.len() < min_chars {
                continue;
            }
            let position = index.words.len() as u32;
            let (first, second) = (table.readings(characters[0]), table.readings(characters[1]));
            if first.is_empty() || second.is_empty() {
                index.unpaired.push(position);
            }
            for first_syllable in first {
                for second_syllable in second {
                    let key = u32::from(*first_syllable) * syllables + u32::from(*second_syllable);
                    index.by_pair.push((key, position));
                }
            }
            index.words.push((id, characters));
        }
        index.by_pair.sort_unstable();
        index.by_pair.dedup();
        if !index.by_pair.is_empty() {
            index.pair_bits = vec![0; (syllables as usize * syllables as usize).div_ceil(64)];
            for (key, _) in &index.by_pair {
                index.pair_bits[*key as usize / 64] |= 1 << (key % 64);
            }
        }
        index
    }

    /// Whether no word is indexed.
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// Appends to `hits` every homophone of an indexed word in `text` that
    /// is not the word itself (exact matches are found elsewhere).
    pub fn find(&self, text: &[char], hits: &mut Vec<HomophoneHit>) {
        if self.words.is_empty() || text.len() < self.min_chars {
            return;
        }
        let table = table();
        let readings: Vec<&[u16]> = text
            .iter()
            .map(|character| table.readings(*character))
            .collect();
        let mut candidates: Vec<u32> = Vec::new();
        for start in 0..=text.len() - self.min_chars {
            candidates.clear();
            if !self.by_pair.is_empty() {
                for first in readings[start] {
                    for second in readings[start + 1] {
                        let key = u32::from(*first) * self.syllables + u32::from(*second);
                        if self.pair_bits[key as usize / 64] & (1 << (key % 64)) == 0 {
                            continue;
                        }
                        let from = self.by_pair.partition_point(|(found, _)| *found < key);
                        candidates.extend(
                            self.by_pair[from..]
                                .iter()
                                .take_while(|(found, _)| *found == key)
                                .map(|(_, position)| *position),
                        );
                    }
                }
            }
            candidates.extend_from_slice(&self.unpaired);
            if candidates.is_empty() {
                continue;
            }
            candidates.sort_unstable();
            candidates.dedup();
            for position in &candidates {
                let (id, word) = &self.words[*position as usize];
                let end = start + word.len();
                if end > text.len() {
                    continue;
                }
                let window = &text[start..end];
                if window == word.as_slice() {
                    continue;
                }
                let alike = window
                    .iter()
                    .zip(word)
                    .enumerate()
                    .all(|(offset, (found, wanted))| {
                        found == wanted
                            || readings[start + offset]
                                .iter()
                                .any(|syllable| table.readings(*wanted).contains(syllable))
                    });
                if alike {
                    hits.push(HomophoneHit {
                        word: *id,
                        start,
                        end,
                    });
                }
            }
        }
    }
}

/// How often homophone matching fires on text that is known to be right
/// (clean transcripts): every homophone-only hit there is a false positive.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct FalsePositiveReport {
    /// Sentences scanned.
    pub sentences: usize,
    /// Words matched (those long enough for homophones).
    pub fuzzy_words: usize,
    /// Exact occurrences of the words.
    pub exact_hits: usize,
    /// Homophone-only occurrences (false positives on clean text).
    pub homophone_hits: usize,
    /// Sentences with at least one homophone-only occurrence.
    pub sentences_with_homophones: usize,
    /// Up to 10 examples: (sentence, matched, word).
    pub examples: Vec<(String, String, String)>,
}

impl FalsePositiveReport {
    /// Homophone-only hits per 1,000 sentences.
    pub fn per_thousand_sentences(&self) -> f64 {
        if self.sentences == 0 {
            return 0.0;
        }
        1000.0 * self.sentences_with_homophones as f64 / self.sentences as f64
    }
}

/// Measures homophone false positives of `words` (normalized) on clean
/// `sentences` (normalized), for words of at least `min_chars` characters
/// ([`MIN_FUZZY_CHARS`] is what rules use).
pub fn false_positives(
    words: &[String],
    sentences: &[String],
    min_chars: usize,
) -> FalsePositiveReport {
    let index = HomophoneIndex::with_min_chars(
        words
            .iter()
            .enumerate()
            .map(|(id, word)| (id as u32, word.as_str())),
        min_chars,
    );
    let mut report = FalsePositiveReport {
        sentences: sentences.len(),
        fuzzy_words: index.words.len(),
        ..FalsePositiveReport::default()
    };
    let mut hits = Vec::new();
    for sentence in sentences {
        let characters: Vec<char> = sentence.chars().collect();
        for word in words {
            report.exact_hits += sentence.matches(word.as_str()).count();
        }
        hits.clear();
        index.find(&characters, &mut hits);
        if hits.is_empty() {
            continue;
        }
        report.homophone_hits += hits.len();
        report.sentences_with_homophones += 1;
        for hit in &hits {
            let matched: String = characters[hit.start..hit.end].iter().collect();
            let word = &words[hit.word as usize];
            let known = report
                .examples
                .iter()
                .any(|(_, seen_matched, seen_word)| *seen_matched == matched && seen_word == word);
            if report.examples.len() < 10 && !known {
                report
                    .examples
                    .push((sentence.clone(), matched, word.clone()));
            }
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find(words: &[&str], text: &str) -> Vec<(String, String)> {
        let index = HomophoneIndex::new(
            words
                .iter()
                .enumerate()
                .map(|(id, word)| (id as u32, *word)),
        );
        let characters: Vec<char> = text.chars().collect();
        let mut hits = Vec::new();
        index.find(&characters, &mut hits);
        hits.iter()
            .map(|hit| {
                (
                    words[hit.word as usize].to_string(),
                    characters[hit.start..hit.end].iter().collect(),
                )
            })
            .collect()
    }

    #[test]
    fn homophones_match_and_exact_words_are_left_to_exact_matching() {
        let pairs = |list: &[(&str, &str)]| -> Vec<(String, String)> {
            list.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect()
        };
        assert_eq!(
            find(&["没办法"], "这个我也没半法"),
            pairs(&[("没办法", "没半法")])
        );
        assert_eq!(
            find(&["不归我管"], "这个不规我管"),
            pairs(&[("不归我管", "不规我管")])
        );
        assert_eq!(find(&["没办法"], "这个我也没办法"), pairs(&[]));
        // Polyphonic characters: 长 reads chang in 长时间.
        assert_eq!(
            find(&["常时间"], "等了很长时间"),
            pairs(&[("常时间", "长时间")])
        );
        // Digits read as numerals.
        assert_eq!(find(&["三零七"], "工号307"), pairs(&[("三零七", "307")]));
        // Different sounds do not match.
        assert_eq!(find(&["没办法"], "美半价"), pairs(&[]));
        // Two-character words match exactly only.
        assert_eq!(find(&["投诉"], "头速"), pairs(&[]));
    }

    #[test]
    fn false_positive_report_counts_homophone_only_hits() {
        let words = vec!["没办法".to_string(), "再见".to_string()];
        let sentences = vec![
            "这个我也没办法".to_string(),
            "我们没半法处理".to_string(),
            "好的再见".to_string(),
        ];
        let report = false_positives(&words, &sentences, MIN_FUZZY_CHARS);
        assert_eq!(report.sentences, 3);
        assert_eq!(report.fuzzy_words, 1);
        assert_eq!(report.exact_hits, 2);
        assert_eq!(report.homophone_hits, 1);
        assert_eq!(report.sentences_with_homophones, 1);
        assert!((report.per_thousand_sentences() - 333.333).abs() < 0.01);
    }
}
