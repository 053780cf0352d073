//! Character error rate for Chinese transcripts.
//!
//! Both sides are normalized before comparing: traditional characters to
//! simplified, full-width to ASCII, lowercase, punctuation, spaces and
//! marks (a BOM, say) removed, and Arabic numbers written out in Chinese
//! numerals the way they are read (`24` → `二十四`, `2024年` → `二零二四年`,
//! long digit strings such as phone numbers digit by digit), because the
//! references spell numbers in characters while Whisper writes digits.

use callscope_core::text::{fold, Normalizer};

/// Edits and reference length of one or many comparisons.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CerCount {
    /// Substitutions + deletions + insertions.
    pub edits: usize,
    /// Characters in the normalized reference.
    pub reference_chars: usize,
}

impl CerCount {
    /// Compares one hypothesis with its reference.
    pub fn of(reference: &str, hypothesis: &str) -> CerCount {
        let normalizer = Normalizer::shared();
        let reference = normalize_for_cer(&normalizer, reference);
        let hypothesis = normalize_for_cer(&normalizer, hypothesis);
        CerCount {
            edits: edit_distance(&reference, &hypothesis),
            reference_chars: reference.len(),
        }
    }

    /// Adds another comparison (corpus-level CER sums edits and lengths).
    pub fn add(&mut self, other: CerCount) {
        self.edits += other.edits;
        self.reference_chars += other.reference_chars;
    }

    /// Edits per reference character (0 for an empty reference with no
    /// insertions, else at least the insertions' count).
    pub fn rate(&self) -> f64 {
        if self.reference_chars == 0 {
            return self.edits as f64;
        }
        self.edits as f64 / self.reference_chars as f64
    }
}

/// The CER of one hypothesis against its reference.
pub fn cer(reference: &str, hypothesis: &str) -> f64 {
    CerCount::of(reference, hypothesis).rate()
}

/// The characters CER compares.
pub fn normalize_for_cer(normalizer: &Normalizer, text: &str) -> Vec<char> {
    let spelled = spell_numbers(text);
    normalizer
        .to_simplified(&spelled)
        .chars()
        .filter_map(fold)
        .flat_map(char::to_lowercase)
        .filter(|character| character.is_alphanumeric())
        .collect()
}

/// Levenshtein distance over characters.
pub fn edit_distance(left: &[char], right: &[char]) -> usize {
    if left.is_empty() {
        return right.len();
    }
    let mut previous: Vec<usize> = (0..=right.len()).collect();
    let mut current = vec![0; right.len() + 1];
    for (i, left_char) in left.iter().enumerate() {
        current[0] = i + 1;
        for (j, right_char) in right.iter().enumerate() {
            let substitution = previous[j] + usize::from(left_char != right_char);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[right.len()]
}

const DIGITS: [char; 10] = ['零', '一', '二', '三', '四', '五', '六', '七', '八', '九'];

/// Writes runs of ASCII or full-width digits as Chinese numerals.
pub fn spell_numbers(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len() * 2);
    let mut index = 0;
    while index < chars.len() {
        let Some(_) = digit_value(chars[index]) else {
            out.push(chars[index]);
            index += 1;
            continue;
        };
        let start = index;
        while index < chars.len() && digit_value(chars[index]).is_some() {
            index += 1;
        }
        let digits: Vec<u32> = chars[start..index]
            .iter()
            .filter_map(|&character| digit_value(character))
            .collect();
        // A decimal part is read digit by digit: 3.5 → 三点五.
        let after_point = start > 0
            && matches!(chars[start - 1], '.' | '点')
            && start > 1
            && digit_value(chars[start - 2]).is_some();
        let year = digits.len() == 4 && chars.get(index) == Some(&'年');
        let by_digit =
            after_point || year || digits.len() > 4 || (digits.len() > 1 && digits[0] == 0);
        if by_digit {
            out.extend(digits.iter().map(|&digit| DIGITS[digit as usize]));
        } else {
            let value = digits.iter().fold(0u32, |value, &digit| value * 10 + digit);
            out.push_str(&cardinal(value));
        }
        if index < chars.len()
            && chars[index] == '.'
            && chars.get(index + 1).and_then(|&c| digit_value(c)).is_some()
        {
            out.push('点');
            index += 1;
        }
    }
    out
}

fn digit_value(character: char) -> Option<u32> {
    match character {
        '0'..='9' => character.to_digit(10),
        '０'..='９' => Some(character as u32 - '０' as u32),
        _ => None,
    }
}

/// 0..=9999 read as a number: 10 → 十, 24 → 二十四, 105 → 一百零五.
fn cardinal(value: u32) -> String {
    if value == 0 {
        return "零".to_string();
    }
    let places = [(1000, '千'), (100, '百'), (10, '十')];
    let mut out = String::new();
    let mut rest = value;
    let mut pending_zero = false;
    for (place, name) in places {
        let digit = rest / place;
        rest %= place;
        if digit == 0 {
            if !out.is_empty() {
                pending_zero = true;
            }
            continue;
        }
        if pending_zero {
            out.push('零');
            pending_zero = false;
        }
        // 十二, not 一十二, at the start.
        if !(place == 10 && digit == 1 && out.is_empty()) {
            out.push(DIGITS[digit as usize]);
        }
        out.push(name);
    }
    if rest > 0 {
        if pending_zero {
            out.push('零');
        }
        out.push(DIGITS[rest as usize]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_spelling(input: &str, expected: &str) {
        assert_eq!(spell_numbers(input), expected, "{input}");
    }

    #[test]
    fn numbers_are_spelled_as_read() {
        check_spelling("24小时", "二十四小时");
        check_spelling("10元", "十元");
        check_spelling("105", "一百零五");
        check_spelling("1010", "一千零一十");
        check_spelling("3到5个工作日", "三到五个工作日");
        check_spelling("13812345678", "一三八一二三四五六七八");
        check_spelling("2024年", "二零二四年");
        check_spelling("007", "零零七");
        check_spelling("3.5", "三点五");
        check_spelling("V2V和4D", "V二V和四D");
        check_spelling("２０元", "二十元");
        check_spelling("没有数字", "没有数字");
    }

    #[test]
    fn cer_ignores_script_punctuation_and_number_style() {
        assert_eq!(
            cer("会在二十四小时内给您回复。", "會在24小時內給您回覆"),
            0.0
        );
        assert_eq!(cer("\u{feff}IT(番愚路店)", "it番愚路店"), 0.0);
        // One substitution in six characters.
        assert!((cer("支付按钮位置", "支付案钮位置") - 1.0 / 6.0).abs() < 1e-12);
        // Insertions and deletions count.
        assert!((cer("你好", "你好吗") - 0.5).abs() < 1e-12);
        assert!((cer("你好吗", "") - 1.0).abs() < 1e-12);
        assert_eq!(cer("", ""), 0.0);
    }

    #[test]
    fn corpus_cer_sums_edits_and_lengths() {
        let mut total = CerCount::default();
        total.add(CerCount::of("一二三四", "一二三四"));
        total.add(CerCount::of("你好", "你"));
        assert_eq!(
            total,
            CerCount {
                edits: 1,
                reference_chars: 6
            }
        );
    }

    #[test]
    fn edit_distance_is_levenshtein() {
        let chars = |text: &str| text.chars().collect::<Vec<_>>();
        assert_eq!(edit_distance(&chars("kitten"), &chars("sitting")), 3);
        assert_eq!(edit_distance(&chars(""), &chars("abc")), 3);
        assert_eq!(edit_distance(&chars("abc"), &chars("abc")), 0);
    }
}
