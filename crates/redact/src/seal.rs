//! Sealing originals: the clear text of masked parts, encrypted with a key
//! that lives outside the workspace, so QA can re-score on what was really
//! said while nobody who reads the workspace can.
//!
//! XChaCha20-Poly1305 (RustCrypto `chacha20poly1305`): a random 24-byte
//! nonce per call, the call id as associated data (a sealed row copied onto
//! another call does not open), a key id (a hash of the key, not the key)
//! stored next to it so a wrong key is named as such. The key file holds 64
//! hex characters; `callscope redact keygen --out PATH` writes one with mode
//! 0600.

use std::path::Path;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::TryRngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use callscope_core::error::{Error, Result};
use callscope_core::model::SealedOriginal;

/// Version of the sealed payload's layout.
const PAYLOAD_VERSION: u32 = 1;

/// Associated-data prefix; the call id follows.
const AAD_PREFIX: &[u8] = b"callscope-sealed-original-v1\0";

/// A 256-bit seal key. Its `Debug` form shows only the key id.
#[derive(Clone)]
pub struct SealKey {
    bytes: [u8; 32],
    id: String,
}

impl std::fmt::Debug for SealKey {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("SealKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// Refuses a key file that its group or other users can read or write: a
/// key anyone on the machine can read protects nothing.
#[cfg(unix)]
fn refuse_shared_key_file(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let Ok(metadata) = std::fs::metadata(path) else {
        // A missing file is reported by the read, with what to do.
        return Ok(());
    };
    let mode = metadata.permissions().mode();
    if mode & 0o077 != 0 {
        return Err(Error::seal(format!(
            "the key file {} can be read by other users (mode {:o}); make it private \
             with `chmod 600 {}`",
            path.display(),
            mode & 0o777,
            path.display()
        )));
    }
    Ok(())
}

/// Reads a key file of 64 hex characters (a seal key or a subject key),
/// refusing one that others can read.
pub(crate) fn read_key_file(path: &Path, what: &str, env: &str) -> Result<[u8; 32]> {
    refuse_shared_key_file(path)?;
    let text = std::fs::read_to_string(path).map_err(|error| {
        Error::seal(format!(
            "cannot read the {what} {}: {error}; create one with \
             `callscope redact keygen --out {}` or fix {env}",
            path.display(),
            path.display()
        ))
    })?;
    unhex(text.trim())
        .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
        .ok_or_else(|| {
            Error::seal(format!(
                "{} is not a {what} (expected 64 hex characters, as \
                 `callscope redact keygen` writes)",
                path.display()
            ))
        })
}

#[cfg(not(unix))]
fn refuse_shared_key_file(_path: &Path) -> Result<()> {
    Ok(())
}

impl SealKey {
    /// A key from its 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> SealKey {
        let mut hasher = Sha256::new();
        hasher.update(b"callscope-seal-key-id\0");
        hasher.update(bytes);
        let id = hex(&hasher.finalize()[..8]);
        SealKey { bytes, id }
    }

    /// A new random key from the operating system's generator.
    pub fn generate() -> Result<SealKey> {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng
            .try_fill_bytes(&mut bytes)
            .map_err(|error| Error::seal(format!("no randomness from the system: {error}")))?;
        Ok(SealKey::from_bytes(bytes))
    }

    /// Reads a key file (64 hex characters, surrounding whitespace ignored).
    pub fn load(path: &Path) -> Result<SealKey> {
        Ok(SealKey::from_bytes(read_key_file(
            path,
            "seal key",
            "CALLSCOPE_SEAL_KEY_FILE",
        )?))
    }

    /// Writes the key to a new file readable by its owner only; refuses to
    /// overwrite an existing file (that would orphan what it sealed).
    pub fn write_new(&self, path: &Path) -> Result<()> {
        use std::io::Write;
        if let Some(parent) = path
            .parent()
            .filter(|parent| !parent.as_os_str().is_empty())
        {
            std::fs::create_dir_all(parent).map_err(|error| Error::io(parent, error))?;
        }
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(path).map_err(|error| {
            if error.kind() == std::io::ErrorKind::AlreadyExists {
                Error::seal(format!(
                    "{} already exists; a new key cannot open what the old one sealed, \
                     so pick another path (or delete the old key on purpose)",
                    path.display()
                ))
            } else {
                Error::io(path, error)
            }
        })?;
        writeln!(file, "{}", hex(&self.bytes)).map_err(|error| Error::io(path, error))?;
        file.sync_all().map_err(|error| Error::io(path, error))
    }

    /// The key's fingerprint (16 hex characters), stored with what it seals.
    pub fn id(&self) -> &str {
        &self.id
    }
}

/// One masked text and its original.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SealedText {
    /// Segment index, or the meta key.
    pub place: String,
    /// The text as stored (masked), to check the call was not changed since.
    pub masked: String,
    /// The original text.
    pub original: String,
}

/// The clear content of a sealed original.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SealedPayload {
    /// Layout version.
    pub version: u32,
    /// Masked segment texts (`place` is the segment index).
    pub segments: Vec<SealedText>,
    /// Masked meta values (`place` is the key).
    pub meta: Vec<SealedText>,
}

impl SealedPayload {
    /// An empty payload of the current version.
    pub fn new() -> SealedPayload {
        SealedPayload {
            version: PAYLOAD_VERSION,
            segments: Vec::new(),
            meta: Vec::new(),
        }
    }
}

impl Default for SealedPayload {
    fn default() -> SealedPayload {
        SealedPayload::new()
    }
}

fn associated_data(call_id: &str) -> Vec<u8> {
    let mut aad = AAD_PREFIX.to_vec();
    aad.extend_from_slice(call_id.as_bytes());
    aad
}

/// Encrypts `payload` for `call_id` with `key`.
pub fn seal(key: &SealKey, call_id: &str, payload: &SealedPayload) -> Result<SealedOriginal> {
    let plaintext = serde_json::to_vec(payload)
        .map_err(|error| Error::seal(format!("call {call_id}: {error}")))?;
    let mut nonce = [0u8; 24];
    rand::rngs::OsRng
        .try_fill_bytes(&mut nonce)
        .map_err(|error| Error::seal(format!("no randomness from the system: {error}")))?;
    let cipher = XChaCha20Poly1305::new((&key.bytes).into());
    let ciphertext = cipher
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: &plaintext,
                aad: &associated_data(call_id),
            },
        )
        .map_err(|_| Error::seal(format!("call {call_id}: encryption failed")))?;
    Ok(SealedOriginal {
        call_id: call_id.to_string(),
        key_id: key.id.clone(),
        nonce: nonce.to_vec(),
        ciphertext,
    })
}

/// Decrypts a sealed original; a wrong key or altered data is an error
/// that says which.
pub fn open(key: &SealKey, sealed: &SealedOriginal) -> Result<SealedPayload> {
    let call_id = &sealed.call_id;
    if sealed.key_id != key.id {
        return Err(Error::seal(format!(
            "call {call_id} was sealed with key {}, not with this key ({}); \
             point CALLSCOPE_SEAL_KEY_FILE at the key it was sealed with",
            sealed.key_id, key.id
        )));
    }
    if sealed.nonce.len() != 24 {
        return Err(Error::seal(format!(
            "call {call_id}: the sealed original is damaged (nonce of {} bytes)",
            sealed.nonce.len()
        )));
    }
    let cipher = XChaCha20Poly1305::new((&key.bytes).into());
    let plaintext = cipher
        .decrypt(
            XNonce::from_slice(&sealed.nonce),
            Payload {
                msg: &sealed.ciphertext,
                aad: &associated_data(call_id),
            },
        )
        .map_err(|_| {
            Error::seal(format!(
                "call {call_id}: the sealed original does not open with key {} \
                 (altered data, or sealed for another call); re-import the call to seal it again",
                key.id
            ))
        })?;
    let payload: SealedPayload = serde_json::from_slice(&plaintext)
        .map_err(|error| Error::seal(format!("call {call_id}: sealed payload: {error}")))?;
    if payload.version != PAYLOAD_VERSION {
        return Err(Error::seal(format!(
            "call {call_id}: sealed payload version {} is not {PAYLOAD_VERSION}; upgrade callscope",
            payload.version
        )));
    }
    Ok(payload)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 || !text.is_ascii() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|index| u8::from_str_radix(&text[index..index + 2], 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload() -> SealedPayload {
        SealedPayload {
            version: PAYLOAD_VERSION,
            segments: vec![SealedText {
                place: "1".to_string(),
                masked: "138****5678".to_string(),
                original: "13812345678".to_string(),
            }],
            meta: Vec::new(),
        }
    }

    #[test]
    fn seal_and_open_round_trip_and_hide_the_text() {
        let key = SealKey::generate().unwrap();
        let sealed = seal(&key, "C1", &payload()).unwrap();
        assert!(!String::from_utf8_lossy(&sealed.ciphertext).contains("13812345678"));
        assert_eq!(open(&key, &sealed).unwrap(), payload());
        let again = seal(&key, "C1", &payload()).unwrap();
        assert_ne!(again.nonce, sealed.nonce);
    }

    #[test]
    fn wrong_keys_other_calls_and_tampering_fail() {
        let key = SealKey::generate().unwrap();
        let other = SealKey::generate().unwrap();
        let sealed = seal(&key, "C1", &payload()).unwrap();
        let error = open(&other, &sealed).unwrap_err().to_string();
        assert!(error.contains("sealed with key"), "{error}");
        // Same id forged: the tag still fails.
        let mut forged = SealKey::from_bytes(other.bytes);
        forged.id = key.id.clone();
        assert!(open(&forged, &sealed)
            .unwrap_err()
            .to_string()
            .contains("does not open"));
        let mut moved = sealed.clone();
        moved.call_id = "C2".to_string();
        assert!(open(&key, &moved).is_err());
        let mut flipped = sealed.clone();
        flipped.ciphertext[0] ^= 1;
        assert!(open(&key, &flipped).is_err());
    }

    #[test]
    fn key_files() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("keys/seal.key");
        let key = SealKey::generate().unwrap();
        key.write_new(&path).unwrap();
        assert_eq!(SealKey::load(&path).unwrap().id(), key.id());
        assert!(key
            .write_new(&path)
            .unwrap_err()
            .to_string()
            .contains("already exists"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0);
            // A key others can read is refused, naming the fix.
            for shared in [0o640, 0o604, 0o620] {
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(shared)).unwrap();
                let error = SealKey::load(&path).unwrap_err().to_string();
                assert!(error.contains("chmod 600"), "{error}");
            }
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        std::fs::write(&path, "not a key").unwrap();
        assert!(SealKey::load(&path)
            .unwrap_err()
            .to_string()
            .contains("64 hex"));
        assert!(!format!("{key:?}").contains(&hex(&key.bytes)));
    }
}
