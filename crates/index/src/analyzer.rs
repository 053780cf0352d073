//! The one text analyzer of the search index, used alike for indexing, for
//! queries and for re-matching hits, so the three can never disagree.
//!
//! Text is first normalized ([`callscope_core::text::Normalizer`]: traditional to
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
//! - **Words** (ranking, and where a query token is cut into parts): jieba's
//!   words with the project's dictionary. Structural particles (的 了 地 得 着
//!   过 之) take no position in the indexed words, so the words of `按钮的位置`
//!   stand next to each other exactly as those of `按钮位置`. Words decide
//!   ranking and where a query may be cut, never what is found: every query
//!   part is matched on grams.
//!
//! Segments of a call are laid out one after the other with
//! [`SEGMENT_GAP`] empty positions between them, so that neither a phrase
//! nor a proximity match ever spans two segments.

use callscope_core::dictionary::Dictionary;
use callscope_core::text::{Normalized, Normalizer};

/// Empty positions between two segments of a call in the index; larger than
/// any allowed proximity distance.
pub const SEGMENT_GAP: u32 = 128;

/// Structural particles: jieba's one-character words tagged `u` in its
/// dictionary, but for 等 and 般, which carry meaning.
pub const PARTICLES: [char; 7] = ['的', '了', '地', '得', '着', '过', '之'];

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
    /// A structural particle (的 了 地 得 着 过 之): takes no word position.
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

    /// Hands the grams of one segment to `emit`, in order: at the position
    /// of unit `i`, its bigram (or unigram, for the last unit) and then, when
    /// two more units follow, its trigram. `emit(gram, new_position)`.
    pub fn grams(&self, analyzed: &Analyzed, mut emit: impl FnMut(&str, bool)) {
        let chars = &analyzed.normalized.chars;
        let units = &analyzed.units;
        let mut gram = String::with_capacity(24);
        for index in 0..units.len() {
            let window = &units[index..(index + 3).min(units.len())];
            gram.clear();
            push_units(&mut gram, chars, &window[..window.len().min(2)]);
            emit(&gram, true);
            if window.len() == 3 {
                gram.clear();
                gram.push(TRIGRAM_MARK);
                push_units(&mut gram, chars, window);
                emit(&gram, false);
            }
        }
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
        for tag in self.dictionary.jieba().cut(&spaced, true) {
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
            let mut characters = text.chars();
            let particle = matches!((characters.next(), characters.next()), (Some(first), None) if PARTICLES.contains(&first));
            words.push(Word {
                text,
                start,
                end,
                particle,
            });
        }
        words
    }
}

/// Marks a trigram term, keeping trigrams apart from the grams that a
/// one-unit query expands to.
pub const TRIGRAM_MARK: char = '^';

/// Writes units one after the other: Chinese characters joined directly,
/// a space beside an ASCII word (`退款`, `app 闪`).
fn push_units(output: &mut String, chars: &[char], units: &[Unit]) {
    for (index, unit) in units.iter().enumerate() {
        if index > 0 && (unit.ascii || units[index - 1].ascii) {
            output.push(' ');
        }
        output.extend(&chars[unit.start..unit.end]);
    }
}

/// The term of units in a row (two: a bigram, three: a trigram), written as
/// [`Analyzer::grams`] writes it; `units` are `(text, ascii)`.
pub fn gram_term(units: &[(String, bool)]) -> String {
    let mut term = String::with_capacity(16);
    if units.len() == 3 {
        term.push(TRIGRAM_MARK);
    }
    for (index, (text, ascii)) in units.iter().enumerate() {
        if index > 0 && (*ascii || units[index - 1].1) {
            term.push(' ');
        }
        term.push_str(text);
    }
    term
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

/// Separates two tokens in an [`EncodedTokens`] text.
const TOKEN_SEPARATOR: char = '\u{1F}';
/// Separates two segments in an [`EncodedTokens`] text.
const SEGMENT_SEPARATOR: char = '\u{1E}';
/// Puts the next token at the same position as the previous one.
const SAME_POSITION: char = '\u{1D}';

/// A field's tokens, analyzed once by [`Analyzer`], written as one string
/// for tantivy: tokens separated by U+001F (next position) or U+001D (same
/// position), segments by U+001E (normalized text never holds control
/// characters). [`EncodedTokenizer`] reads it back
/// with the positions the analyzer meant, segments [`SEGMENT_GAP`] apart.
#[derive(Debug, Clone, Default)]
pub struct EncodedTokens {
    text: String,
    segment_open: bool,
}

impl EncodedTokens {
    /// Starts a new segment.
    pub fn begin_segment(&mut self) {
        self.segment_open = false;
    }

    /// Appends a token at the current position (after a token of the
    /// current segment).
    pub fn push_same_position(&mut self, token: &str) {
        debug_assert!(
            self.segment_open,
            "a token at the same position follows one"
        );
        self.text.push(SAME_POSITION);
        self.text.push_str(token);
    }

    /// Appends a token at the next position of the current segment.
    pub fn push(&mut self, token: &str) {
        debug_assert!(!token.contains([TOKEN_SEPARATOR, SEGMENT_SEPARATOR, SAME_POSITION]));
        if !self.text.is_empty() {
            self.text.push(if self.segment_open {
                TOKEN_SEPARATOR
            } else {
                SEGMENT_SEPARATOR
            });
        }
        self.segment_open = true;
        self.text.push_str(token);
    }

    /// Whether no token was pushed.
    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// The encoded text.
    pub fn into_text(self) -> String {
        self.text
    }
}

/// The tantivy tokenizer of callscope's text fields: reads an
/// [`EncodedTokens`] text.
#[derive(Debug, Clone, Default)]
pub struct EncodedTokenizer {
    token: tantivy::tokenizer::Token,
}

/// The tokens of an [`EncodedTokens`] text.
pub struct EncodedTokenStream<'a> {
    text: &'a str,
    at: usize,
    token: &'a mut tantivy::tokenizer::Token,
}

impl tantivy::tokenizer::Tokenizer for EncodedTokenizer {
    type TokenStream<'a> = EncodedTokenStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> EncodedTokenStream<'a> {
        self.token.reset();
        EncodedTokenStream {
            text,
            at: 0,
            token: &mut self.token,
        }
    }
}

impl tantivy::tokenizer::TokenStream for EncodedTokenStream<'_> {
    fn advance(&mut self) -> bool {
        if self.at >= self.text.len() {
            return false;
        }
        // The separator before a token says where it stands.
        if self.at > 0 {
            let separator = self.text[self.at - 1..].chars().next();
            self.token.position = match separator {
                Some(SAME_POSITION) => self.token.position,
                Some(SEGMENT_SEPARATOR) => self.token.position + 1 + SEGMENT_GAP as usize,
                _ => self.token.position + 1,
            };
        } else {
            self.token.position = 0;
        }
        let rest = &self.text[self.at..];
        let length = rest
            .find([TOKEN_SEPARATOR, SEGMENT_SEPARATOR, SAME_POSITION])
            .unwrap_or(rest.len());
        self.token.text.clear();
        self.token.text.push_str(&rest[..length]);
        self.token.offset_from = self.at;
        self.token.offset_to = self.at + length;
        self.token.position_length = 1;
        // Separators are one byte long.
        self.at += length + 1;
        true
    }

    fn token(&self) -> &tantivy::tokenizer::Token {
        self.token
    }

    fn token_mut(&mut self) -> &mut tantivy::tokenizer::Token {
        self.token
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
        let mut grams = Vec::new();
        analyzer.grams(&analyzer.analyze(text), |gram, _| {
            grams.push(gram.to_string())
        });
        grams
    }

    /// Tokens with positions as tantivy reads them from an encoding.
    fn decoded(encoded: EncodedTokens) -> Vec<String> {
        use tantivy::tokenizer::{TokenStream, Tokenizer};
        let text = encoded.into_text();
        let mut tokenizer = EncodedTokenizer::default();
        let mut stream = tokenizer.token_stream(&text);
        let mut tokens = Vec::new();
        while stream.advance() {
            tokens.push(format!(
                "{}@{}",
                stream.token().text,
                stream.token().position
            ));
        }
        tokens
    }

    fn content_words(text: &str) -> Vec<String> {
        let analyzer = analyzer();
        let mut encoded = EncodedTokens::default();
        for word in analyzer.words(&analyzer.analyze(text)) {
            if !word.particle {
                encoded.push(&word.text);
            }
        }
        decoded(encoded)
    }

    #[test]
    fn grams_of_chinese_ascii_and_traditional_text() {
        assert_eq!(
            grams("退款到账。"),
            ["退款", "^退款到", "款到", "^款到账", "到账", "账"]
        );
        assert_eq!(grams("退款到賬"), grams("退款到账"));
        assert_eq!(
            grams("APP闪退，iPhone12"),
            [
                "app 闪",
                "^app 闪退",
                "闪退",
                "^闪退 iphone",
                "退 iphone",
                "^退 iphone 12",
                "iphone 12",
                "12"
            ]
        );
        assert_eq!(grams("ok app"), ["ok app", "app"]);
        let units: Vec<(String, bool)> = vec![
            ("退".into(), false),
            ("iphone".into(), true),
            ("12".into(), true),
        ];
        assert_eq!(gram_term(&units), "^退 iphone 12");
        assert_eq!(gram_term(&units[..2]), "退 iphone");
        assert_eq!(grams("嗯"), ["嗯"]);
        assert!(grams("，。！").is_empty());
    }

    #[test]
    fn particles_take_no_word_position() {
        assert_eq!(content_words("按钮的位置"), content_words("按钮位置"));
        assert_eq!(content_words("按钮的位置"), ["按钮@0", "位置@1"]);
    }

    #[test]
    fn encoded_segments_are_a_gap_apart() {
        let mut encoded = EncodedTokens::default();
        encoded.begin_segment();
        encoded.push("退款");
        encoded.push_same_position("^退款了");
        encoded.push("款");
        encoded.begin_segment();
        encoded.begin_segment();
        encoded.push("好");
        let gap = SEGMENT_GAP + 2;
        assert_eq!(
            decoded(encoded),
            [
                "退款@0".to_string(),
                "^退款了@0".to_string(),
                "款@1".to_string(),
                format!("好@{gap}")
            ]
        );
        assert!(decoded(EncodedTokens::default()).is_empty());
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
        assert_eq!(
            analyzed
                .normalized
                .original("好的，退款到賬了", account.start, account.end),
            "到賬"
        );
    }
}
