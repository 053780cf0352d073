//! Stand-ins for masked personal data, for QA scoring only.
//!
//! Without a seal key the original of a masked number is gone, and a rule
//! that looks for a number by its shape (a regex for a mobile number, a card
//! cue followed by digits) would read `138****5678` and never match. The
//! scoring view therefore puts back, for the rules only, a stand-in of the
//! same kind and form, the way data loss prevention tools use
//! format-preserving surrogates:
//!
//! - the same characters as said: digits stay digits, Chinese numerals stay
//!   numerals, full-width stays full-width, and spaces, dashes and comma
//!   pauses stay where they were (the span's [`shape_of`]), so the stand-in
//!   is exactly as long as the original;
//! - the digits the mask shows (138, 5678) kept where they were;
//! - the hidden digits filled so that the whole is valid for its kind: a
//!   mobile number 1[3-9] and 11 digits, an ID number with a known province,
//!   a real birth date and the right GB 11643 check character, a card number
//!   in an issuer range with a valid Luhn digit, a landline with an area
//!   code.
//!
//! Stand-ins are never stored, printed or indexed: evidence shows the
//! stored masked text (see `callscope_core::model::PiiMention::shown`).
//! The hidden digits of a stand-in are not the caller's, so a rule that
//! looks for one particular number cannot work without a seal key
//! ([`crate::Redactor::keyword_warning`] says so).

use callscope_core::model::PiiKind;

use super::checksum;
use super::numerals;

/// A written digit (or `X`) in a [shape](shape_of).
const WRITTEN: char = 'd';
/// A full-width digit (or `Ｘ`).
const FULL_WIDTH: char = 'f';
/// A digit said as a Chinese numeral (or 叉).
const SPOKEN: char = 'n';

/// Digits for hidden places that carry no constraint: a fixed cycle without
/// repeats, so that stand-ins are reproducible and never look like 0000.
const FILLER: [u8; 10] = [3, 0, 7, 4, 1, 8, 5, 2, 9, 6];

/// Chinese numerals for the digits 0..=9.
const NUMERALS: [char; 10] = ['零', '一', '二', '三', '四', '五', '六', '七', '八', '九'];

/// The form of a span as said, without its digits: each digit (and an ID
/// number's check `X`) becomes `d` (written), `f` (full width) or `n` (a
/// Chinese numeral); every other character is kept. Holds no personal data.
pub fn shape_of(original: &str) -> String {
    original
        .chars()
        .map(|character| match character {
            '0'..='9' | 'X' | 'x' => WRITTEN,
            '０'..='９' | 'Ｘ' | 'ｘ' => FULL_WIDTH,
            '叉' => SPOKEN,
            _ if numerals::digit_value(character).is_some() => SPOKEN,
            // Letters never sit inside a number span; if one did, it is
            // part of the value, not of its form.
            _ if character.is_ascii_alphanumeric() => WRITTEN,
            _ => character,
        })
        .collect()
}

/// Whether a character of a shape stands for one digit.
fn is_slot(character: char) -> bool {
    matches!(character, WRITTEN | FULL_WIDTH | SPOKEN)
}

/// A stand-in for one masked span: `masked` is the span as stored
/// (138****5678, ****2444, [手机号]), `shape` the form it was said in
/// ([`shape_of`]; `None` for spans recorded without it, which get written
/// digits of the kind's usual length), `mask_char` the policy's mask
/// character. With a shape, the stand-in has exactly as many characters as
/// the original span.
pub fn stand_in(kind: PiiKind, shape: Option<&str>, masked: &str, mask_char: char) -> String {
    if kind == PiiKind::Email {
        return email_stand_in(masked, mask_char);
    }
    let shape = match shape.filter(|shape| shape.chars().any(is_slot)) {
        Some(shape) => shape.to_string(),
        None => WRITTEN
            .to_string()
            .repeat(default_length(kind, masked, mask_char)),
    };
    let length = shape
        .chars()
        .filter(|character| is_slot(*character))
        .count();
    let visible = Visible::read(masked, mask_char);
    let digits = fill(kind, length, &visible);
    render(&shape, &digits)
}

/// The value length of a span stored without its shape: what the masked
/// form shows, within the kind's lengths.
fn default_length(kind: PiiKind, masked: &str, mask_char: char) -> usize {
    let shown = masked
        .chars()
        .filter(|character| character.is_ascii_alphanumeric() || *character == mask_char)
        .count();
    match kind {
        PiiKind::Mobile => 11,
        PiiKind::IdCard if shown == 15 => 15,
        PiiKind::IdCard => 18,
        PiiKind::BankCard => shown.clamp(16, 19),
        PiiKind::Landline if (7..=12).contains(&shown) => shown,
        PiiKind::Landline => 11,
        PiiKind::Email => shown,
    }
}

/// The digits a masked form shows: those before its first mask character
/// (they start the number) and those after its last (they end it).
#[derive(Debug, Default)]
struct Visible {
    leading: Vec<u8>,
    trailing: Vec<u8>,
}

impl Visible {
    fn read(masked: &str, mask_char: char) -> Visible {
        // Digits and the check X as shown; None for a mask character.
        let tokens: Vec<Option<u8>> = masked
            .chars()
            .filter_map(|character| match character {
                '0'..='9' => Some(Some(character as u8 - b'0')),
                'X' | 'x' => Some(Some(10)),
                _ if character == mask_char => Some(None),
                _ => None,
            })
            .collect();
        let first_hidden = tokens.iter().position(Option::is_none);
        let last_hidden = tokens.iter().rposition(Option::is_none);
        match (first_hidden, last_hidden) {
            (Some(first), Some(last)) => Visible {
                leading: tokens[..first].iter().flatten().copied().collect(),
                trailing: tokens[last + 1..].iter().flatten().copied().collect(),
            },
            // A label hides everything; a form without mask characters is
            // the number itself (a kind the policy leaves in clear).
            _ => Visible {
                leading: tokens.iter().flatten().copied().collect(),
                trailing: Vec::new(),
            },
        }
    }
}

/// The digits of a stand-in of `length` digits: the kind's valid default,
/// the visible digits in place, then the checks repaired through hidden
/// places.
fn fill(kind: PiiKind, length: usize, visible: &Visible) -> Vec<u8> {
    let mut digits = default_value(kind, length);
    let mut shown = vec![false; length];
    // A mobile number's mask shows the 11-digit number without +86 or 0.
    let offset = match kind {
        PiiKind::Mobile if length > 11 => length - 11,
        _ => 0,
    };
    let fits = offset + visible.leading.len() + visible.trailing.len() <= length;
    if fits {
        for (index, digit) in visible.leading.iter().enumerate() {
            digits[offset + index] = *digit;
            shown[offset + index] = true;
        }
        let start = length - visible.trailing.len();
        for (index, digit) in visible.trailing.iter().enumerate() {
            digits[start + index] = *digit;
            shown[start + index] = true;
        }
    }
    // A check X can only end an ID number.
    for (index, digit) in digits.iter_mut().enumerate() {
        if *digit == 10 && !(kind == PiiKind::IdCard && index + 1 == length) {
            *digit = FILLER[index % FILLER.len()];
        }
    }
    match kind {
        PiiKind::IdCard => repair_id(&mut digits, &shown),
        PiiKind::BankCard => repair_card(&mut digits, &shown),
        PiiKind::Landline => repair_landline(&mut digits, &shown),
        PiiKind::Mobile => repair_mobile(&mut digits, &shown, offset),
        PiiKind::Email => {}
    }
    digits
}

/// A valid number of the kind and length (filler digits where nothing
/// else is asked for).
fn default_value(kind: PiiKind, length: usize) -> Vec<u8> {
    let filler = |count: usize| -> Vec<u8> {
        (0..count)
            .map(|index| FILLER[index % FILLER.len()])
            .collect()
    };
    let mut digits: Vec<u8> = match (kind, length) {
        (PiiKind::Mobile, _) => {
            let prefix: Vec<u8> = match length {
                13 => vec![8, 6],
                12 => vec![0],
                _ => Vec::new(),
            };
            let mut digits = prefix;
            digits.extend([1, 3]);
            digits.extend(filler(9));
            digits
        }
        (PiiKind::IdCard, 18) => {
            let mut digits = vec![1, 1, 0, 1, 0, 1, 1, 9, 9, 0, 0, 1, 0, 1, 3, 0, 7];
            let check = checksum::id_check_digit(&digits).unwrap_or(0);
            digits.push(check);
            digits
        }
        (PiiKind::IdCard, 15) => vec![1, 1, 0, 1, 0, 1, 9, 0, 0, 1, 0, 1, 3, 0, 7],
        (PiiKind::BankCard, _) => {
            let mut digits = vec![6, 2, 2, 2];
            digits.extend(filler(length.saturating_sub(5)));
            digits.push(0);
            set_luhn_check(&mut digits);
            digits
        }
        (PiiKind::Landline, 12) => {
            let mut digits = vec![0, 7, 5, 5, 8];
            digits.extend(filler(7));
            digits
        }
        (PiiKind::Landline, 10 | 11) => {
            let mut digits = vec![0, 1, 0, 8];
            digits.extend(filler(length - 4));
            digits
        }
        (PiiKind::Landline, _) => {
            let mut digits = vec![8];
            digits.extend(filler(length.saturating_sub(1)));
            digits
        }
        _ => filler(length),
    };
    digits.resize(length, 0);
    digits
}

fn repair_mobile(digits: &mut [u8], shown: &[bool], offset: usize) {
    if digits.len() < offset + 2 {
        return;
    }
    if !shown[offset] {
        digits[offset] = 1;
    }
    if !shown[offset + 1] && !(3..=9).contains(&digits[offset + 1]) {
        digits[offset + 1] = 3;
    }
}

fn repair_landline(digits: &mut [u8], shown: &[bool]) {
    if digits.len() >= 10 {
        if !shown[0] {
            digits[0] = 0;
        }
        let area = checksum::area_code_len(digits).unwrap_or(3);
        if let (Some(first), Some(false)) = (digits.get(area).copied(), shown.get(area)) {
            if first < 2 {
                digits[area] = 8;
            }
        }
    } else if let (Some(first), Some(false)) = (digits.first().copied(), shown.first()) {
        if first < 2 {
            digits[0] = 8;
        }
    }
}

fn repair_id(digits: &mut [u8], shown: &[bool]) {
    if digits.len() != 18 {
        return;
    }
    // A province the checks know.
    let province_shown = shown[0] && shown[1];
    if !province_shown && !checksum::id_shape_ok(&with_date(digits), today_for_shapes()) {
        for (first, second) in [(1, 1), (3, 1), (4, 4), (5, 1)] {
            let mut candidate = digits.to_vec();
            if !shown[0] {
                candidate[0] = first;
            }
            if !shown[1] {
                candidate[1] = second;
            }
            if checksum::id_shape_ok(&with_date(&candidate), today_for_shapes()) {
                digits.copy_from_slice(&candidate);
                break;
            }
        }
    }
    if !shown[17] {
        digits[17] = checksum::id_check_digit(&digits[..17]).unwrap_or(digits[17]);
        return;
    }
    // The check character is shown: change hidden places (outside the birth
    // date) until it is right.
    let free: Vec<usize> = (2..6)
        .chain(14..17)
        .filter(|index| !shown[*index])
        .collect();
    let right = |digits: &[u8]| checksum::id_checksum_ok(digits);
    if right(digits) {
        return;
    }
    for &place in &free {
        for value in 0..10 {
            let mut candidate = digits.to_vec();
            candidate[place] = value;
            if right(&candidate) {
                digits.copy_from_slice(&candidate);
                return;
            }
        }
    }
    for (position, &first) in free.iter().enumerate() {
        for &second in &free[position + 1..] {
            for value in 0..100u8 {
                let mut candidate = digits.to_vec();
                candidate[first] = value / 10;
                candidate[second] = value % 10;
                if right(&candidate) {
                    digits.copy_from_slice(&candidate);
                    return;
                }
            }
        }
    }
}

/// The digits with a check character that does not disturb the shape test
/// (which reads province and birth date only).
fn with_date(digits: &[u8]) -> Vec<u8> {
    let mut copy = digits.to_vec();
    if let Some(last) = copy.last_mut() {
        *last = 0;
    }
    copy
}

/// A fixed "today" for shape tests of stand-ins: the default birth date
/// (1990) is in the past for any real today.
fn today_for_shapes() -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2100, 1, 1).unwrap_or_default()
}

fn repair_card(digits: &mut [u8], shown: &[bool]) {
    let Some(last) = digits.len().checked_sub(1) else {
        return;
    };
    if !shown[0] && !matches!(digits[0], 3 | 4 | 5 | 6 | 9) {
        digits[0] = 6;
    }
    if !shown[last] {
        set_luhn_check(digits);
        return;
    }
    if checksum::luhn_ok(digits) {
        return;
    }
    // Every place changes the Luhn sum by a different amount for each
    // digit, so one hidden place (not the issuer digit) always suffices.
    let Some(place) = (1..last).rev().find(|index| !shown[*index]) else {
        return;
    };
    for value in 0..10 {
        digits[place] = value;
        if checksum::luhn_ok(digits) {
            return;
        }
    }
}

/// Sets the last digit so that the Luhn check passes.
fn set_luhn_check(digits: &mut [u8]) {
    let Some(last) = digits.len().checked_sub(1) else {
        return;
    };
    for value in 0..10 {
        digits[last] = value;
        if checksum::luhn_ok(digits) {
            return;
        }
    }
}

/// Writes `digits` into `shape`: each digit place in its form, every other
/// character as it is.
fn render(shape: &str, digits: &[u8]) -> String {
    let mut digits = digits.iter().copied();
    shape
        .chars()
        .map(|character| {
            if !is_slot(character) {
                return character;
            }
            let digit = digits.next().unwrap_or(0);
            match (character, digit) {
                (FULL_WIDTH, 10) => 'Ｘ',
                (FULL_WIDTH, _) => char::from_u32('０' as u32 + u32::from(digit)).unwrap_or('０'),
                (SPOKEN, 10) => '叉',
                (SPOKEN, _) => NUMERALS[usize::from(digit % 10)],
                (_, 10) => 'X',
                _ => char::from(b'0' + digit % 10),
            }
        })
        .collect()
}

/// An email stand-in: the masked form with each mask character a letter
/// (z***@163.com gives zxxx@163.com); a label gives a plain address.
fn email_stand_in(masked: &str, mask_char: char) -> String {
    if !masked.contains('@') {
        return "xxx@example.com".to_string();
    }
    masked
        .chars()
        .map(|character| {
            if character == mask_char {
                'x'
            } else {
                character
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::Detector;
    use crate::mask;
    use crate::policy::RedactionPolicy;

    fn digits_of(text: &str) -> Vec<u8> {
        text.chars()
            .filter_map(|character| match character {
                'X' | 'x' | 'Ｘ' | '叉' => Some(10),
                _ => numerals::digit_value(character),
            })
            .collect()
    }

    /// Masks `original` with the default policy, makes its stand-in, and
    /// checks what every stand-in must be: the original's length and form,
    /// the shown digits, detected as the same kind over its whole length.
    fn stand_in_for(kind: PiiKind, original: &str) -> String {
        let detector = Detector::new();
        let found = detector.detect(original);
        assert_eq!(found.len(), 1, "{original}: {found:?}");
        assert_eq!(found[0].kind, kind);
        let masked = mask::render(&found[0], &RedactionPolicy::default()).unwrap();
        let span: String = original
            .chars()
            .skip(found[0].start)
            .take(found[0].end - found[0].start)
            .collect();
        let shape = shape_of(&span);
        let made = stand_in(kind, Some(&shape), &masked, '*');
        assert_eq!(shape_of(&made), shape, "{made} has the form of {span}");
        assert_ne!(digits_of(&made), digits_of(&span), "{made} is not {span}");
        let again = detector.detect(&made);
        assert_eq!(again.len(), 1, "{made}: {again:?}");
        assert_eq!(again[0].kind, kind, "{made}");
        assert_eq!((again[0].start, again[0].end), (0, made.chars().count()));
        // What the mask shows of the stand-in is what it showed of the
        // original.
        assert_eq!(
            mask::render(&again[0], &RedactionPolicy::default()).unwrap(),
            masked,
            "{made}"
        );
        made
    }

    #[test]
    fn shapes_hold_forms_not_digits() {
        assert_eq!(shape_of("一三八，一二三四，五六七八"), "nnn，nnnn，nnnn");
        assert_eq!(shape_of("138-1234 5678"), "ddd-dddd dddd");
        assert_eq!(shape_of("１３８幺二三"), "fffnnn");
        assert_eq!(shape_of("11010519491231002X"), "d".repeat(18));
        assert_eq!(
            shape_of("一一零一零五一九四九一二三一零零二叉"),
            "n".repeat(18)
        );
    }

    #[test]
    fn mobile_numbers_keep_their_form_and_shown_digits() {
        assert_eq!(stand_in_for(PiiKind::Mobile, "13812345678"), "13807415678");
        assert_eq!(
            stand_in_for(PiiKind::Mobile, "一三八，一二三四，五六七八"),
            "一三八，零七四一，五六七八"
        );
        stand_in_for(PiiKind::Mobile, "86 138 1234 5678");
        stand_in_for(PiiKind::Mobile, "１３８１２３４５６７８");
        // Fully masked or labelled: still a valid mobile number.
        let full = stand_in(PiiKind::Mobile, Some("ddddddddddd"), "***********", '*');
        assert!(checksum::is_mobile(&digits_of(&full)), "{full}");
        let label = stand_in(PiiKind::Mobile, None, "[手机号]", '*');
        assert!(checksum::is_mobile(&digits_of(&label)), "{label}");
    }

    #[test]
    fn id_numbers_get_a_valid_check_character() {
        let made = stand_in_for(PiiKind::IdCard, "11010519491231002X");
        assert!(made.starts_with("110") && made.ends_with("002X"), "{made}");
        stand_in_for(PiiKind::IdCard, "一一零一零五一九四九一二三一零零二叉");
        stand_in_for(PiiKind::IdCard, "440301199003070019");
        let label = stand_in(PiiKind::IdCard, None, "[身份证号]", '*');
        assert!(checksum::id_checksum_ok(&digits_of(&label)), "{label}");
    }

    #[test]
    fn card_numbers_keep_their_length_and_pass_luhn() {
        let made = stand_in_for(PiiKind::BankCard, "6222 6002 6000 1072 444");
        assert!(made.ends_with("2 444"), "{made}");
        stand_in_for(PiiKind::BankCard, "六二二二六零零二六零零零一零七二四四四");
        stand_in_for(PiiKind::BankCard, "4111111111111111");
        let label = stand_in(PiiKind::BankCard, None, "[银行卡号]", '*');
        let digits = digits_of(&label);
        assert!(checksum::luhn_ok(&digits) && checksum::card_shape_ok(&digits));
    }

    #[test]
    fn landlines_and_emails() {
        stand_in_for(PiiKind::Landline, "010-62345678");
        stand_in_for(PiiKind::Landline, "零七五五 八八八八 六六六六");
        assert_eq!(
            email_stand_in("z***@163.com", '*'),
            "zxxx@163.com".to_string()
        );
        assert_eq!(
            stand_in(PiiKind::Email, None, "[邮箱]", '*'),
            "xxx@example.com"
        );
    }
}
