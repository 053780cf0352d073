//! Digit runs as ASR writes them: Arabic digits (half and full width),
//! Chinese digits read one by one (一三八, 幺 for 1, 两 for 2, 洞/零/〇 for
//! 0, 拐 for 7, 勾 for 9, the financial forms 壹贰叁...), mixed freely, with
//! spaces, dashes and 杠 between groups, and the `X` (叉) that ends some ID
//! numbers.
//!
//! Positional numerals (十, 百, 千, 万) end a run: 二十四小时 is the digits
//! 2 and 4 in two runs, never the number 24, so amounts and durations that are
//! read as quantities never look like a phone number.

/// What stands between two groups of digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gap {
    /// Nothing before the first group.
    Start,
    /// Spaces, dashes, 杠: the way numbers are grouped when written or read.
    Joiner,
    /// A pause that ASR wrote as a comma (，、): joined only with context.
    Pause,
}

/// A maximal stretch of digit characters (no separators inside).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// Digit values 0..=9, and 10 for a final `X`.
    pub digits: Vec<u8>,
    /// First character (index in chars) of the group.
    pub start: usize,
    /// One past the last character of the group.
    pub end: usize,
    /// What separates this group from the previous one.
    pub gap: Gap,
    /// Whether any digit was written as a Chinese numeral.
    pub spoken: bool,
}

/// Groups of digits joined by separators, as one number may be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    /// The groups, left to right.
    pub groups: Vec<Group>,
    /// An ASCII letter or digit-like code character touches the run's start
    /// (the run is part of a code such as SF1234..., never personal data).
    pub letter_before: bool,
    /// An ASCII letter touches the run's end.
    pub letter_after: bool,
}

/// The value of a character that stands for one digit, if it does.
pub fn digit_value(character: char) -> Option<u8> {
    Some(match character {
        '0'..='9' => character as u8 - b'0',
        '０'..='９' => (character as u32 - '０' as u32) as u8,
        '零' | '〇' | '○' | '洞' => 0,
        '一' | '幺' | '壹' => 1,
        '二' | '两' | '贰' => 2,
        '三' | '叁' => 3,
        '四' | '肆' => 4,
        '五' | '伍' => 5,
        '六' | '陆' => 6,
        '七' | '拐' | '柒' => 7,
        '八' | '捌' => 8,
        '九' | '勾' | '玖' => 9,
        _ => return None,
    })
}

/// Whether a digit character is a Chinese numeral (not an Arabic digit).
fn is_spoken(character: char) -> bool {
    !character.is_ascii_digit() && !('０'..='９').contains(&character)
}

/// The check character of an ID number (`X`), in its written forms.
fn is_check_x(character: char) -> bool {
    matches!(character, 'X' | 'x' | 'Ｘ' | 'ｘ' | '叉')
}

fn joiner(character: char) -> bool {
    matches!(
        character,
        ' ' | '\u{3000}'
            | '\u{a0}'
            | '-'
            | '－'
            | '—'
            | '–'
            | '‐'
            | '_'
            | '杠'
            | '('
            | ')'
            | '（'
            | '）'
    )
}

/// A pause: a comma, an ellipsis, or a filler word that ASR wrote between
/// the groups of a number read out (一三八，嗯，一二三四...).
fn pause(character: char) -> bool {
    matches!(
        character,
        '，' | '、' | '；' | '…' | '嗯' | '呃' | '额' | '啊' | '哦' | '对'
    )
}

/// Replaces each Chinese digit with its ASCII digit, one character for one,
/// so character positions stay the same (used to read spoken emails).
pub fn digitize(text: &str) -> String {
    text.chars()
        .map(|character| match digit_value(character) {
            Some(value) if is_spoken(character) => (b'0' + value) as char,
            _ => character,
        })
        .collect()
}

/// Finds the digit runs of `chars` (a text split into characters).
///
/// Up to two separator characters may stand between groups (`138 - 1234`),
/// up to four with a pause (`一八零，嗯，二八三三`); a pause joins groups
/// only when each side has at least two digits, so that lists such as
/// 一、二、三 stay apart.
pub fn runs(chars: &[char]) -> Vec<Run> {
    let mut runs = Vec::new();
    let mut position = 0;
    while position < chars.len() {
        if digit_value(chars[position]).is_none() {
            position += 1;
            continue;
        }
        let letter_before = position > 0 && chars[position - 1].is_ascii_alphabetic();
        let mut groups: Vec<Group> = Vec::new();
        let mut gap = Gap::Start;
        let letter_after;
        loop {
            // One group.
            let start = position;
            let mut digits = Vec::new();
            let mut spoken = false;
            while position < chars.len() {
                let character = chars[position];
                if let Some(value) = digit_value(character) {
                    digits.push(value);
                    spoken |= is_spoken(character);
                    position += 1;
                } else {
                    break;
                }
            }
            // A trailing X closes an ID number: it ends the group and the run.
            let mut closed = false;
            if position < chars.len() && is_check_x(chars[position]) {
                let next_is_letter = chars
                    .get(position + 1)
                    .is_some_and(|next| next.is_ascii_alphanumeric());
                if !next_is_letter {
                    digits.push(10);
                    position += 1;
                    closed = true;
                }
            }
            groups.push(Group {
                digits,
                start,
                end: position,
                gap,
                spoken,
            });
            if closed {
                letter_after = chars
                    .get(position)
                    .is_some_and(|next| next.is_ascii_alphabetic());
                break;
            }
            // Separators up to the next group, if one follows closely.
            let mut look = position;
            let mut separators = 0;
            let mut saw_pause = false;
            while look < chars.len() && separators < 5 {
                let character = chars[look];
                if joiner(character) {
                    separators += 1;
                } else if pause(character) {
                    separators += 1;
                    saw_pause = true;
                } else {
                    break;
                }
                look += 1;
            }
            let continues = separators > 0
                && (separators <= 2 || (saw_pause && separators <= 4))
                && look < chars.len()
                && digit_value(chars[look]).is_some();
            let pause_ok = !saw_pause || {
                let this_len = groups.last().map_or(0, |group| group.digits.len());
                let next_len = chars[look..]
                    .iter()
                    .take_while(|character| digit_value(**character).is_some())
                    .count();
                this_len >= 2 && next_len >= 2
            };
            if continues && pause_ok {
                gap = if saw_pause { Gap::Pause } else { Gap::Joiner };
                position = look;
                continue;
            }
            letter_after = chars
                .get(position)
                .is_some_and(|next| next.is_ascii_alphabetic());
            break;
        }
        runs.push(Run {
            groups,
            letter_before,
            letter_after,
        });
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(text: &str) -> Vec<String> {
        let chars: Vec<char> = text.chars().collect();
        runs(&chars)
            .iter()
            .map(|run| {
                run.groups
                    .iter()
                    .map(|group| {
                        let digits: String = group
                            .digits
                            .iter()
                            .map(|digit| {
                                if *digit == 10 {
                                    'X'
                                } else {
                                    (b'0' + digit) as char
                                }
                            })
                            .collect();
                        match group.gap {
                            Gap::Pause => format!(",{digits}"),
                            _ => digits,
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect()
    }

    #[test]
    fn spoken_and_written_digits_form_runs() {
        assert_eq!(shape("一三八一二三四五六七八"), ["13812345678"]);
        assert_eq!(shape("幺三九 两五六七-八八九九"), ["139 2567 8899"]);
        assert_eq!(shape("洞幺洞杠八八八八六六六六"), ["010 88886666"]);
        assert_eq!(shape("138一二三四5678"), ["13812345678"]);
        assert_eq!(shape("１３８ １２３４"), ["138 1234"]);
        assert_eq!(shape("一三八，一二三四，五六七八"), ["138 ,1234 ,5678"]);
        assert_eq!(shape("一八零，嗯，二八三三……二六"), ["180 ,2833 ,26"]);
    }

    #[test]
    fn positional_numerals_and_punctuation_end_runs() {
        assert_eq!(shape("二十四小时"), ["2", "4"]);
        assert_eq!(shape("一、二、三"), ["1", "2", "3"]);
        assert_eq!(shape("12.50元"), ["12", "50"]);
        assert_eq!(shape("10:30"), ["10", "30"]);
    }

    #[test]
    fn the_check_x_ends_an_id_and_letters_are_noted() {
        assert_eq!(shape("11010519900101123X号"), ["11010519900101123X"]);
        assert_eq!(shape("一一零一零五叉"), ["110105X"]);
        let chars: Vec<char> = "SF1234567890".chars().collect();
        assert!(runs(&chars)[0].letter_before);
        let chars: Vec<char> = "1234AB".chars().collect();
        assert!(runs(&chars)[0].letter_after);
    }

    #[test]
    fn digitize_keeps_positions() {
        let text = "幺二三艾特qq点com";
        assert_eq!(digitize(text), "123艾特qq点com");
        assert_eq!(digitize(text).chars().count(), text.chars().count());
    }
}
