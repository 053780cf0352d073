//! Which tokens Whisper may write when it transcribes Mandarin
//! (`[asr] vocabulary`).
//!
//! Whisper's multilingual vocabulary has 51,865 tokens, and every decoded
//! token multiplies the decoder's state by all of their embeddings: that
//! projection is over half of the bytes a CPU reads per token. A Mandarin
//! transcript uses a few thousand of them: Chinese characters and
//! punctuation, the byte pieces rarer characters are spelled with, digits,
//! symbols, and Latin pieces for the odd English word. With `vocabulary =
//! "auto"` and `language = "zh"` the engine computes only those logits
//! (whisper.cpp patch 12); docs/benchmarks.md has what it saves and what
//! it costs.

/// Whether a Mandarin transcript may use the text token `bytes`: any piece
/// of a Chinese character or punctuation mark, a byte piece of a
/// multi-byte character, digits, spaces and symbols, and Latin text of at
/// most two letters (so an English word or a product name is still spelled
/// out, from short pieces). Not kept: longer Latin words, and letters of
/// other scripts (Cyrillic, Greek, kana, Hangul, accented Latin).
pub fn is_chinese_transcript_token(bytes: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(bytes) else {
        // A piece of a character spelled over several tokens.
        return true;
    };
    let mut chinese = false;
    let mut latin_letters = 0;
    for c in text.chars() {
        if is_chinese(c) {
            chinese = true;
        } else if c.is_ascii_alphabetic() {
            latin_letters += 1;
        } else if c.is_alphabetic() {
            return false;
        }
    }
    chinese || latin_letters <= 2
}

/// Chinese ideographs, CJK punctuation and full-width forms.
fn is_chinese(c: char) -> bool {
    matches!(c,
        '\u{3000}'..='\u{303F}'   // CJK symbols and punctuation
        | '\u{3400}'..='\u{4DBF}' // extension A
        | '\u{4E00}'..='\u{9FFF}' // unified ideographs
        | '\u{F900}'..='\u{FAFF}' // compatibility ideographs
        | '\u{FE30}'..='\u{FE4F}' // compatibility forms
        | '\u{FF00}'..='\u{FFEF}' // full-width forms
        | '\u{20000}'..='\u{2FA1F}')
}

/// The ids of the text tokens in `vocabulary` (a model's tokens by id,
/// [`crate::ggml::read_vocabulary`]) that a Mandarin transcript may use.
pub fn chinese_text_tokens(vocabulary: &[Vec<u8>]) -> Vec<i32> {
    vocabulary
        .iter()
        .enumerate()
        .filter(|(_, token)| is_chinese_transcript_token(token))
        .map(|(id, _)| id as i32)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mandarin_pieces_stay_and_long_foreign_words_go() {
        for kept in [
            "的", "支付", "，", "。", "？", "“", "１", " 2019", "12", " ", "%", "·", "…", "-",
            " OK", "A", "Ph", " a", "Wi",
        ] {
            assert!(is_chinese_transcript_token(kept.as_bytes()), "{kept:?}");
        }
        // A byte piece of a character (the first two bytes of 𠮷).
        assert!(is_chinese_transcript_token(&[0xF0, 0xA0]));
        for dropped in [
            " the", "APP", " iPhone", "ing", "да", " été", "です", "한국", "λ",
        ] {
            assert!(
                !is_chinese_transcript_token(dropped.as_bytes()),
                "{dropped:?}"
            );
        }
    }

    #[test]
    fn token_ids_follow_the_vocabulary_order() {
        let vocabulary: Vec<Vec<u8>> = ["a", " the", "好", "ing", "，"]
            .iter()
            .map(|token| token.as_bytes().to_vec())
            .collect();
        assert_eq!(chinese_text_tokens(&vocabulary), vec![0, 2, 4]);
    }
}
