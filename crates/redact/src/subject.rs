//! Keyed hashes of personal data, for finding a person's calls (`callscope
//! forget --subject`) without keeping their numbers: HMAC-SHA-256 of the
//! normalized value under a subject key that lives outside the workspace
//! (docs/design/pii.md, "Deletion on request").

use std::path::Path;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use callscope_core::error::Result;
use callscope_core::model::{PiiKind, SubjectDigest};

use crate::detect::Detector;
use crate::numerals;

/// The environment variable that names the subject key file; it wins over
/// the config's `subject_key_file`.
pub const SUBJECT_KEY_ENV: &str = "CALLSCOPE_SUBJECT_KEY_FILE";

/// The secret under which values are hashed. Without it the hashes of a
/// stolen workspace cannot be tested against guessed phone numbers.
#[derive(Clone)]
pub struct SubjectKey {
    bytes: [u8; 32],
}

impl std::fmt::Debug for SubjectKey {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("SubjectKey(..)")
    }
}

impl SubjectKey {
    /// A key from its 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> SubjectKey {
        SubjectKey { bytes }
    }

    /// Reads a key file (64 hex characters, as `callscope redact keygen`
    /// writes), refusing one other users can read.
    pub fn load(path: &Path) -> Result<SubjectKey> {
        Ok(SubjectKey::from_bytes(crate::seal::read_key_file(
            path,
            "subject key",
            SUBJECT_KEY_ENV,
        )?))
    }

    /// The keyed hash of a normalized value.
    pub fn digest(&self, normalized: &str) -> [u8; 32] {
        // HMAC accepts a key of any length: this cannot fail.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.bytes)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(b"callscope-subject-v1\0");
        mac.update(normalized.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// The digest of a detected value, with its kind.
    pub fn subject(&self, kind: PiiKind, value: &str) -> SubjectDigest {
        SubjectDigest {
            kind,
            digest: self.digest(&normalize(value)),
        }
    }

    /// The digests a value typed by a person may have been stored under:
    /// its normalized form, what the detector makes of it, and a mobile
    /// number without its country code.
    pub fn candidates(&self, detector: &Detector, value: &str) -> Vec<[u8; 32]> {
        let mut forms = vec![normalize(value)];
        for detection in detector.detect(value) {
            forms.push(normalize(&detection.value));
        }
        let stripped: Vec<String> = forms
            .iter()
            .filter_map(|form| {
                form.strip_prefix("0086")
                    .or_else(|| form.strip_prefix("86"))
                    .filter(|rest| rest.len() == 11)
                    .map(str::to_string)
            })
            .collect();
        forms.extend(stripped);
        forms.retain(|form| !form.is_empty());
        forms.sort();
        forms.dedup();
        forms.iter().map(|form| self.digest(form)).collect()
    }
}

/// The form a value is hashed in: an email address trimmed and lowercased;
/// anything else its digits (Chinese numerals and full-width digits
/// included) and an ID card's check character `X`, separators dropped.
pub fn normalize(value: &str) -> String {
    let value = value.trim();
    if value.contains('@') {
        return value.to_lowercase();
    }
    value
        .chars()
        .filter_map(|character| match character {
            'x' | 'X' | 'ｘ' | 'Ｘ' => Some('X'),
            other => numerals::digit_value(other).map(|digit| char::from(b'0' + digit)),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_number_in_any_form_has_one_digest() {
        let key = SubjectKey::from_bytes([7; 32]);
        let detector = Detector::new();
        let stored = key.subject(PiiKind::Mobile, "13800138000").digest;
        for typed in [
            "13800138000",
            "138-0013-8000",
            "+86 138 0013 8000",
            "一三八零零一三八零零零",
        ] {
            assert!(
                key.candidates(&detector, typed).contains(&stored),
                "{typed} should find the stored digest"
            );
        }
        assert!(!key.candidates(&detector, "13800138001").contains(&stored));
    }

    #[test]
    fn another_key_gives_another_digest() {
        let one = SubjectKey::from_bytes([1; 32]).digest("13800138000");
        let two = SubjectKey::from_bytes([2; 32]).digest("13800138000");
        assert_ne!(one, two);
        assert_eq!(normalize(" A.B@Example.COM "), "a.b@example.com");
        assert_eq!(normalize("11010519491231002x"), "11010519491231002X");
    }
}
