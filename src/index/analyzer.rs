//! The one text analyzer of the search index, used alike for indexing, for
//! queries and for re-matching hits, so the three can never disagree.
//!
//! Text is first normalized ([`crate::text::Normalizer`]: traditional to
//! simplified, full-width to ASCII, lowercase, punctuation and spaces
//! dropped). The normalized text is then read two ways:
//!
//! - **Units and grams** (exact recall): a unit is one Chinese character or
//!   one ASCII word or number. Each unit starts a *gram*: the unit and the
//!   next one (`退款`, `款到`, `app 闪`), or the unit alone at the end of a
//!   segment. Any string of two or more units is then an exact chain of
//!   grams at consecutive positions, and a single unit is every gram that
//!   starts with it; so every query word has a guaranteed substring match,
//!   however jieba splits the sentence around it.
//! - **Words** (ranking and phrases across particles): jieba's words with the
//!   project's dictionary. Structural particles (的 了 地 得 着 过, jieba tags
//!   `u*`) take no position, so the words of `按钮的位置` stand next to each
//!   other exactly as those of `按钮位置`.
//!
//! Segments of a call are laid out one after the other with
//! [`SEGMENT_GAP`] empty positions between them, so that neither a phrase
//! nor a proximity match ever spans two segments.

use crate::dictionary::Dictionary;
use crate::text::{Normalized, Normalizer};

/// Empty positions between two segments of a call in the index; larger than
/// any allowed proximity distance.
pub const SEGMENT_GAP: u32 = 128;

/// The largest distance (in characters) a proximity query may ask for.
pub const MAX_NEAR_DISTANCE: u32 = 100;

/// One unit of normalized text: a character, or an ASCII word or number;
/// `start..end` are indices into the normalized characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unit {
    /// First normalized character.
    pub start: usize,
    /// One past the last normalized character.
    pub end: usize,
    /// Whether the unit is an ASCII word or number (grams join those with a
    /// space).
    pub ascii: bool,
}

/// A jieba word of normalized text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    /// The word in normalized form.
    pub text: String,
    /// First normalized character.
    pub start: usize,
    /// One past the last normalized character.
    pub end: usize,
    /// A structural particle (的 了 地 得 着 过): takes no word position.
    pub particle: bool,
}

/// A text analyzed for matching: normalized characters (with the map back
/// to the original) and their units.
#[derive(Debug, Clone, Default)]
pub struct Analyzed {
    /// The normalized text and its map to the original.
    pub normalized: Normalized,
    /// The units of the normalized text, in order.
    pub units: Vec<Unit>,
}

impl Analyzed {
    /// The text of unit `index`.
    pub fn unit_text(&self, index: usize) -> String {
        let unit = self.units[index];
        self.normalized.chars[unit.start..unit.end].iter().collect()
    }

    /// The texts of all units.
    pub fn unit_texts(&self) -> Vec<String> {
        (0..self.units.len())
            .map(|index| self.unit_text(index))
            .collect()
    }
}

/// One token for the index: its term text and position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// The term.
    pub text: String,
    /// Position in the field (segments are separated by [`SEGMENT_GAP`]).
    pub position: u32,
}

/// The analyzer: normalizer and jieba, built once and shared (cheap to clone).
#[derive(Debug, Clone)]
pub struct Analyzer {
    normalizer: Normalizer,
    dictionary: Dictionary,
}

impl Analyzer {
    /// An analyzer over this dictionary (jieba with the call-center words and
    /// the user's).
    pub fn new(dictionary: Dictionary) -> Analyzer {
        Analyzer {
            normalizer: Normalizer::shared(),
            dictionary,
        }
    }

    /// Normalizes `text` and splits it into units.
    pub fn analyze(&self, text: &str) -> Analyzed {
        let normalized = self.normalizer.normalize(text);
        let units = units_of(&normalized);
        Analyzed { normalized, units }
    }

    /// Appends the grams of one segment to `tokens`, its first unit at
    /// position `base`; returns the position after its last unit.
    pub fn gram_tokens(&self, analyzed: &Analyzed, base: u32, tokens: &mut Vec<Token>) -> u32 {
        let chars = &analyzed.normalized.chars;
        let units = &analyzed.units;
        for (index, unit) in units.iter().enumerate() {
            let mut text = String::with_capacity(8);
            text.extend(&chars[unit.start..unit.end]);
            if let Some(next) = units.get(index + 1) {
                if unit.ascii || next.ascii {
                    text.push(' ');
                }
                text.extend(&chars[next.start..next.end]);
            }
            tokens.push(Token {
                text,
                position: base + index as u32,
            });
        }
        base + units.len() as u32
    }

    /// The jieba words of analyzed text (particles marked, not removed).
    pub fn words(&self, analyzed: &Analyzed) -> Vec<Word> {
        let normalized = &analyzed.normalized;
        if normalized.is_empty() {
            return Vec::new();
        }
        // Where punctuation or spaces were dropped, put a space back so that
        // no word spans them; remember where each spaced character came from.
        let mut spaced = String::with_capacity(normalized.len() * 3);
        let mut origin = Vec::with_capacity(normalized.len() + 8);
        for (index, character) in normalized.chars.iter().enumerate() {
            if index > 0 && normalized.spans[index].0 != normalized.spans[index - 1].1 {
                spaced.push(' ');
                origin.push(usize::MAX);
            }
            spaced.push(*character);
            origin.push(index);
        }
        let mut words = Vec::new();
        for tag in self.dictionary.jieba().tag(&spaced, true) {
            let Some(start) = origin[tag.start..tag.end]
                .iter()
                .copied()
                .find(|&index| index != usize::MAX)
            else {
                continue;
            };
            let end = origin[tag.start..tag.end]
                .iter()
                .rev()
                .copied()
                .find(|&index| index != usize::MAX)
                .map_or(start + 1, |index| index + 1);
            let text: String = tag.word.chars().filter(|c| *c != ' ').collect();
            if text.is_empty() {
                continue;
            }
            let particle = tag.tag.starts_with('u') && text.chars().count() == 1;
            words.push(Word {
                text,
                start,
                end,
                particle,
            });
        }
        words
    }

    /// Appends the word tokens of one segment to `tokens` (particles take no
    /// position), the first at `base`; returns the position after the last.
    pub fn word_tokens(&self, words: &[Word], base: u32, tokens: &mut Vec<Token>) -> u32 {
        let mut position = base;
        for word in words.iter().filter(|word| !word.particle) {
            tokens.push(Token {
                text: word.text.clone(),
                position,
            });
            position += 1;
        }
        position
    }

    /// The words a query token stands for: jieba's words without particles
    /// (unless the token is nothing but particles).
    pub fn query_words(&self, text: &str) -> Vec<String> {
        let analyzed = self.analyze(text);
        let words = self.words(&analyzed);
        let content: Vec<String> = words
            .iter()
            .filter(|word| !word.particle)
            .map(|word| word.text.clone())
            .collect();
        if content.is_empty() {
            words.into_iter().map(|word| word.text).collect()
        } else {
            content
        }
    }
}

/// The gram of two consecutive units: Chinese characters are joined
/// directly (`退款`), a pair with an ASCII word by a space (`app 闪`).
pub fn gram(first: &str, first_ascii: bool, second: &str, second_ascii: bool) -> String {
    if first_ascii || second_ascii {
        format!("{first} {second}")
    } else {
        format!("{first}{second}")
    }
}

/// Splits normalized text into units: runs of ASCII letters, runs of ASCII
/// digits (each broken where punctuation or a space was dropped), and every
/// other character alone.
pub fn units_of(normalized: &Normalized) -> Vec<Unit> {
    #[derive(PartialEq, Clone, Copy)]
    enum Class {
        Letter,
        Digit,
        Other,
    }
    let class = |character: char| {
        if character.is_ascii_alphabetic() {
            Class::Letter
        } else if character.is_ascii_digit() {
            Class::Digit
        } else {
            Class::Other
        }
    };
    let mut units: Vec<Unit> = Vec::with_capacity(normalized.len());
    let mut previous = Class::Other;
    for (index, character) in normalized.chars.iter().enumerate() {
        let current = class(*character);
        let joined = index > 0 && normalized.spans[index].0 == normalized.spans[index - 1].1;
        match units.last_mut() {
            Some(last) if current != Class::Other && current == previous && joined => {
                last.end = index + 1;
            }
            _ => units.push(Unit {
                start: index,
                end: index + 1,
                ascii: current != Class::Other,
            }),
        }
        previous = current;
    }
    units
}

/// The gram analysis as a tantivy tokenizer (registered with the index, so
/// text given to tantivy directly is analyzed exactly as callscope does).
#[derive(Clone)]
pub struct GramTokenizer(pub Analyzer);

/// The word analysis as a tantivy tokenizer.
#[derive(Clone)]
pub struct WordTokenizer(pub Analyzer);

/// Tokens computed up front, handed out one by one.
pub struct ListTokenStream {
    tokens: Vec<tantivy::tokenizer::Token>,
    next: usize,
}

impl ListTokenStream {
    fn new(tokens: Vec<Token>) -> ListTokenStream {
        ListTokenStream {
            tokens: tokens
                .into_iter()
                .map(|token| tantivy::tokenizer::Token {
                    position: token.position as usize,
                    text: token.text,
                    ..tantivy::tokenizer::Token::default()
                })
                .collect(),
            next: 0,
        }
    }
}

impl tantivy::tokenizer::TokenStream for ListTokenStream {
    fn advance(&mut self) -> bool {
        self.next += 1;
        self.next <= self.tokens.len()
    }

    fn token(&self) -> &tantivy::tokenizer::Token {
        &self.tokens[self.next - 1]
    }

    fn token_mut(&mut self) -> &mut tantivy::tokenizer::Token {
        &mut self.tokens[self.next - 1]
    }
}

impl tantivy::tokenizer::Tokenizer for GramTokenizer {
    type TokenStream<'a> = ListTokenStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> ListTokenStream {
        let mut tokens = Vec::new();
        self.0.gram_tokens(&self.0.analyze(text), 0, &mut tokens);
        ListTokenStream::new(tokens)
    }
}

impl tantivy::tokenizer::Tokenizer for WordTokenizer {
    type TokenStream<'a> = ListTokenStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> ListTokenStream {
        let mut tokens = Vec::new();
        let words = self.0.words(&self.0.analyze(text));
        self.0.word_tokens(&words, 0, &mut tokens);
        ListTokenStream::new(tokens)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn analyzer() -> Analyzer {
        Analyzer::new(Dictionary::load(None).unwrap())
    }

    fn grams(text: &str) -> Vec<String> {
        let analyzer = analyzer();
        let mut tokens = Vec::new();
        analyzer.gram_tokens(&analyzer.analyze(text), 0, &mut tokens);
        tokens.into_iter().map(|token| token.text).collect()
    }

    #[test]
    fn grams_of_chinese_ascii_and_traditional_text() {
        assert_eq!(grams("退款到账。"), ["退款", "款到", "到账", "账"]);
        assert_eq!(grams("退款到賬"), ["退款", "款到", "到账", "账"]);
        assert_eq!(grams("APP闪退，iPhone12"), ["app 闪", "闪退", "退 iphone", "iphone 12", "12"]);
        assert_eq!(grams("ok app"), ["ok app", "app"]);
        assert_eq!(grams("嗯"), ["嗯"]);
        assert!(grams("，。！").is_empty());
    }

    #[test]
    fn particles_take_no_word_position() {
        let analyzer = analyzer();
        let words = |text: &str| {
            let mut tokens = Vec::new();
            let analyzed = analyzer.analyze(text);
            analyzer.word_tokens(&analyzer.words(&analyzed), 0, &mut tokens);
            tokens
                .into_iter()
                .map(|token| format!("{}@{}", token.text, token.position))
                .collect::<Vec<_>>()
        };
        assert_eq!(words("按钮的位置"), words("按钮位置"));
        assert_eq!(words("按钮的位置"), ["按钮@0", "位置@1"]);
    }

    #[test]
    fn words_never_span_punctuation_and_map_to_normalized_characters() {
        let analyzer = analyzer();
        let analyzed = analyzer.analyze("好的，退款到賬了");
        let words = analyzer.words(&analyzed);
        let texts: Vec<&str> = words.iter().map(|word| word.text.as_str()).collect();
        assert!(texts.contains(&"退款"), "{texts:?}");
        let refund = words.iter().find(|word| word.text == "退款").unwrap();
        assert_eq!((refund.start, refund.end), (2, 4));
        let account = words.iter().find(|word| word.text == "到账").unwrap();
        assert_eq!(analyzed.normalized.original("好的，退款到賬了", account.start, account.end), "到賬");
    }

    #[test]
    fn query_words_drop_particles_unless_alone() {
        let analyzer = analyzer();
        assert_eq!(analyzer.query_words("申请的退款"), ["申请", "退款"]);
        assert_eq!(analyzer.query_words("的"), ["的"]);
        assert!(analyzer.query_words("，").is_empty());
    }
}
