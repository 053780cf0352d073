//! The checks that tell a personal number from any long number: the GB
//! 11643-1999 check digit of ID numbers (居民身份证号码) with their region
//! and birth date, the Luhn check of bank cards, and the shapes of mobile and
//! landline numbers (GB/T 13497 numbering).
//!
//! Digits are slices of values 0..=9, with 10 standing for the `X` check
//! character.

use chrono::{Datelike, NaiveDate};

/// The weights of GB 11643-1999 for the first 17 digits.
const ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];

/// The check character for each remainder mod 11 (10 is `X`).
const ID_CHECK: [u8; 11] = [1, 0, 10, 9, 8, 7, 6, 5, 4, 3, 2];

/// First two digits of ID numbers: provinces, Hong Kong/Macao/Taiwan
/// residence permits (81-83) and foreigners' permanent residence (91).
const ID_PROVINCES: &[u8] = &[
    11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52,
    53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83, 91,
];

/// The check character (0..=10) that the first 17 digits call for.
pub fn id_check_digit(first17: &[u8]) -> Option<u8> {
    if first17.len() != 17 || first17.iter().any(|digit| *digit > 9) {
        return None;
    }
    let sum: u32 = first17
        .iter()
        .zip(ID_WEIGHTS)
        .map(|(digit, weight)| u32::from(*digit) * weight)
        .sum();
    Some(ID_CHECK[(sum % 11) as usize])
}

/// Whether an 18-character ID number's last character is right.
pub fn id_checksum_ok(digits: &[u8]) -> bool {
    digits.len() == 18 && id_check_digit(&digits[..17]) == Some(digits[17])
}

/// Whether the region and birth date of an ID number are plausible (the
/// checksum aside): a known province code, a real date between 1900 and
/// today. Works for 18-digit and old 15-digit (19YYMMDD) numbers.
pub fn id_shape_ok(digits: &[u8], today: NaiveDate) -> bool {
    let body_len = match digits.len() {
        18 => 17,
        15 => 15,
        _ => return false,
    };
    if digits[..body_len].iter().any(|digit| *digit > 9) {
        return false;
    }
    let province = digits[0] * 10 + digits[1];
    if !ID_PROVINCES.contains(&province) {
        return false;
    }
    let number = |range: std::ops::Range<usize>| {
        digits[range]
            .iter()
            .fold(0u32, |value, digit| value * 10 + u32::from(*digit))
    };
    let (year, month, day) = if digits.len() == 18 {
        (number(6..10) as i32, number(10..12), number(12..14))
    } else {
        (1900 + number(6..8) as i32, number(8..10), number(10..12))
    };
    match NaiveDate::from_ymd_opt(year, month, day) {
        Some(birth) => year >= 1900 && birth <= today && today.year() - year <= 120,
        None => false,
    }
}

/// The Luhn check of card numbers.
pub fn luhn_ok(digits: &[u8]) -> bool {
    if digits.is_empty() || digits.iter().any(|digit| *digit > 9) {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(index, digit)| {
            let digit = u32::from(*digit);
            if index % 2 == 1 {
                let doubled = digit * 2;
                if doubled > 9 {
                    doubled - 9
                } else {
                    doubled
                }
            } else {
                digit
            }
        })
        .sum();
    sum % 10 == 0
}

/// Whether the digits are a mainland mobile number: 11 digits, 1[3-9].
pub fn is_mobile(digits: &[u8]) -> bool {
    digits.len() == 11
        && digits[0] == 1
        && (3..=9).contains(&digits[1])
        && digits.iter().all(|d| *d <= 9)
}

/// The length of the area code that starts `digits`, if it is one: 010 and
/// 02x are three digits, 03xx-09xx four.
pub fn area_code_len(digits: &[u8]) -> Option<usize> {
    if digits.len() < 3 || digits[0] != 0 {
        return None;
    }
    match (digits[1], digits[2]) {
        (1, 0) | (2, _) => Some(3),
        (3..=9, _) if digits.len() >= 4 => Some(4),
        _ => None,
    }
}

/// Whether the digits are a local subscriber number: 7 or 8 digits that do
/// not start with 0 or 1 (those prefixes are trunk and service codes).
pub fn is_subscriber(digits: &[u8]) -> bool {
    (7..=8).contains(&digits.len()) && digits[0] >= 2 && digits.iter().all(|d| *d <= 9)
}

/// Whether the digits are area code plus subscriber number (010 12345678,
/// 0755 88886666, 0571 8765432). After an area code any subscriber number
/// not starting with 0 counts (a leading 1 is rare but harmless to mask).
pub fn is_landline(digits: &[u8]) -> bool {
    match area_code_len(digits) {
        Some(area) => {
            let subscriber = &digits[area..];
            (7..=8).contains(&subscriber.len())
                && subscriber[0] >= 1
                && subscriber.iter().all(|digit| *digit <= 9)
        }
        None => false,
    }
}

/// Whether the digits are a bank card number's length and issuer range:
/// 16 to 19 digits starting with 3, 4, 5, 6 (UnionPay 62) or 9 (old
/// domestic debit cards).
pub fn card_shape_ok(digits: &[u8]) -> bool {
    (16..=19).contains(&digits.len())
        && matches!(digits[0], 3 | 4 | 5 | 6 | 9)
        && digits.iter().all(|d| *d <= 9)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digits(text: &str) -> Vec<u8> {
        text.chars()
            .map(|character| match character {
                'X' => 10,
                _ => character.to_digit(10).unwrap() as u8,
            })
            .collect()
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 9, 1).unwrap()
    }

    #[test]
    fn gb11643_check_digits() {
        // The standard's own example and well-known published samples.
        assert!(id_checksum_ok(&digits("11010519491231002X")));
        assert!(id_checksum_ok(&digits("440524188001010014")));
        assert!(!id_checksum_ok(&digits("110105194912310021")));
        assert!(!id_checksum_ok(&digits("440524188001010015")));
    }

    #[test]
    fn id_shape_needs_a_province_and_a_real_birth_date() {
        assert!(id_shape_ok(&digits("11010519491231002X"), today()));
        assert!(!id_shape_ok(&digits("20260901123456789X"), today()));
        assert!(!id_shape_ok(&digits("110105199002301234"), today()));
        assert!(!id_shape_ok(&digits("110105203001011234"), today()));
        assert!(id_shape_ok(&digits("110105491231002"), today()));
    }

    #[test]
    fn luhn() {
        assert!(luhn_ok(&digits("4111111111111111")));
        assert!(luhn_ok(&digits("6222600260001072444")));
        assert!(luhn_ok(&digits("79927398713")));
        assert!(!luhn_ok(&digits("79927398710")));
        assert!(!luhn_ok(&digits("4111111111111112")));
    }

    #[test]
    fn phone_shapes() {
        assert!(is_mobile(&digits("13812345678")));
        assert!(!is_mobile(&digits("12812345678")));
        assert!(!is_mobile(&digits("1381234567")));
        assert!(is_landline(&digits("01012345678")));
        assert!(is_landline(&digits("075588886666")));
        assert!(is_landline(&digits("05718765432")));
        assert!(!is_landline(&digits("01112345678")));
        assert!(!is_landline(&digits("075512345")));
        assert!(!is_landline(&digits("07550888666")));
    }
}
