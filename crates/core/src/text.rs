//! Chinese text normalization shared by every stage that matches text.
//!
//! Matching happens on a normalized form: simplified characters (OpenCC
//! t2s), full-width letters and digits folded to ASCII, ASCII lowercased,
//! punctuation and spaces removed. [`Normalized`] keeps, for every normalized
//! character, where it came from in the original, so a match found in the
//! normalized text can be shown in the segment's own words.

use std::sync::{Arc, OnceLock};

use ferrous_opencc::config::BuiltinConfig;
use ferrous_opencc::OpenCC;

/// Text in matching form, with a map back to the original.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Normalized {
    /// The normalized characters.
    pub chars: Vec<char>,
    /// For each normalized character, its byte range in the original text.
    pub spans: Vec<(usize, usize)>,
}

impl Normalized {
    /// The normalized text as a string.
    pub fn as_string(&self) -> String {
        self.chars.iter().collect()
    }

    /// Number of normalized characters.
    pub fn len(&self) -> usize {
        self.chars.len()
    }

    /// Whether nothing is left after normalization.
    pub fn is_empty(&self) -> bool {
        self.chars.is_empty()
    }

    /// The original text covered by normalized characters `start..end`
    /// (punctuation between them included).
    pub fn original<'a>(&self, original: &'a str, start: usize, end: usize) -> &'a str {
        if start >= end || end > self.spans.len() {
            return "";
        }
        &original[self.spans[start].0..self.spans[end - 1].1]
    }
}

/// Converts traditional to simplified characters and normalizes text for
/// matching. Build once and share; it is cheap to clone.
#[derive(Clone)]
pub struct Normalizer {
    opencc: Arc<OpenCC>,
}

impl std::fmt::Debug for Normalizer {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("Normalizer(t2s)")
    }
}

impl Normalizer {
    /// The shared normalizer (OpenCC's t2s tables are loaded once per process).
    pub fn shared() -> Normalizer {
        static SHARED: OnceLock<Normalizer> = OnceLock::new();
        SHARED
            .get_or_init(|| Normalizer {
                opencc: Arc::new(
                    OpenCC::from_config(BuiltinConfig::T2s)
                        .expect("the embedded t2s configuration loads"),
                ),
            })
            .clone()
    }

    /// Traditional characters converted to simplified; everything else kept.
    pub fn to_simplified(&self, text: &str) -> String {
        if text.is_ascii() {
            return text.to_string();
        }
        self.opencc.convert(text)
    }

    /// The matching form of `text` with its map back to the original.
    pub fn normalize(&self, text: &str) -> Normalized {
        let simplified = self.to_simplified(text);
        // Phrase tables may change the length; then convert char by char so
        // that every character still maps back to its origin.
        let same_length = simplified.chars().count() == text.chars().count();
        let mut normalized = Normalized {
            chars: Vec::with_capacity(text.len() / 3 + 1),
            spans: Vec::with_capacity(text.len() / 3 + 1),
        };
        let mut converted = simplified.chars();
        let mut buffer = [0u8; 4];
        for (offset, original) in text.char_indices() {
            let simple = if same_length {
                converted.next().unwrap_or(original)
            } else if original.is_ascii() {
                original
            } else {
                self.opencc
                    .convert(original.encode_utf8(&mut buffer))
                    .chars()
                    .next()
                    .unwrap_or(original)
            };
            let Some(folded) = fold(simple) else { continue };
            normalized.chars.push(folded);
            normalized
                .spans
                .push((offset, offset + original.len_utf8()));
        }
        normalized
    }

    /// The matching form of `text` as a plain string.
    pub fn normalize_str(&self, text: &str) -> String {
        self.normalize(text).as_string()
    }
}

/// Folds one character to matching form; `None` drops it (punctuation,
/// spaces, symbols).
pub fn fold(character: char) -> Option<char> {
    let character = match character {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(character as u32 - 0xFEE0).unwrap_or(character),
        '\u{3000}' => ' ',
        other => other,
    };
    if !character.is_alphanumeric() {
        return None;
    }
    Some(character.to_ascii_lowercase())
}

/// Seconds as `m:ss.s`, the way people read call times.
pub fn clock(seconds: f64) -> String {
    let seconds = seconds.max(0.0);
    let minutes = (seconds / 60.0).floor();
    format!("{:02}:{:04.1}", minutes as u64, seconds - minutes * 60.0)
}

/// Text made safe for a terminal: control characters (C0, DEL, C1, NUL
/// included) and the bidirectional overrides and isolates that can reorder
/// what a terminal shows are written as `\u{XXXX}` escapes; tab and newline
/// stay. Everything callscope prints as text from a call, a file or a user
/// goes through this.
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut escaped = String::with_capacity(text.len() + 8);
    for character in text.chars() {
        if needs_escape(character) {
            escaped.push_str(&format!("\\u{{{:04X}}}", u32::from(character)));
        } else {
            escaped.push(character);
        }
    }
    std::borrow::Cow::Owned(escaped)
}

/// Whether a character must not reach a terminal as is.
fn needs_escape(character: char) -> bool {
    (character.is_control() && character != '\n' && character != '\t')
        || matches!(
            character,
            '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printable_escapes_what_a_terminal_would_obey() {
        assert_eq!(printable("您好，tab\there"), "您好，tab\there");
        assert_eq!(
            printable("a\u{1b}[2Jb\u{0}c\u{7f}\u{9b}"),
            "a\\u{001B}[2Jb\\u{0000}c\\u{007F}\\u{009B}"
        );
        assert_eq!(
            printable("x\u{202E}txt.exe\u{2066}y\rz"),
            "x\\u{202E}txt.exe\\u{2066}y\\u{000D}z"
        );
        assert!(matches!(printable("plain"), std::borrow::Cow::Borrowed(_)));
    }

    #[test]
    fn normalizes_and_maps_back() {
        let normalizer = Normalizer::shared();
        let text = "您好，很高興為您服務！ＡＢ 12";
        let normalized = normalizer.normalize(text);
        assert_eq!(normalized.as_string(), "您好很高兴为您服务ab12");
        let found = normalized
            .as_string()
            .chars()
            .collect::<Vec<_>>()
            .windows(4)
            .position(|window| window.iter().collect::<String>() == "高兴为您")
            .unwrap();
        assert_eq!(normalized.original(text, found, found + 4), "高興為您");
        assert_eq!(normalized.original(text, 0, 3), "您好，很");
    }

    #[test]
    fn empty_and_punctuation_only_text() {
        let normalizer = Normalizer::shared();
        assert!(normalizer.normalize("").is_empty());
        assert!(normalizer.normalize("，。！？ ").is_empty());
    }
}
