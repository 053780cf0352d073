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

use rusqlite::params;

use callscope_core::error::Result;
use callscope_core::model::SubjectDigest;

use crate::SqliteStore;

/// Replaces a call's subject hashes (inside the transaction that writes the
/// call's redaction record).
pub(crate) fn write(
    transaction: &rusqlite::Transaction<'_>,
    call_id: &str,
    subjects: &[SubjectDigest],
) -> Result<()> {
    transaction
        .prepare_cached("DELETE FROM subject_hashes WHERE call_id = ?1")?
        .execute([call_id])?;
    let mut insert = transaction.prepare_cached(
        "INSERT OR IGNORE INTO subject_hashes (digest, call_id, kind) VALUES (?1, ?2, ?3)",
    )?;
    for subject in subjects {
        insert.execute(params![
            subject.digest.as_slice(),
            call_id,
            subject.kind.as_str()
        ])?;
    }
    Ok(())
}

impl SqliteStore {
    pub fn calls_with_subject(&self, digest: &[u8; 32]) -> Result<Vec<String>> {
        let mut statement = self.connection.prepare_cached(
            "SELECT DISTINCT call_id FROM subject_hashes WHERE digest = ?1 ORDER BY call_id",
        )?;
        let rows = statement.query_map([digest.as_slice()], |row| row.get(0))?;
        Ok(rows.collect::<rusqlite::Result<Vec<String>>>()?)
    }

    pub fn subject_hash_count(&self) -> Result<u64> {
        Ok(self
            .connection
            .query_row("SELECT COUNT(*) FROM subject_hashes", [], |row| {
                row.get::<_, i64>(0)
            })? as u64)
    }
}
