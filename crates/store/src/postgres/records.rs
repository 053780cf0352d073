//! Redaction records, retention and subject hashes on PostgreSQL, with the
//! embedded store's meaning (`SqliteStore`'s methods of the same names).
//! The tables come with the first migration (`MIGRATIONS[0]`).

use callscope_core::error::Result;
use callscope_core::model::{CallRedaction, SealedOriginal};

use crate::CallBatch;

use super::terms::sql_limit;
use super::{now_epoch, pg, PgStore};

/// The tables `compact` vacuums: those that calls, their redaction
/// records, results and cached terms are written to and replaced in.
const COMPACTED: &str =
    "calls, qa_results, sealed_originals, redacted_spans, subject_hashes, term_cache";

impl PgStore {
    /// Writes redaction records (spans, sealed originals, subject hashes)
    /// in one transaction, replacing the calls' earlier ones.
    pub fn put_call_redactions(&mut self, records: &[CallRedaction]) -> Result<()> {
        self.put_call_batch(&CallBatch {
            redactions: records,
            ..CallBatch::default()
        })
    }

    /// The calls that started before `epoch`, in call-id order (calls
    /// without a start time never).
    pub fn calls_started_before(&mut self, epoch: i64) -> Result<Vec<String>> {
        let rows = self
            .client()?
            .query(
                "SELECT call_id FROM calls WHERE started_epoch IS NOT NULL AND started_epoch < $1
                 ORDER BY call_id",
                &[&epoch],
            )
            .map_err(pg)?;
        Ok(rows.iter().map(|row| row.get(0)).collect())
    }

    pub fn sealed_originals_not_under(
        &mut self,
        key_id: &str,
        limit: usize,
    ) -> Result<Vec<SealedOriginal>> {
        let rows = self
            .client()?
            .query(
                "SELECT call_id, key_id, nonce, ciphertext FROM sealed_originals
                 WHERE key_id != $1 ORDER BY call_id LIMIT $2",
                &[&key_id, &sql_limit(limit)],
            )
            .map_err(pg)?;
        Ok(rows
            .iter()
            .map(|row| SealedOriginal {
                call_id: row.get(0),
                key_id: row.get(1),
                nonce: row.get(2),
                ciphertext: row.get(3),
            })
            .collect())
    }

    /// Replaces the sealed originals of calls that have one (an original
    /// for a call without one is not added), in one transaction.
    pub fn replace_sealed_originals(&mut self, sealed: &[SealedOriginal]) -> Result<()> {
        let now = now_epoch();
        self.in_transaction(|transaction| {
            let update = transaction
                .prepare(
                    "UPDATE sealed_originals SET key_id = $2, nonce = $3, ciphertext = $4,
                        sealed_at = $5 WHERE call_id = $1",
                )
                .map_err(pg)?;
            for original in sealed {
                transaction
                    .execute(
                        &update,
                        &[
                            &original.call_id,
                            &original.key_id,
                            &original.nonce,
                            &original.ciphertext,
                            &now,
                        ],
                    )
                    .map_err(pg)?;
            }
            Ok(())
        })
    }

    /// Calls with masked spans, and calls with sealed originals.
    pub fn redaction_counts(&mut self) -> Result<(u64, u64)> {
        let row = self
            .client()?
            .query_one(
                "SELECT (SELECT COUNT(*) FROM redacted_spans),
                        (SELECT COUNT(*) FROM sealed_originals)",
                &[],
            )
            .map_err(pg)?;
        Ok((row.get::<_, i64>(0) as u64, row.get::<_, i64>(1) as u64))
    }

    /// A plain `VACUUM` of the tables masked rows are replaced in: the old
    /// row versions (clear text, before masking) are removed and no query
    /// can reach them any more, while workers keep writing. Not `VACUUM
    /// FULL`, which would rewrite the files as SQLite's `VACUUM` does but
    /// locks each table against every worker of the shared database until
    /// it is done, and still could not reach the copies the server keeps
    /// outside the tables (WAL, archives, replicas, backups): removing
    /// those is the operator's part on a shared database. A table the
    /// connecting role does not own is skipped with the server's warning.
    pub fn compact(&mut self) -> Result<()> {
        // VACUUM cannot run inside a transaction: one simple statement.
        self.client()?
            .batch_execute(&format!("VACUUM {COMPACTED}"))
            .map_err(pg)
    }

    /// The calls in which a value with this keyed hash was found, in
    /// call-id order.
    pub fn calls_with_subject(&mut self, digest: &[u8; 32]) -> Result<Vec<String>> {
        let rows = self
            .client()?
            .query(
                "SELECT DISTINCT call_id FROM subject_hashes WHERE digest = $1 ORDER BY call_id",
                &[&digest.as_slice()],
            )
            .map_err(pg)?;
        Ok(rows.iter().map(|row| row.get(0)).collect())
    }

    pub fn subject_hash_count(&mut self) -> Result<u64> {
        let count: i64 = self
            .client()?
            .query_one("SELECT COUNT(*) FROM subject_hashes", &[])
            .map_err(pg)?
            .get(0);
        Ok(count as u64)
    }
}
