//! Customer-side terms of a text: jieba words minus stop words, plus
//! multi-word phrases.
//!
//! Text is converted to simplified characters and folded for matching
//! ([`callscope_core::text`]), split into sentences at sentence punctuation and into
//! clauses at any other punctuation, and each clause is cut by jieba. A
//! *word* is a token that is not a stop word (`corpora/stopwords/zh.txt`),
//! not a number and has a letter or ideograph in it. A word of one
//! character (开, 打, 钱) is too ambiguous to count alone (jieba's own
//! keyword extraction drops them too) but takes part in phrases. A *phrase*
//! is two or three adjacent words of one clause joined together; the
//! linkers 的 and 之 between two words are skipped, so 按钮的位置 and 按钮位置
//! both count as the phrase 按钮位置. Any other stop word, and punctuation,
//! ends a phrase. The terms of a text are its words of two or more
//! characters and its phrases.

use std::collections::HashSet;

use sha2::{Digest, Sha256};

use callscope_core::dictionary::{Dictionary, CALLCENTER_DICT};
use callscope_core::text::{fold, Normalizer};

/// The Chinese stop words shipped with callscope.
pub const STOPWORDS_ZH: &str = include_str!("../../../corpora/stopwords/zh.txt");

/// Bump when extraction changes, so cached terms are recomputed.
const EXTRACTION_VERSION: u32 = 1;

/// Longest phrase, in words.
pub const MAX_PHRASE_WORDS: usize = 3;

/// Longest phrase, in characters (longer runs are not phrases people say).
const MAX_PHRASE_CHARS: usize = 12;

/// Tokens a phrase skips between two words.
const LINKERS: [&str; 2] = ["的", "之"];

/// Characters that end a sentence (other punctuation only ends a clause).
fn ends_sentence(character: char) -> bool {
    matches!(
        character,
        '。' | '！' | '？' | '!' | '?' | '；' | ';' | '…' | '\n' | '\r'
    )
}

fn is_numeral(character: char) -> bool {
    character.is_ascii_digit() || "零〇一二三四五六七八九十百千万亿两几半".contains(character)
}

/// Turns text into terms. Build once and share (it is `Sync`).
#[derive(Debug, Clone)]
pub struct TermExtractor {
    dictionary: Dictionary,
    normalizer: Normalizer,
    stopwords: HashSet<String>,
    fingerprint: String,
}

impl TermExtractor {
    /// An extractor over `dictionary` with callscope's stop words.
    /// `dictionary_fingerprint` names the user dictionary loaded into it
    /// (empty for none), so terms cached with another dictionary are
    /// recomputed.
    pub fn new(dictionary: Dictionary, dictionary_fingerprint: &str) -> TermExtractor {
        let normalizer = Normalizer::shared();
        let stopwords = parse_stopwords(STOPWORDS_ZH, &normalizer);
        let mut hasher = Sha256::new();
        hasher.update(EXTRACTION_VERSION.to_le_bytes());
        hasher.update(STOPWORDS_ZH.as_bytes());
        hasher.update(CALLCENTER_DICT.as_bytes());
        hasher.update(dictionary_fingerprint.as_bytes());
        let fingerprint = format!("terms-v{EXTRACTION_VERSION}-{:x}", hasher.finalize());
        TermExtractor {
            dictionary,
            normalizer,
            stopwords,
            fingerprint,
        }
    }

    /// Identifies this extraction (version, stop words, dictionaries): terms
    /// cached under another fingerprint are stale.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Whether `token` (normalized) is a stop word.
    pub fn is_stopword(&self, token: &str) -> bool {
        self.stopwords.contains(token)
    }

    /// The terms of `text`, one sorted, deduplicated list per sentence;
    /// sentences without terms are left out.
    pub fn sentences(&self, text: &str) -> Vec<Vec<String>> {
        let simplified = self.normalizer.to_simplified(text);
        let mut sentences = Vec::new();
        let mut sentence: Vec<String> = Vec::new();
        let mut clause = String::new();
        for character in simplified.chars() {
            if let Some(folded) = fold(character) {
                clause.push(folded);
                continue;
            }
            self.clause_terms(&clause, &mut sentence);
            clause.clear();
            if ends_sentence(character) {
                finish_sentence(&mut sentence, &mut sentences);
            }
        }
        self.clause_terms(&clause, &mut sentence);
        finish_sentence(&mut sentence, &mut sentences);
        sentences
    }

    /// All terms of `text`, sorted and deduplicated.
    pub fn terms(&self, text: &str) -> Vec<String> {
        let mut terms: Vec<String> = self.sentences(text).into_iter().flatten().collect();
        terms.sort_unstable();
        terms.dedup();
        terms
    }

    /// The words of a user's keyword or phrase (a topic keyword, `--term`,
    /// `--focus`), in order, stop words left out.
    pub fn words_of(&self, text: &str) -> Vec<String> {
        let clause: String = self
            .normalizer
            .to_simplified(text)
            .chars()
            .filter_map(fold)
            .collect();
        self.dictionary
            .cut(&clause)
            .into_iter()
            .filter(|token| self.is_word(token))
            .map(str::to_string)
            .collect()
    }

    /// The term a user means by `text`: its words joined the way phrases are
    /// counted (按钮的位置 → 按钮位置). `None` when nothing but stop words is
    /// left, when it is a single character (never a term alone), or when it
    /// has more words than a phrase can have.
    pub fn canonical(&self, text: &str) -> Option<String> {
        let words = self.words_of(text);
        if words.is_empty() || words.len() > MAX_PHRASE_WORDS {
            return None;
        }
        let term = words.concat();
        term.chars().nth(1).is_some().then_some(term)
    }

    fn is_word(&self, token: &str) -> bool {
        if self.stopwords.contains(token) {
            return false;
        }
        let mut has_letter = false;
        let mut all_numerals = true;
        for character in token.chars() {
            has_letter |= character.is_alphabetic();
            all_numerals &= is_numeral(character);
        }
        has_letter && !all_numerals && !(token.len() == 1 && token.is_ascii())
    }

    fn clause_terms(&self, clause: &str, out: &mut Vec<String>) {
        if clause.is_empty() {
            return;
        }
        let mut run: Vec<&str> = Vec::new();
        let mut after_linker = false;
        for token in self.dictionary.cut(clause) {
            if LINKERS.contains(&token) && !run.is_empty() && !after_linker {
                after_linker = true;
                continue;
            }
            after_linker = false;
            if self.is_word(token) {
                if token.chars().nth(1).is_some() {
                    out.push(token.to_string());
                }
                run.push(token);
            } else {
                push_phrases(&run, out);
                run.clear();
            }
        }
        push_phrases(&run, out);
    }
}

fn push_phrases(run: &[&str], out: &mut Vec<String>) {
    for length in 2..=MAX_PHRASE_WORDS {
        for window in run.windows(length) {
            let phrase = window.concat();
            if phrase.chars().count() <= MAX_PHRASE_CHARS {
                out.push(phrase);
            }
        }
    }
}

fn finish_sentence(sentence: &mut Vec<String>, sentences: &mut Vec<Vec<String>>) {
    if sentence.is_empty() {
        return;
    }
    let mut terms = std::mem::take(sentence);
    terms.sort_unstable();
    terms.dedup();
    sentences.push(terms);
}

/// Parses a stop-word list: one word per line, `#` comments, normalized the
/// way text is.
pub fn parse_stopwords(text: &str, normalizer: &Normalizer) -> HashSet<String> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| normalizer.normalize_str(line))
        .filter(|word| !word.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn extractor() -> TermExtractor {
        TermExtractor::new(Dictionary::load(None).unwrap(), "")
    }

    /// `text`'s terms must include every one of `present` and none of
    /// `absent`.
    fn check(text: &str, present: &[&str], absent: &[&str]) {
        let terms = extractor().terms(text);
        for term in present {
            assert!(
                terms.iter().any(|found| found == term),
                "{text}: no {term} in {terms:?}"
            );
        }
        for term in absent {
            assert!(
                !terms.iter().any(|found| found == term),
                "{text}: {term} in {terms:?}"
            );
        }
    }

    #[test]
    fn phrases_skip_linkers_and_stop_at_punctuation() {
        check("按钮的位置太难找了", &["按钮", "位置", "按钮位置"], &["的"]);
        check("按钮位置", &["按钮位置"], &[]);
        check(
            "支付按钮的位置变了",
            &["支付按钮", "按钮位置", "支付按钮位置"],
            &[],
        );
        check("按钮，位置", &["按钮", "位置"], &["按钮位置"]);
        check("按钮就是位置", &[], &["按钮位置"]);
    }

    #[test]
    fn fillers_numbers_and_politeness_are_not_terms() {
        check(
            "嗯，那个，您好，我想问一下，就是我的退款二十三天了还没到账，谢谢。",
            &["退款", "到账"],
            &[
                "嗯",
                "那个",
                "您好",
                "谢谢",
                "我",
                "就是",
                "二十三",
                "问一下",
            ],
        );
        check("ok 好的 123", &[], &["ok", "好的", "123"]);
        // Single characters only count inside phrases.
        check("钱到账了吗", &["到账", "钱到账"], &["钱"]);
    }

    #[test]
    fn traditional_and_full_width_text_is_normalized() {
        check("退款還沒到賬", &["退款"], &["還"]);
        check("ＡＰＰ一打开就闪退", &["app", "闪退"], &[]);
    }

    #[test]
    fn sentences_are_split_at_sentence_punctuation() {
        let sentences = extractor().sentences("支付按钮找不到了。退款什么时候到账？");
        assert_eq!(sentences.len(), 2, "{sentences:?}");
        assert!(sentences[0].contains(&"按钮".to_string()), "{sentences:?}");
        assert!(!sentences[0].contains(&"退款".to_string()), "{sentences:?}");
        assert!(sentences[1].contains(&"退款".to_string()), "{sentences:?}");
    }

    #[test]
    fn canonical_terms_of_user_keywords() {
        let extractor = extractor();
        assert_eq!(
            extractor.canonical("按钮的位置").as_deref(),
            Some("按钮位置")
        );
        assert_eq!(extractor.canonical("退款").as_deref(), Some("退款"));
        assert_eq!(extractor.canonical("請問"), None);
        assert_eq!(extractor.canonical("钱"), None);
    }

    #[test]
    fn the_fingerprint_follows_the_user_dictionary() {
        let dictionary = Dictionary::load(None).unwrap();
        let plain = TermExtractor::new(dictionary.clone(), "");
        let with_user = TermExtractor::new(dictionary, "user.dict:abc");
        assert_ne!(plain.fingerprint(), with_user.fingerprint());
    }
}
