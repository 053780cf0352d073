//! The redaction policy: section `[redaction]` of the workspace config.
//!
//! ```toml
//! [redaction]
//! enabled = true                          # default: mask every kind
//! seal_key_file = "/etc/callscope/seal.key"  # or env CALLSCOPE_SEAL_KEY_FILE
//! subject_key_file = "/etc/callscope/subject.key"  # or env CALLSCOPE_SUBJECT_KEY_FILE
//! mask_char = "*"
//!
//! [redaction.mobile]
//! mask = "partial"      # partial | full | label | none
//! keep_first = 3        # 138****5678
//! keep_last = 4
//!
//! [redaction.id_card]
//! mask = "full"         # ******************
//!
//! [redaction.email]
//! mask = "none"         # leave emails in clear
//! ```
//!
//! Defaults (`mask = "partial"` for all kinds): mobile 138****5678, landline
//! 010-****5678 (area code and last 4 kept), ID 110***********1234, bank card
//! ****1234, email a***@example.com (first character and the domain kept).

use std::path::PathBuf;

use serde::Deserialize;

use callscope_core::model::PiiKind;

/// How one kind of personal data is masked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum MaskStyle {
    /// Keep the first and last few digits, mask the rest (138****5678).
    #[default]
    Partial,
    /// Mask every digit or character (***********).
    Full,
    /// Replace with the kind's name ([手机号]).
    Label,
    /// Leave this kind in clear (and out of `redact --check`).
    None,
}

/// The rule for one kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct KindRule {
    /// How it is masked.
    pub mask: MaskStyle,
    /// Digits (or characters of an email's local part) kept at the start
    /// with `partial`; the kind's default when absent.
    pub keep_first: Option<usize>,
    /// Digits kept at the end with `partial`; the kind's default when absent.
    pub keep_last: Option<usize>,
}

/// What is masked and how (`[redaction]` of the workspace config).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RedactionPolicy {
    /// Mask personal data at all; `false` stores calls as they come.
    pub enabled: bool,
    /// The character that replaces masked digits.
    pub mask_char: char,
    /// The key file that seals originals for QA re-scoring; must lie
    /// outside the workspace. `CALLSCOPE_SEAL_KEY_FILE` overrides it.
    /// Without a key, originals are not kept at all.
    pub seal_key_file: Option<PathBuf>,
    /// The key file under which the personal data found in each call is
    /// hashed, so `callscope forget --subject` can find a person's calls;
    /// must lie outside the workspace. `CALLSCOPE_SUBJECT_KEY_FILE`
    /// overrides it. Without a key, no hashes are kept.
    pub subject_key_file: Option<PathBuf>,
    /// Mobile numbers.
    pub mobile: KindRule,
    /// Landline numbers.
    pub landline: KindRule,
    /// ID numbers.
    pub id_card: KindRule,
    /// Bank card numbers.
    pub bank_card: KindRule,
    /// Email addresses.
    pub email: KindRule,
}

impl Default for RedactionPolicy {
    fn default() -> RedactionPolicy {
        RedactionPolicy {
            enabled: true,
            mask_char: '*',
            seal_key_file: None,
            subject_key_file: None,
            mobile: KindRule::default(),
            landline: KindRule::default(),
            id_card: KindRule::default(),
            bank_card: KindRule::default(),
            email: KindRule::default(),
        }
    }
}

impl RedactionPolicy {
    /// A policy that masks nothing.
    pub fn disabled() -> RedactionPolicy {
        RedactionPolicy {
            enabled: false,
            ..RedactionPolicy::default()
        }
    }

    /// The rule for `kind`.
    pub fn rule(&self, kind: PiiKind) -> KindRule {
        match kind {
            PiiKind::Mobile => self.mobile,
            PiiKind::Landline => self.landline,
            PiiKind::IdCard => self.id_card,
            PiiKind::BankCard => self.bank_card,
            PiiKind::Email => self.email,
        }
    }

    /// Whether `kind` is masked under this policy.
    pub fn masks(&self, kind: PiiKind) -> bool {
        self.enabled && self.rule(kind).mask != MaskStyle::None
    }

    /// Whether anything at all is masked.
    pub fn masks_anything(&self) -> bool {
        PiiKind::ALL.into_iter().any(|kind| self.masks(kind))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use callscope_core::config::WorkspaceConfig;

    #[test]
    fn the_config_section_parses_and_defaults() {
        let config = WorkspaceConfig::parse(
            "[redaction]\nmask_char = \"#\"\n[redaction.email]\nmask = \"none\"\n\
             [redaction.id_card]\nmask = \"full\"\n[redaction.mobile]\nkeep_first = 0\n",
        )
        .unwrap();
        let policy: RedactionPolicy = config.section("redaction").unwrap();
        assert_eq!(policy.mask_char, '#');
        assert!(!policy.masks(PiiKind::Email));
        assert!(policy.masks(PiiKind::IdCard));
        assert_eq!(policy.id_card.mask, MaskStyle::Full);
        assert_eq!(policy.mobile.keep_first, Some(0));
        assert_eq!(policy.bank_card, KindRule::default());
        let none: RedactionPolicy = WorkspaceConfig::parse("")
            .unwrap()
            .section("redaction")
            .unwrap();
        assert_eq!(none, RedactionPolicy::default());
        assert!(none.masks_anything());
    }

    #[test]
    fn unknown_keys_and_styles_are_refused() {
        let config = WorkspaceConfig::parse("[redaction.mobile]\nmask = \"blur\"\n").unwrap();
        let error = config
            .section::<RedactionPolicy>("redaction")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("[redaction]") && error.contains("blur"),
            "{error}"
        );
        let config = WorkspaceConfig::parse("[redaction]\nkey = \"x\"\n").unwrap();
        assert!(config.section::<RedactionPolicy>("redaction").is_err());
    }
}
