//! Keyed hashes of the personal data detected in each call (`forget
//! --subject`): a person's calls are found by the HMAC of their phone, ID or
//! card number under a secret kept outside the workspace, never by the value.

/// The tables of schema version 5.
pub(crate) const MIGRATION: &str = "CREATE TABLE subject_hashes (
        digest   BLOB NOT NULL,
        call_id  TEXT NOT NULL REFERENCES calls(call_id) ON DELETE CASCADE,
        kind     TEXT NOT NULL,
        PRIMARY KEY (digest, call_id, kind)
     ) WITHOUT ROWID;
     CREATE INDEX subject_hashes_call ON subject_hashes(call_id);
";
