//! Rendering masks: a detection and the policy's rule for its kind give the
//! text that replaces it (138****5678, 110***********1234, ****1234,
//! a***@example.com, [手机号]).

use super::checksum;
use super::detect::Detection;
use super::policy::{MaskStyle, RedactionPolicy};
use callscope_core::model::PiiKind;

/// The label that replaces a detection with `mask = "label"`.
pub fn label(kind: PiiKind) -> &'static str {
    match kind {
        PiiKind::Mobile => "[手机号]",
        PiiKind::Landline => "[座机号]",
        PiiKind::IdCard => "[身份证号]",
        PiiKind::BankCard => "[银行卡号]",
        PiiKind::Email => "[邮箱]",
    }
}

/// The replacement text for one detection under `policy`, or `None` when
/// the policy leaves this kind in clear.
pub fn render(detection: &Detection, policy: &RedactionPolicy) -> Option<String> {
    if !policy.masks(detection.kind) {
        return None;
    }
    let rule = policy.rule(detection.kind);
    let mask = policy.mask_char;
    let value = detection.value.as_str();
    Some(match rule.mask {
        MaskStyle::None => return None,
        MaskStyle::Label => label(detection.kind).to_string(),
        MaskStyle::Full => value
            .chars()
            .map(|character| {
                if character.is_ascii_alphanumeric() {
                    mask
                } else {
                    character
                }
            })
            .collect(),
        MaskStyle::Partial => match detection.kind {
            PiiKind::Mobile => {
                // The number itself, without +86 or a dialled 0.
                let core = &value[value.len() - 11..];
                keep_ends(
                    core,
                    rule.keep_first.unwrap_or(3),
                    rule.keep_last.unwrap_or(4),
                    mask,
                    None,
                )
            }
            PiiKind::Landline => {
                let digits: Vec<u8> = value.bytes().map(|byte| byte - b'0').collect();
                let area = checksum::area_code_len(&digits)
                    .filter(|_| checksum::is_landline(&digits))
                    .unwrap_or(0);
                let masked = keep_ends(
                    value,
                    rule.keep_first.unwrap_or(area),
                    rule.keep_last.unwrap_or(4),
                    mask,
                    None,
                );
                if area > 0 {
                    format!("{}-{}", &masked[..area], &masked[area..])
                } else {
                    masked
                }
            }
            PiiKind::IdCard => keep_ends(
                value,
                rule.keep_first.unwrap_or(3),
                rule.keep_last.unwrap_or(4),
                mask,
                None,
            ),
            // The hidden part is always four mask characters, which hides
            // the card's length too.
            PiiKind::BankCard => keep_ends(
                value,
                rule.keep_first.unwrap_or(0),
                rule.keep_last.unwrap_or(4),
                mask,
                Some(4),
            ),
            PiiKind::Email => {
                let (local, domain) = value.split_once('@').unwrap_or((value, ""));
                let masked = keep_ends(
                    local,
                    rule.keep_first.unwrap_or(1),
                    rule.keep_last.unwrap_or(0),
                    mask,
                    Some(3),
                );
                format!("{masked}@{domain}")
            }
        },
    })
}

/// `value` (ASCII) with `first` characters kept at the start and `last` at
/// the end, the rest masked: one mask character per hidden character, or
/// `fixed` of them. When the kept parts would hide nothing, nothing is kept.
fn keep_ends(value: &str, first: usize, last: usize, mask: char, fixed: Option<usize>) -> String {
    let length = value.len();
    let (first, last) = if first + last >= length {
        (0, 0)
    } else {
        (first, last)
    };
    let hidden = fixed.unwrap_or(length - first - last);
    let mut masked = String::with_capacity(length + hidden * mask.len_utf8());
    masked.push_str(&value[..first]);
    masked.extend(std::iter::repeat_n(mask, hidden));
    masked.push_str(&value[length - last..]);
    masked
}

/// `text` with every detection the policy masks replaced by its mask;
/// returns the masked text and the detections that were masked.
pub fn apply<'a>(
    text: &str,
    detections: &'a [Detection],
    policy: &RedactionPolicy,
) -> (String, Vec<&'a Detection>) {
    let (masked, placed) = apply_placed(text, detections, policy);
    (
        masked,
        placed.into_iter().map(|place| place.detection).collect(),
    )
}

/// A detection that was masked, and where its mask lies in the masked text.
#[derive(Debug, Clone, Copy)]
pub struct Placed<'a> {
    /// The detection (positions in the original text).
    pub detection: &'a Detection,
    /// First character of the mask in the masked text.
    pub masked_start: usize,
    /// One past the mask's last character.
    pub masked_end: usize,
}

/// [`apply`], also saying where each mask lies in the masked text
/// (characters), so that QA can put a stand-in there.
pub fn apply_placed<'a>(
    text: &str,
    detections: &'a [Detection],
    policy: &RedactionPolicy,
) -> (String, Vec<Placed<'a>>) {
    let mut masked = String::with_capacity(text.len());
    let mut placed = Vec::new();
    let mut last = 0;
    let mut chars = 0;
    for detection in detections {
        let Some(replacement) = render(detection, policy) else {
            continue;
        };
        let before = &text[last..detection.byte_start];
        masked.push_str(before);
        chars += before.chars().count();
        let masked_start = chars;
        masked.push_str(&replacement);
        chars += replacement.chars().count();
        last = detection.byte_end;
        placed.push(Placed {
            detection,
            masked_start,
            masked_end: chars,
        });
    }
    masked.push_str(&text[last..]);
    (masked, placed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::KindRule;

    fn detection(kind: PiiKind, value: &str) -> Detection {
        Detection {
            kind,
            start: 0,
            end: value.chars().count(),
            byte_start: 0,
            byte_end: value.len(),
            value: value.to_string(),
            verified: true,
        }
    }

    fn check(kind: PiiKind, value: &str, rule: KindRule, expected: &str) {
        let mut policy = RedactionPolicy::default();
        match kind {
            PiiKind::Mobile => policy.mobile = rule,
            PiiKind::Landline => policy.landline = rule,
            PiiKind::IdCard => policy.id_card = rule,
            PiiKind::BankCard => policy.bank_card = rule,
            PiiKind::Email => policy.email = rule,
        }
        assert_eq!(
            render(&detection(kind, value), &policy).as_deref(),
            Some(expected),
            "{kind} {value}"
        );
    }

    #[test]
    fn default_partial_forms() {
        let partial = KindRule::default();
        check(PiiKind::Mobile, "13812345678", partial, "138****5678");
        check(PiiKind::Mobile, "8613812345678", partial, "138****5678");
        check(PiiKind::Landline, "01012345678", partial, "010-****5678");
        check(PiiKind::Landline, "075588886666", partial, "0755-****6666");
        check(PiiKind::Landline, "88886666", partial, "****6666");
        check(
            PiiKind::IdCard,
            "110105194912310021",
            partial,
            "110***********0021",
        );
        check(
            PiiKind::IdCard,
            "11010519491231002X",
            partial,
            "110***********002X",
        );
        check(
            PiiKind::BankCard,
            "6222600260001072444",
            partial,
            "****2444",
        );
        check(PiiKind::Email, "zhang.san@163.com", partial, "z***@163.com");
        check(PiiKind::Email, "ab@qq.com", partial, "a***@qq.com");
        check(PiiKind::Email, "a@qq.com", partial, "***@qq.com");
    }

    #[test]
    fn full_label_and_custom_forms() {
        let full = KindRule {
            mask: MaskStyle::Full,
            ..KindRule::default()
        };
        check(PiiKind::Mobile, "13812345678", full, "***********");
        check(PiiKind::Email, "a1@qq.com", full, "**@**.***");
        let label = KindRule {
            mask: MaskStyle::Label,
            ..KindRule::default()
        };
        check(PiiKind::IdCard, "11010519491231002X", label, "[身份证号]");
        let custom = KindRule {
            mask: MaskStyle::Partial,
            keep_first: Some(6),
            keep_last: Some(4),
        };
        check(
            PiiKind::BankCard,
            "6222600260001072444",
            custom,
            "622260****2444",
        );
        let none = KindRule {
            mask: MaskStyle::None,
            ..KindRule::default()
        };
        let policy = RedactionPolicy {
            email: none,
            ..RedactionPolicy::default()
        };
        assert_eq!(render(&detection(PiiKind::Email, "a@b.cn"), &policy), None);
    }
}
