//! Scorecard words and patterns that can only match text masking removes.
//!
//! Without a seal key, stored calls keep only the masked form of personal
//! data, and QA rules read a stand-in of the same shape
//! ([`crate::surrogate`]). A keyword that *is* a number (13812345678) can
//! then never match; a regex written for the shape of a number
//! (`1[3-9]\d{9}`) matches the stand-in, not what was said. Both are better
//! written with the `pii` rule operator, or scored on sealed originals. The
//! checks here tell the scorecard's author so, naming the kind.
//!
//! Whether a regex "can only match" personal data is judged on samples, as
//! rules see text (normalized: no punctuation, lowercase): it must match
//! most of a number on a sample of a kind the policy masks (digits or
//! numerals, with or without the cue word before it), and nothing on
//! samples of what masking keeps (employee and order numbers, dates,
//! amounts, hotlines, verification codes).

use callscope_core::model::PiiKind;

use super::{Redactor, SEAL_KEY_ENV};

/// Samples of what masking removes, as rules see them: a cue and a value.
const REMOVED: &[(PiiKind, &str, &str)] = &[
    (PiiKind::Mobile, "手机号", "13812345678"),
    (PiiKind::Mobile, "手机号", "一三八一二三四五六七八"),
    (PiiKind::Landline, "座机", "01062345678"),
    (PiiKind::Landline, "座机", "零一零六二三四五六七八"),
    (PiiKind::IdCard, "身份证号", "11010519491231002x"),
    (PiiKind::IdCard, "身份证号", "440301199003070019"),
    (
        PiiKind::IdCard,
        "身份证号",
        "一一零一零五一九四九一二三一零零二叉",
    ),
    (PiiKind::BankCard, "卡号", "6222600260001072444"),
    (PiiKind::BankCard, "卡号", "4111111111111111"),
    (
        PiiKind::BankCard,
        "卡号",
        "六二二二六零零二六零零零一零七二四四四",
    ),
];

/// Samples of numbers masking keeps, as rules see them.
const KEPT: &[&str] = &[
    "您好工号三零七很高兴为您服务",
    "工号307为您服务",
    "订单号20260901123456",
    "2026年9月1日下午3点",
    "退款128元三到五个工作日到账",
    "一共一百二十元",
    "客服热线4008123123",
    "尾号5678的那张卡",
    "验证码835621",
];

/// A match of a sample number covers all of it but this many characters
/// (what a partial mask may show)...
const SHOWN_DIGITS: usize = 4;
/// ...and at least this many (the shortest number masked has 7 digits).
const MOST_OF_A_NUMBER: usize = 7;

impl Redactor {
    /// A warning for a scorecard keyword (normalized) that is itself
    /// personal data the policy masks, when no seal key is held: stored
    /// calls never hold it, so the keyword never matches. `None` when the
    /// keyword is fine.
    pub fn keyword_warning(&self, word: &str) -> Option<String> {
        if self.key.is_some() {
            return None;
        }
        let kind = self.masked_kind_in(word)?;
        Some(value_warning("keyword", word, kind))
    }

    /// A warning for a scorecard regex that can only match personal data
    /// the policy masks, when no seal key is held: either it spells out a
    /// number (it never matches), or it matches numbers of that shape only
    /// (it matches a stand-in, and `op = "pii"` says the same plainly).
    /// `None` when the regex is fine.
    pub fn regex_warning(&self, pattern: &regex::Regex) -> Option<String> {
        if self.key.is_some() {
            return None;
        }
        if let Some(kind) = self.masked_kind_in(pattern.as_str()) {
            return Some(value_warning("regex", pattern.as_str(), kind));
        }
        if KEPT.iter().any(|sample| pattern.is_match(sample)) {
            return None;
        }
        let mut kinds: Vec<PiiKind> = Vec::new();
        for (kind, cue, value) in REMOVED {
            if kinds.contains(kind) || !self.policy.masks(*kind) {
                continue;
            }
            if matches_number(pattern, cue, value) {
                kinds.push(*kind);
            }
        }
        if kinds.is_empty() {
            return None;
        }
        kinds.sort_unstable();
        Some(shape_warning(pattern.as_str(), &kinds))
    }

    /// The first kind of personal data the policy masks found in `text`.
    fn masked_kind_in(&self, text: &str) -> Option<PiiKind> {
        self.detector
            .detect(text)
            .into_iter()
            .map(|detection| detection.kind)
            .find(|kind| self.policy.masks(*kind))
    }
}

/// Whether `pattern` matches most of `value`, said alone or after `cue`
/// (手机号, 手机号是).
fn matches_number(pattern: &regex::Regex, cue: &str, value: &str) -> bool {
    let length = value.chars().count();
    let needed = length
        .saturating_sub(SHOWN_DIGITS)
        .max(MOST_OF_A_NUMBER.min(length));
    [String::new(), cue.to_string(), format!("{cue}是")]
        .into_iter()
        .any(|cue| {
            let text = format!("{cue}{value}");
            let value_start = cue.chars().count();
            let value_end = value_start + length;
            pattern.find_iter(&text).any(|found| {
                let start = text[..found.start()].chars().count();
                let end = start + found.as_str().chars().count();
                end.min(value_end).saturating_sub(start.max(value_start)) >= needed
            })
        })
}

/// "a mobile number", "an ID number", ...
fn kind_words(kind: PiiKind) -> &'static str {
    match kind {
        PiiKind::Mobile => "a mobile number",
        PiiKind::Landline => "a landline number",
        PiiKind::IdCard => "an ID number",
        PiiKind::BankCard => "a bank card number",
        PiiKind::Email => "an email address",
    }
}

/// Where a seal key is set, for messages.
fn seal_key_hint() -> String {
    format!(
        "or set a seal key ([redaction] seal_key_file or {SEAL_KEY_ENV}, `callscope redact \
         keygen` makes one) before importing, so rules score what was said"
    )
}

fn value_warning(what: &str, text: &str, kind: PiiKind) -> String {
    format!(
        "{what} '{text}' is {}, which masking removes when calls are stored; without a seal \
         key the original is not kept and rules read a stand-in of the same shape, so this \
         never matches: use op = \"pii\" with kinds = [\"{kind}\"] to find any such number, {}",
        kind_words(kind),
        seal_key_hint()
    )
}

fn shape_warning(pattern: &str, kinds: &[PiiKind]) -> String {
    let words: Vec<&str> = kinds.iter().map(|kind| kind_words(*kind)).collect();
    let names: Vec<String> = kinds.iter().map(|kind| format!("\"{kind}\"")).collect();
    format!(
        "regex '{pattern}' can only match {}, which masking removes when calls are stored; \
         without a seal key rules read a stand-in of the same shape (the digits the mask hides \
         are not the caller's): use op = \"pii\" with kinds = [{}] instead, {}",
        words.join(" or "),
        names.join(", "),
        seal_key_hint()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::Detector;
    use crate::{RedactionPolicy, SealKey};

    fn keyless() -> Redactor {
        Redactor::new(RedactionPolicy::default(), None).unwrap()
    }

    fn regex(pattern: &str) -> regex::Regex {
        regex::Regex::new(pattern).unwrap()
    }

    #[test]
    fn the_samples_are_what_they_say() {
        let detector = Detector::new();
        for (kind, cue, value) in REMOVED {
            let found = detector.detect(&format!("{cue}{value}"));
            assert_eq!(found.len(), 1, "{value}: {found:?}");
            assert_eq!(found[0].kind, *kind, "{value}");
        }
        for sample in KEPT {
            assert!(detector.detect(sample).is_empty(), "{sample}");
        }
    }

    #[test]
    fn regexes_for_the_shape_of_a_number_are_named() {
        let redactor = keyless();
        let warning = redactor.regex_warning(&regex(r"1[3-9]\d{9}")).unwrap();
        assert!(warning.contains("a mobile number"), "{warning}");
        assert!(warning.contains("kinds = [\"mobile\"]"), "{warning}");
        let warning = redactor
            .regex_warning(&regex(r"(卡号|银行卡)\d{16,19}"))
            .unwrap();
        assert!(warning.contains("kinds = [\"bank_card\"]"), "{warning}");
        let warning = redactor.regex_warning(&regex(r"\d{17}[\dx]")).unwrap();
        assert!(warning.contains("\"id_card\""), "{warning}");
        let warning = redactor
            .regex_warning(&regex("[零一二三四五六七八九幺两]{11}"))
            .unwrap();
        assert!(warning.contains("\"mobile\""), "{warning}");
    }

    #[test]
    fn broad_and_unrelated_regexes_pass() {
        let redactor = keyless();
        for pattern in [
            r"\d+",
            r"\d{7,}",
            r"工号\d+",
            r"订单号\d{14}",
            r"手机号",
            r"\d{4}$",
        ] {
            assert_eq!(redactor.regex_warning(&regex(pattern)), None, "{pattern}");
        }
    }

    #[test]
    fn numbers_spelled_out_never_match_and_say_so() {
        let redactor = keyless();
        let warning = redactor.keyword_warning("13812345678").unwrap();
        assert!(warning.contains("never matches"), "{warning}");
        assert_eq!(redactor.keyword_warning("没办法"), None);
        let warning = redactor.regex_warning(&regex("13812345678|139")).unwrap();
        assert!(warning.contains("never matches"), "{warning}");
    }

    #[test]
    fn a_seal_key_or_a_kind_left_in_clear_needs_no_warning() {
        let sealed = Redactor::new(
            RedactionPolicy::default(),
            Some(SealKey::generate().unwrap()),
        )
        .unwrap();
        assert_eq!(sealed.regex_warning(&regex(r"1[3-9]\d{9}")), None);
        assert_eq!(sealed.keyword_warning("13812345678"), None);
        let mut policy = RedactionPolicy::default();
        policy.mobile.mask = crate::MaskStyle::None;
        let clear_mobiles = Redactor::new(policy, None).unwrap();
        assert_eq!(clear_mobiles.regex_warning(&regex(r"1[3-9]\d{9}")), None);
        assert_eq!(clear_mobiles.keyword_warning("13812345678"), None);
    }
}
