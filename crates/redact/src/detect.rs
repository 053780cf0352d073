//! Finding personal data in transcript text: mobile and landline numbers,
//! ID numbers, bank card numbers and email addresses, in digits or in
//! Chinese numerals read digit by digit, with character spans.
//!
//! How a number is judged:
//!
//! 1. Digit runs are read as ASR writes them ([`super::numerals`]): groups of
//!    digits joined by spaces, dashes or 杠, or by a comma pause.
//! 2. Each contiguous range of groups is a candidate; the longest candidate
//!    that passes a check wins, left to right.
//! 3. Strong shapes are personal data on their own: an 11-digit 1[3-9]
//!    mobile number, an area code plus subscriber number, an 18-character ID
//!    number with a valid region, birth date and GB 11643 check digit, a
//!    16-19 digit card number in an issuer range with a valid Luhn digit.
//! 4. Weak shapes need a cue, the nearest keyword before the number (or just
//!    after it) in the same sentence, or the previous sentence's last cue
//!    (the agent asked, the customer answered): an ID number whose check
//!    digit is wrong after 身份证 (ASR misheard one digit; it is still that
//!    person's number), a card number whose Luhn digit is wrong after 卡号,
//!    a bare 7-8 digit local number after 电话 or 座机, an old 15-digit ID.
//! 5. A negative cue (订单号, 快递单号, 工号, 金额, 尾号...) vetoes any
//!    number it is nearest to, and so do units (元, 块, 个), currency signs,
//!    and letters glued to the digits (SF1234..., codes).

use std::collections::HashMap;

use chrono::NaiveDate;
use regex::Regex;
use serde::Serialize;

use super::checksum;
use super::numerals::{self, Gap, Run};
use callscope_core::model::PiiKind;

/// One piece of personal data found in a text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Detection {
    /// What it is.
    pub kind: PiiKind,
    /// First character of the span (index in chars).
    pub start: usize,
    /// One past the span's last character.
    pub end: usize,
    /// First byte of the span in the text.
    pub byte_start: usize,
    /// One past the span's last byte.
    pub byte_end: usize,
    /// The normalized value: ASCII digits (`X` for the ID check character),
    /// or the email address with `@` and `.` restored.
    pub value: String,
    /// Whether a checksum or an unambiguous shape confirmed it (false: a cue
    /// word made a weak shape count).
    pub verified: bool,
}

/// What a keyword says about the number that follows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cue {
    /// 手机, 电话, 座机, 联系方式...
    Phone,
    /// 身份证, 证件号...
    Id,
    /// 卡号, 银行卡, 账号...
    Card,
    /// 订单号, 快递单号, 工号, 金额, 尾号...: not personal data.
    Negative,
}

const KEYWORDS: &[(&str, Cue)] = &[
    ("手机号码", Cue::Phone),
    ("手机号", Cue::Phone),
    ("手机", Cue::Phone),
    ("电话号码", Cue::Phone),
    ("联系电话", Cue::Phone),
    ("固定电话", Cue::Phone),
    ("电话", Cue::Phone),
    ("联系方式", Cue::Phone),
    ("座机", Cue::Phone),
    ("固话", Cue::Phone),
    ("微信号", Cue::Phone),
    ("微信", Cue::Phone),
    ("打给", Cue::Phone),
    ("回电", Cue::Phone),
    ("回拨", Cue::Phone),
    ("号码", Cue::Phone),
    ("身份证号码", Cue::Id),
    ("身份证号", Cue::Id),
    ("身份证", Cue::Id),
    ("证件号码", Cue::Id),
    ("证件号", Cue::Id),
    ("身份号码", Cue::Id),
    ("证件", Cue::Id),
    ("银行卡号", Cue::Card),
    ("银行卡", Cue::Card),
    ("信用卡号", Cue::Card),
    ("信用卡", Cue::Card),
    ("储蓄卡", Cue::Card),
    ("借记卡", Cue::Card),
    ("银行账号", Cue::Card),
    ("卡号", Cue::Card),
    ("账号", Cue::Card),
    ("工资卡", Cue::Card),
    ("这张卡", Cue::Card),
    ("那张卡", Cue::Card),
    ("会员卡号", Cue::Negative),
    ("会员卡", Cue::Negative),
    ("购物卡", Cue::Negative),
    ("礼品卡", Cue::Negative),
    ("订单号码", Cue::Negative),
    ("订单号", Cue::Negative),
    ("订单编号", Cue::Negative),
    ("订单", Cue::Negative),
    ("快递单号", Cue::Negative),
    ("运单号", Cue::Negative),
    ("物流单号", Cue::Negative),
    ("单号", Cue::Negative),
    ("工单号", Cue::Negative),
    ("工单", Cue::Negative),
    ("工号", Cue::Negative),
    ("编号", Cue::Negative),
    ("流水号", Cue::Negative),
    ("交易号", Cue::Negative),
    ("批次号", Cue::Negative),
    ("型号", Cue::Negative),
    ("序列号", Cue::Negative),
    ("串号", Cue::Negative),
    ("券码", Cue::Negative),
    ("兑换码", Cue::Negative),
    ("验证码", Cue::Negative),
    ("取件码", Cue::Negative),
    ("发票号码", Cue::Negative),
    ("发票号", Cue::Negative),
    ("税号", Cue::Negative),
    ("合同号", Cue::Negative),
    ("金额", Cue::Negative),
    ("价格", Cue::Negative),
    ("余额", Cue::Negative),
    ("积分", Cue::Negative),
    ("尾号", Cue::Negative),
    ("后四位", Cue::Negative),
];

/// Characters after a number that make it a quantity or an amount.
fn is_unit(character: char) -> bool {
    matches!(
        character,
        '元' | '块'
            | '角'
            | '毛'
            | '个'
            | '件'
            | '次'
            | '天'
            | '年'
            | '月'
            | '日'
            | '点'
            | '岁'
            | '斤'
            | '克'
            | '米'
            | '%'
            | '％'
            | '台'
            | '张'
            | '笔'
            | '条'
            | '份'
            | '秒'
            | '万'
            | '千'
            | '百'
            | '亿'
            | '倍'
            | '箱'
            | '瓶'
            | '袋'
            | '单'
    )
}

fn is_currency(character: char) -> bool {
    matches!(character, '¥' | '￥' | '$' | '＄' | '€' | '£')
}

fn sentence_end(character: char) -> bool {
    matches!(character, '。' | '！' | '？' | '!' | '?' | '\n')
}

/// How far (in characters) a cue before a number reaches.
const CUE_BEFORE: usize = 20;
/// How far a cue after a number reaches (`13812345678是我的手机号`).
const CUE_AFTER: usize = 8;

/// The detector: compiled patterns, built once and shared (it is `Sync`).
#[derive(Debug, Clone)]
pub struct Detector {
    keywords: Regex,
    cues: HashMap<&'static str, Cue>,
    email: Regex,
    today: NaiveDate,
}

impl Default for Detector {
    fn default() -> Detector {
        Detector::new()
    }
}

/// A keyword found in a text: its character span and cue.
#[derive(Debug, Clone, Copy)]
struct CueAt {
    start: usize,
    end: usize,
    cue: Cue,
}

/// The facts about one candidate that decide its kind.
struct Candidate<'a> {
    digits: &'a [u8],
    lengths: Vec<usize>,
    pause: bool,
    cue: Option<Cue>,
}

impl Detector {
    /// Compiles the patterns; birth dates are checked against today.
    pub fn new() -> Detector {
        Detector::with_today(chrono::Local::now().date_naive())
    }

    /// Compiles the patterns with a fixed "today" (for reproducible tests).
    pub fn with_today(today: NaiveDate) -> Detector {
        let mut keywords: Vec<(&str, Cue)> = KEYWORDS.to_vec();
        keywords.sort_by_key(|(word, _)| std::cmp::Reverse(word.chars().count()));
        let alternation = keywords
            .iter()
            .map(|(word, _)| regex::escape(word))
            .collect::<Vec<_>>()
            .join("|");
        let keywords_regex = Regex::new(&alternation).expect("keyword pattern compiles");
        let cues = keywords.into_iter().collect();
        // Spoken forms: 艾特/at for @, 点/dot for the dots; the text is
        // digitized first so that 幺二三 in a QQ mail reads as 123.
        let separator = r"\s*(?:\.|。|点|dot)\s*";
        let email = Regex::new(&format!(
            r"(?i)([a-z0-9][a-z0-9._%+\-]*(?:点[a-z0-9][a-z0-9._%+\-]*)*)\s*(?:@|＠|艾特|\bat\b)\s*([a-z0-9][a-z0-9\-]*(?:{separator}[a-z0-9][a-z0-9\-]*)*{separator}(?:com|cn|net|org|edu|gov|top|vip|cc|io|info|biz|me|co|hk|tw|jp|uk|us|de))"
        ))
        .expect("email pattern compiles");
        Detector {
            keywords: keywords_regex,
            cues,
            email,
            today,
        }
    }

    /// Finds personal data in `text`.
    pub fn detect(&self, text: &str) -> Vec<Detection> {
        self.detect_with_hint(text, None)
    }

    /// Finds personal data in `text`, using `hint` (the cue the previous
    /// sentence ended with) when the text itself has no cue for a number.
    pub fn detect_with_hint(&self, text: &str, hint: Option<Cue>) -> Vec<Detection> {
        if !might_hold_pii(text) {
            return Vec::new();
        }
        let chars: Vec<char> = text.chars().collect();
        let mut byte_of = Vec::with_capacity(chars.len() + 1);
        let mut offset = 0;
        for character in &chars {
            byte_of.push(offset);
            offset += character.len_utf8();
        }
        byte_of.push(offset);

        let mut found = self.emails(text, &chars);
        let runs = numerals::runs(&chars);
        let long_enough = runs.iter().any(|run| {
            run.groups
                .iter()
                .map(|group| group.digits.len())
                .sum::<usize>()
                >= 7
        });
        if long_enough {
            let cues = self.cues_in(text);
            for run in &runs {
                self.numbers_in_run(run, &chars, &cues, hint, &mut found);
            }
        }
        // Emails win over the numbers inside them (13812345678@qq.com).
        found.sort_by_key(|detection| (detection.start, std::cmp::Reverse(detection.end)));
        let mut kept: Vec<Detection> = Vec::with_capacity(found.len());
        for detection in found {
            if kept.last().is_some_and(|last| detection.start < last.end) {
                continue;
            }
            kept.push(detection);
        }
        for detection in &mut kept {
            detection.byte_start = byte_of[detection.start];
            detection.byte_end = byte_of[detection.end];
        }
        kept
    }

    /// The last cue word of `text`, to hand to the next sentence as a hint
    /// (请问您的身份证号是多少？ → [`Cue::Id`]).
    pub fn trailing_cue(&self, text: &str) -> Option<Cue> {
        self.keywords
            .find_iter(text)
            .last()
            .and_then(|found| self.cues.get(found.as_str()).copied())
    }

    fn cues_in(&self, text: &str) -> Vec<CueAt> {
        let mut cues = Vec::new();
        let mut chars_before = 0;
        let mut last_byte = 0;
        for found in self.keywords.find_iter(text) {
            chars_before += text[last_byte..found.start()].chars().count();
            let length = found.as_str().chars().count();
            if let Some(cue) = self.cues.get(found.as_str()) {
                cues.push(CueAt {
                    start: chars_before,
                    end: chars_before + length,
                    cue: *cue,
                });
            }
            chars_before += length;
            last_byte = found.end();
        }
        cues
    }

    /// The cue that governs the characters `start..end`: the nearest keyword
    /// before (within the sentence), else one shortly after.
    fn cue_for(&self, chars: &[char], cues: &[CueAt], start: usize, end: usize) -> Option<Cue> {
        let before = cues
            .iter()
            .rev()
            .find(|cue| cue.end <= start && start - cue.end <= CUE_BEFORE)
            .filter(|cue| !chars[cue.end..start].iter().any(|c| sentence_end(*c)));
        if let Some(cue) = before {
            return Some(cue.cue);
        }
        cues.iter()
            .find(|cue| cue.start >= end && cue.start - end <= CUE_AFTER)
            .filter(|cue| !chars[end..cue.start].iter().any(|c| sentence_end(*c)))
            .map(|cue| cue.cue)
    }

    fn numbers_in_run(
        &self,
        run: &Run,
        chars: &[char],
        cues: &[CueAt],
        hint: Option<Cue>,
        found: &mut Vec<Detection>,
    ) {
        let groups = &run.groups;
        let mut first = 0;
        while first < groups.len() {
            let mut best: Option<(usize, PiiKind, bool, Vec<u8>)> = None;
            let mut digits: Vec<u8> = Vec::new();
            let mut lengths = Vec::new();
            let mut pause = false;
            for last in first..groups.len() {
                if last > first && groups[last].gap == Gap::Pause {
                    pause = true;
                }
                digits.extend_from_slice(&groups[last].digits);
                lengths.push(groups[last].digits.len());
                if digits.len() > 20 {
                    break;
                }
                // An X may only end a candidate.
                if digits[..digits.len() - 1].contains(&10) {
                    break;
                }
                if digits.len() < 7 {
                    continue;
                }
                let start = groups[first].start;
                let end = groups[last].end;
                if (first == 0 && run.letter_before)
                    || (last + 1 == groups.len() && run.letter_after)
                    || amount_around(chars, start, end)
                {
                    continue;
                }
                let cue = self.cue_for(chars, cues, start, end).or(hint);
                if cue == Some(Cue::Negative) {
                    continue;
                }
                let candidate = Candidate {
                    digits: &digits,
                    lengths: lengths.clone(),
                    pause,
                    cue,
                };
                if let Some((kind, verified)) = self.classify(&candidate) {
                    best = Some((last, kind, verified, digits.clone()));
                }
            }
            match best {
                Some((last, kind, verified, digits)) => {
                    found.push(Detection {
                        kind,
                        start: groups[first].start,
                        end: groups[last].end,
                        byte_start: 0,
                        byte_end: 0,
                        value: digits
                            .iter()
                            .map(|digit| {
                                if *digit == 10 {
                                    'X'
                                } else {
                                    (b'0' + digit) as char
                                }
                            })
                            .collect(),
                        verified,
                    });
                    first = last + 1;
                }
                None => first += 1,
            }
        }
    }

    /// The kind of a candidate number and whether it was verified, or
    /// `None` when it is not personal data.
    fn classify(&self, candidate: &Candidate<'_>) -> Option<(PiiKind, bool)> {
        let digits = candidate.digits;
        let length = digits.len();
        let has_x = digits.contains(&10);
        let cue = candidate.cue;
        let result = self.classify_shape(digits, length, has_x, cue, &candidate.lengths)?;
        // A comma pause joins groups only for verified shapes or with a cue
        // that names this kind.
        if candidate.pause && !result.1 && !cue_names(cue, result.0) {
            return None;
        }
        Some(result)
    }

    fn classify_shape(
        &self,
        digits: &[u8],
        length: usize,
        has_x: bool,
        cue: Option<Cue>,
        lengths: &[usize],
    ) -> Option<(PiiKind, bool)> {
        if !has_x {
            if checksum::is_mobile(digits) {
                return Some((PiiKind::Mobile, true));
            }
            // +86 138..., 0 138... (dialled from a landline elsewhere).
            if length == 13 && digits[..2] == [8, 6] && checksum::is_mobile(&digits[2..]) {
                return Some((PiiKind::Mobile, true));
            }
            if length == 12 && digits[0] == 0 && checksum::is_mobile(&digits[1..]) {
                return Some((PiiKind::Mobile, true));
            }
        }
        if length == 18 && checksum::id_shape_ok(digits, self.today) {
            if checksum::id_checksum_ok(digits) {
                return Some((PiiKind::IdCard, true));
            }
            if cue == Some(Cue::Id) {
                return Some((PiiKind::IdCard, false));
            }
        }
        if has_x {
            return None;
        }
        if length == 15 && cue == Some(Cue::Id) && checksum::id_shape_ok(digits, self.today) {
            return Some((PiiKind::IdCard, false));
        }
        if checksum::is_landline(digits) {
            // An area-code split that disagrees with how it was said
            // (0755 888 86666) is still a landline; the area code decides.
            return Some((PiiKind::Landline, true));
        }
        if checksum::is_subscriber(digits)
            && cue == Some(Cue::Phone)
            && !date_shaped(digits, lengths)
        {
            return Some((PiiKind::Landline, false));
        }
        if (16..=19).contains(&length) {
            let luhn = checksum::luhn_ok(digits);
            if luhn && checksum::card_shape_ok(digits) {
                return Some((PiiKind::BankCard, true));
            }
            if cue == Some(Cue::Card) {
                return Some((PiiKind::BankCard, luhn));
            }
        }
        None
    }

    fn emails(&self, text: &str, chars: &[char]) -> Vec<Detection> {
        if !(text.contains('@')
            || text.contains('＠')
            || text.contains("艾特")
            || text.contains(" at ")
            || text.contains(" AT "))
        {
            return Vec::new();
        }
        let digitized = numerals::digitize(text);
        // Byte offsets of `digitized` back to character indices.
        let mut char_at_byte = vec![0usize; digitized.len() + 1];
        let mut index = 0;
        for (byte, character) in digitized.char_indices() {
            for slot in &mut char_at_byte[byte..byte + character.len_utf8()] {
                *slot = index;
            }
            index += 1;
        }
        char_at_byte[digitized.len()] = index;
        let mut found = Vec::new();
        for captures in self.email.captures_iter(&digitized) {
            let whole = captures.get(0).expect("match");
            let end_char = char_at_byte[whole.end()];
            // The TLD must end the word (qq.com, not qq.commerce).
            if chars
                .get(end_char)
                .is_some_and(|next| next.is_ascii_alphanumeric())
            {
                continue;
            }
            let local = captures
                .get(1)
                .map_or("", |m| m.as_str())
                .replace('点', ".");
            let domain = captures.get(2).map_or("", |m| m.as_str());
            let domain: String = self
                .email_separator_free(domain)
                .chars()
                .filter(|character| !character.is_whitespace())
                .collect();
            found.push(Detection {
                kind: PiiKind::Email,
                start: char_at_byte[whole.start()],
                end: end_char,
                byte_start: 0,
                byte_end: 0,
                value: format!("{}@{}", local.to_lowercase(), domain.to_lowercase()),
                verified: true,
            });
        }
        found
    }

    fn email_separator_free(&self, domain: &str) -> String {
        let mut normalized = domain.replace(['。', '点'], ".");
        for dot in ["dot", "DOT", "Dot"] {
            normalized = normalized.replace(&format!(" {dot} "), ".");
        }
        normalized
    }
}

/// Whether `cue` names `kind` (电话 for phones, 身份证 for IDs, 卡号 for cards).
fn cue_names(cue: Option<Cue>, kind: PiiKind) -> bool {
    matches!(
        (cue, kind),
        (Some(Cue::Phone), PiiKind::Mobile | PiiKind::Landline)
            | (Some(Cue::Id), PiiKind::IdCard)
            | (Some(Cue::Card), PiiKind::BankCard)
    )
}

/// A cheap test that skips texts that cannot hold personal data: fewer
/// than 7 digit characters (the shortest number detected is a 7-digit local
/// number) and no email sign.
pub fn might_hold_pii(text: &str) -> bool {
    let mut digits = 0;
    for character in text.chars() {
        if numerals::digit_value(character).is_some() {
            digits += 1;
            if digits >= 7 {
                return true;
            }
        } else if character == '@' || character == '＠' {
            return true;
        }
    }
    text.contains("艾特") || text.contains(" at ") || text.contains(" AT ")
}

/// Whether the number at `start..end` is an amount or a quantity: a unit
/// right after it or a currency sign right before it.
fn amount_around(chars: &[char], start: usize, end: usize) -> bool {
    let after = chars[end..].iter().find(|c| !c.is_whitespace());
    let before = chars[..start].iter().rev().find(|c| !c.is_whitespace());
    after.is_some_and(|c| is_unit(*c)) || before.is_some_and(|c| is_currency(*c))
}

/// Whether 8 digits read as a date (2026-09-01, 20260901).
fn date_shaped(digits: &[u8], lengths: &[usize]) -> bool {
    if digits.len() != 8 {
        return false;
    }
    if lengths == [4, 2, 2] {
        return true;
    }
    let number = |range: std::ops::Range<usize>| {
        digits[range]
            .iter()
            .fold(0u32, |value, digit| value * 10 + u32::from(*digit))
    };
    let year = number(0..4) as i32;
    (1950..=2099).contains(&year)
        && NaiveDate::from_ymd_opt(year, number(4..6), number(6..8)).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, expected: &[(PiiKind, &str, &str)]) {
        let detector = Detector::with_today(NaiveDate::from_ymd_opt(2026, 9, 1).unwrap());
        let found = detector.detect(text);
        let got: Vec<(PiiKind, String, String)> = found
            .iter()
            .map(|detection| {
                (
                    detection.kind,
                    detection.value.clone(),
                    text[detection.byte_start..detection.byte_end].to_string(),
                )
            })
            .collect();
        let want: Vec<(PiiKind, String, String)> = expected
            .iter()
            .map(|(kind, value, span)| (*kind, value.to_string(), span.to_string()))
            .collect();
        assert_eq!(got, want, "{text}");
        for detection in &found {
            let span: String = text
                .chars()
                .skip(detection.start)
                .take(detection.end - detection.start)
                .collect();
            assert_eq!(span, &text[detection.byte_start..detection.byte_end]);
        }
    }

    use PiiKind::*;

    #[test]
    fn mobiles_in_digits_and_numerals() {
        check(
            "我的手机号是一三八一二三四五六七八。",
            &[(Mobile, "13812345678", "一三八一二三四五六七八")],
        );
        check(
            "幺三九 两五六七 八八九九",
            &[(Mobile, "13925678899", "幺三九 两五六七 八八九九")],
        );
        check(
            "电话138-1234-5678谢谢",
            &[(Mobile, "13812345678", "138-1234-5678")],
        );
        check(
            "+86 138 1234 5678",
            &[(Mobile, "8613812345678", "86 138 1234 5678")],
        );
        check(
            "号码是一三八，一二三四，五六七八",
            &[(Mobile, "13812345678", "一三八，一二三四，五六七八")],
        );
    }

    #[test]
    fn landlines_need_an_area_code_or_a_cue() {
        check("010-12345678", &[(Landline, "01012345678", "010-12345678")]);
        check(
            "座机是零七五五 八八八八 六六六六",
            &[(Landline, "075588886666", "零七五五 八八八八 六六六六")],
        );
        check(
            "座机是八八八八六六六六",
            &[(Landline, "88886666", "八八八八六六六六")],
        );
        check("一共是八八八八六六六六", &[]);
        check("电话是2026-09-01那天打的", &[]);
    }

    #[test]
    fn id_numbers_need_the_checksum_or_a_cue() {
        check(
            "11010519491231002X",
            &[(IdCard, "11010519491231002X", "11010519491231002X")],
        );
        check("110105194912310021", &[]);
        check(
            "身份证号110105194912310021",
            &[(IdCard, "110105194912310021", "110105194912310021")],
        );
        check("订单号11010519491231002X", &[]);
    }

    #[test]
    fn cards_need_luhn_and_an_issuer_range_or_a_cue() {
        check(
            "6222 6002 6000 1072 444",
            &[(BankCard, "6222600260001072444", "6222 6002 6000 1072 444")],
        );
        check("6222600260001072445", &[]);
        check(
            "卡号6222600260001072445",
            &[(BankCard, "6222600260001072445", "6222600260001072445")],
        );
        check("订单号6222600260001072444", &[]);
    }

    #[test]
    fn near_misses_stay_clear() {
        check("退款金额是13812345678元", &[]);
        check("快递单号SF1234567890123", &[]);
        check("您的订单号是20260901123456，请查收", &[]);
        check("二十四小时内回复，一共两件", &[]);
        check("尾号五六七八的那张卡", &[]);
    }

    #[test]
    fn emails_written_and_spoken() {
        check(
            "邮箱是zhang.san@163.com。",
            &[(Email, "zhang.san@163.com", "zhang.san@163.com")],
        );
        check(
            "我的邮箱是幺二三四五六七八九艾特qq点com",
            &[(Email, "123456789@qq.com", "幺二三四五六七八九艾特qq点com")],
        );
        check(
            "13812345678@qq.com",
            &[(Email, "13812345678@qq.com", "13812345678@qq.com")],
        );
    }

    #[test]
    fn emails_with_two_level_domains_and_spoken_at() {
        check(
            "邮箱chenjie@sina.com.cn，发票发这个",
            &[(Email, "chenjie@sina.com.cn", "chenjie@sina.com.cn")],
        );
        check(
            "我的邮箱lisi at gmail dot com。",
            &[(Email, "lisi@gmail.com", "lisi at gmail dot com")],
        );
    }

    #[test]
    fn a_hint_from_the_previous_sentence_counts_as_a_cue() {
        let detector = Detector::with_today(NaiveDate::from_ymd_opt(2026, 9, 1).unwrap());
        let text = "一一零一零五一九四九一二三一零零二一";
        assert!(detector.detect(text).is_empty());
        assert_eq!(
            detector.trailing_cue("请问您的身份证号是多少？"),
            Some(Cue::Id)
        );
        let found = detector.detect_with_hint(text, Some(Cue::Id));
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].kind, IdCard);
        assert!(!found[0].verified);
    }
}
