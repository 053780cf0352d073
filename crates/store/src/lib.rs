//! The workspace store: the system of record for calls, transcripts and QA
//! results.
//!
//! Only this module knows SQL. Every other module goes through [`SqliteStore`]'s
//! operations, so that a PostgreSQL store for scale-out can implement the same
//! operations later. The schema is versioned with `PRAGMA user_version` and
//! migrated forward on open; a newer schema than this build knows is refused.
//!
//! Each call is one row holding its contract JSON (`body`) plus the columns
//! that filters need. A write of a call is one `INSERT OR REPLACE`, so a call
//! is either wholly there or not at all, whatever kills the process; writes are
//! batched in transactions for speed.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use chrono::NaiveDate;
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use callscope_core::error::{Error, Result};
use callscope_core::model::{Call, QaResult};

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = 8;

/// Migrations, index `i` takes the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 0 -> 1: calls and QA results.
    "CREATE TABLE calls (
        call_id        TEXT PRIMARY KEY NOT NULL,
        started_at     TEXT,
        started_epoch  INTEGER,
        local_date     TEXT,
        agent_id       TEXT,
        team           TEXT,
        queue          TEXT,
        duration       REAL NOT NULL,
        segment_count  INTEGER NOT NULL,
        asr_model      TEXT,
        audio_sha256   TEXT,
        body           TEXT NOT NULL,
        updated_at     INTEGER NOT NULL,
        change_seq     INTEGER NOT NULL,
        indexed_seq    INTEGER NOT NULL DEFAULT 0
     );
     CREATE INDEX calls_local_date ON calls(local_date);
     CREATE INDEX calls_agent ON calls(agent_id);
     CREATE INDEX calls_team ON calls(team);
     CREATE INDEX calls_unindexed ON calls(change_seq) WHERE change_seq > indexed_seq;
     CREATE TABLE sequence (value INTEGER NOT NULL);
     INSERT INTO sequence (value) VALUES (0);
     CREATE TABLE qa_results (
        call_id    TEXT NOT NULL REFERENCES calls(call_id) ON DELETE CASCADE,
        scorecard  TEXT NOT NULL,
        score      REAL NOT NULL,
        passed     INTEGER NOT NULL,
        fatal      INTEGER NOT NULL,
        body       TEXT NOT NULL,
        scored_at  INTEGER NOT NULL,
        PRIMARY KEY (call_id, scorecard)
     );
",
    // 1 -> 2: redaction. Sealed originals are read only by
    // `SqliteStore::sealed_original` (for QA re-scoring): no view, index or export
    // reads them. Spans hold positions and times, no personal data.
    "CREATE TABLE sealed_originals (
        call_id     TEXT PRIMARY KEY NOT NULL REFERENCES calls(call_id) ON DELETE CASCADE,
        key_id      TEXT NOT NULL,
        nonce       BLOB NOT NULL,
        ciphertext  BLOB NOT NULL,
        sealed_at   INTEGER NOT NULL
     );
     CREATE TABLE redacted_spans (
        call_id     TEXT PRIMARY KEY NOT NULL REFERENCES calls(call_id) ON DELETE CASCADE,
        spans       TEXT NOT NULL
     );
",
    // 2 -> 3: the digest's per-call term cache (customer-side term ids per
    // call, see src/digest/cache.rs). Triggers drop a call's cached terms
    // whenever the call is written, changed or deleted, so the cache can only
    // lag behind the calls, never contradict them.
    "CREATE TABLE term_vocab (
        id    INTEGER PRIMARY KEY NOT NULL,
        term  TEXT NOT NULL UNIQUE
     );
     CREATE TABLE term_cache (
        call_id    TEXT PRIMARY KEY NOT NULL,
        local_date TEXT,
        queue      TEXT,
        terms      BLOB NOT NULL,
        sentences  BLOB NOT NULL
     );
     CREATE TABLE term_cache_meta (key TEXT NOT NULL);
     -- Covering indexes for the digest's QA summary and alerts, which read
     -- the figures of every scored call in a date range: without them each
     -- row visits the call's and the result's (large) rows.
     CREATE INDEX calls_by_date_covering ON calls(local_date, call_id, agent_id, team, queue);
     CREATE INDEX qa_results_figures ON qa_results(call_id, scorecard, score, passed, fatal);
     CREATE TRIGGER term_cache_call_inserted AFTER INSERT ON calls BEGIN
        DELETE FROM term_cache WHERE call_id = NEW.call_id;
     END;
     CREATE TRIGGER term_cache_call_updated AFTER UPDATE OF body, local_date, queue ON calls BEGIN
        DELETE FROM term_cache WHERE call_id = OLD.call_id;
     END;
     CREATE TRIGGER term_cache_call_deleted AFTER DELETE ON calls BEGIN
        DELETE FROM term_cache WHERE call_id = OLD.call_id;
     END;
",
    // 3 -> 4: the change number of a call's last content write, so a QA
    // result computed from an older transcript is refused instead of stored.
    "ALTER TABLE calls ADD COLUMN content_seq INTEGER NOT NULL DEFAULT 0;
     UPDATE calls SET content_seq = change_seq;
",
    // 4 -> 5: keyed hashes of the personal data found in each call, so a
    // person's calls can be found (`forget --subject`) without the values.
    subjects::MIGRATION,
    // 5 -> 6: the web workspace's users, sessions and audit log.
    users::MIGRATION,
    // 6 -> 7: reviews (复核), appeals (申诉) and review assignments.
    reviews::MIGRATION,
    // 7 -> 8: scorecards kept in the store.
    scorecards::MIGRATION,
];

/// Which calls an operation looks at. Empty fields do not filter.
#[derive(Debug, Clone, Default)]
pub struct CallFilter {
    /// First local date, inclusive (the call's own time zone).
    pub from: Option<NaiveDate>,
    /// Last local date, inclusive.
    pub to: Option<NaiveDate>,
    /// Only this agent.
    pub agent_id: Option<String>,
    /// Only this team.
    pub team: Option<String>,
    /// Only this queue.
    pub queue: Option<String>,
    /// Only these calls.
    pub call_ids: Vec<String>,
}

/// What `callscope stats` reports about a workspace.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Stats {
    /// Number of calls.
    pub calls: u64,
    /// Hours of recorded calls (sum of durations).
    pub hours: f64,
    /// Distinct agents.
    pub agents: u64,
    /// Distinct teams.
    pub teams: u64,
    /// Distinct queues.
    pub queues: u64,
    /// Transcript segments in all calls.
    pub segments: u64,
    /// Earliest `started_at`.
    pub from: Option<String>,
    /// Latest `started_at`.
    pub to: Option<String>,
    /// Calls with at least one QA result.
    pub scored_calls: u64,
    /// Calls whose search-index document is up to date.
    pub indexed_calls: u64,
}

/// A stored QA result with the columns filters need.
#[derive(Debug, Clone)]
pub struct StoredQa {
    /// The call's local date.
    pub local_date: Option<String>,
    /// The call's agent.
    pub agent_id: Option<String>,
    /// The call's team.
    pub team: Option<String>,
    /// The result as the contract has it.
    pub result: QaResult,
}

/// The workspace database.
pub(crate) struct SqliteStore {
    connection: Connection,
    path: PathBuf,
}

/// Columns derived from a call for filtering, computed before the write.
struct CallColumns {
    started_epoch: Option<i64>,
    local_date: Option<String>,
}

fn call_columns(call: &Call) -> Result<CallColumns> {
    let Some(started_at) = &call.started_at else {
        return Ok(CallColumns {
            started_epoch: None,
            local_date: None,
        });
    };
    let parsed = parse_timestamp(started_at).ok_or_else(|| {
        Error::Usage(format!(
            "call {}: started_at '{started_at}' is not an RFC 3339 timestamp with offset \
             (e.g. 2026-09-01T09:30:00+08:00)",
            call.call_id
        ))
    })?;
    Ok(CallColumns {
        started_epoch: Some(parsed.timestamp()),
        local_date: Some(parsed.date_naive().to_string()),
    })
}

pub use callscope_core::model::parse_timestamp;
pub use dispatch::Store;
pub use postgres::{is_postgres_url, testing};

fn now_epoch() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|duration| duration.as_secs() as i64)
        .unwrap_or(0)
}

impl SqliteStore {
    /// Opens (creating if needed) the store at `path` and migrates its schema.
    pub fn open(path: &Path) -> Result<SqliteStore> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|error| Error::io(parent, error))?;
        }
        let connection = Connection::open(path).map_err(|error| {
            Error::Store(format!(
                "cannot open {}: {error}; check that the workspace folder is writable",
                path.display()
            ))
        })?;
        SqliteStore::setup(connection, path.to_path_buf())
    }

    /// Opens a throwaway store in memory (for `qa --input` and tests).
    pub fn open_in_memory() -> Result<SqliteStore> {
        SqliteStore::setup(Connection::open_in_memory()?, PathBuf::from(":memory:"))
    }

    fn setup(connection: Connection, path: PathBuf) -> Result<SqliteStore> {
        connection.busy_timeout(std::time::Duration::from_secs(30))?;
        // Switching a fresh file to WAL while another process opens it can
        // answer "locked" at once, without the busy handler: retry.
        retry_while_busy(|| {
            connection.execute_batch(
                "PRAGMA journal_mode = WAL;
                 PRAGMA synchronous = NORMAL;
                 PRAGMA foreign_keys = ON;
                 PRAGMA temp_store = MEMORY;",
            )
        })?;
        let mut store = SqliteStore { connection, path };
        store.migrate()?;
        Ok(store)
    }

    /// Brings the schema up to this build's version. The version is read
    /// under the write lock (an immediate transaction), so two processes
    /// opening a fresh workspace at once migrate it once: the second waits
    /// and then finds it done.
    fn migrate(&mut self) -> Result<()> {
        let current = |connection: &Connection| -> Result<i64> {
            Ok(connection.query_row("PRAGMA user_version", [], |row| row.get(0))?)
        };
        if current(&self.connection)? == SCHEMA_VERSION {
            return Ok(());
        }
        retry_while_busy(|| self.connection.execute_batch("BEGIN IMMEDIATE"))?;
        let migrated = self.migrate_locked();
        match migrated {
            Ok(()) => retry_while_busy(|| self.connection.execute_batch("COMMIT"))?,
            Err(_) => {
                let _ = self.connection.execute_batch("ROLLBACK");
            }
        }
        migrated
    }

    /// [`SqliteStore::migrate`] inside its immediate transaction.
    fn migrate_locked(&self) -> Result<()> {
        let version: i64 = self
            .connection
            .query_row("PRAGMA user_version", [], |row| row.get(0))?;
        if version > SCHEMA_VERSION {
            return Err(Error::Store(format!(
                "{} has schema version {version}, newer than this build's {SCHEMA_VERSION}: \
                 upgrade callscope",
                self.path.display()
            )));
        }
        for migration in MIGRATIONS.iter().skip(version as usize) {
            self.connection.execute_batch(migration)?;
        }
        self.connection
            .pragma_update(None, "user_version", SCHEMA_VERSION)?;
        Ok(())
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn put_calls(&mut self, calls: &[Call]) -> Result<()> {
        self.put_call_batch(&CallBatch {
            calls,
            ..CallBatch::default()
        })
    }

    pub fn put_call_batch(&mut self, batch: &CallBatch<'_>) -> Result<()> {
        let now = now_epoch();
        let transaction = self.connection.transaction()?;
        let sequence = next_sequence(&transaction)?;
        write_calls(&transaction, batch.calls, sequence, now)?;
        write_redactions(&transaction, batch.redactions, now)?;
        write_qa_results(&transaction, batch.qa_results, sequence, now)?;
        transaction.commit()?;
        Ok(())
    }

    pub fn get_call(&self, call_id: &str) -> Result<Option<Call>> {
        let body: Option<String> = self
            .connection
            .query_row(
                "SELECT body FROM calls WHERE call_id = ?1",
                [call_id],
                |row| row.get(0),
            )
            .optional()?;
        body.map(|body| decode_call(&body)).transpose()
    }

    pub fn transcription_of(&self, call_id: &str) -> Result<Option<(String, String)>> {
        Ok(self
            .connection
            .query_row(
                "SELECT audio_sha256, asr_model FROM calls
                 WHERE call_id = ?1 AND audio_sha256 IS NOT NULL AND asr_model IS NOT NULL",
                [call_id],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()?)
    }

    pub fn for_each_call(
        &self,
        filter: &CallFilter,
        mut visit: impl FnMut(Call) -> Result<()>,
    ) -> Result<u64> {
        let (where_clause, values) = filter_sql(filter, "");
        let sql = format!("SELECT body FROM calls {where_clause} ORDER BY call_id");
        let mut statement = self.connection.prepare(&sql)?;
        let mut rows = statement.query(rusqlite::params_from_iter(values.iter()))?;
        let mut count = 0;
        while let Some(row) = rows.next()? {
            let body: String = row.get(0)?;
            visit(decode_call(&body)?)?;
            count += 1;
        }
        Ok(count)
    }

    pub fn for_each_versioned_call_batch(
        &self,
        filter: &CallFilter,
        batch_size: usize,
        mut visit: impl FnMut(Vec<(String, i64)>) -> Result<()>,
    ) -> Result<u64> {
        let (where_clause, values) = filter_sql(filter, "");
        let sql = format!("SELECT body, content_seq FROM calls {where_clause} ORDER BY call_id");
        let mut statement = self.connection.prepare(&sql)?;
        let mut rows = statement.query(rusqlite::params_from_iter(values.iter()))?;
        let mut batch = Vec::with_capacity(batch_size);
        let mut count = 0;
        while let Some(row) = rows.next()? {
            batch.push((row.get::<_, String>(0)?, row.get::<_, i64>(1)?));
            count += 1;
            if batch.len() == batch_size {
                visit(std::mem::replace(
                    &mut batch,
                    Vec::with_capacity(batch_size),
                ))?;
            }
        }
        if !batch.is_empty() {
            visit(batch)?;
        }
        Ok(count)
    }

    pub fn count_calls(&self, filter: &CallFilter) -> Result<u64> {
        let (where_clause, values) = filter_sql(filter, "");
        let sql = format!("SELECT COUNT(*) FROM calls {where_clause}");
        Ok(self
            .connection
            .query_row(&sql, rusqlite::params_from_iter(values.iter()), |row| {
                row.get::<_, i64>(0)
            })? as u64)
    }

    pub fn stats(&self) -> Result<Stats> {
        let mut stats = self.connection.query_row(
            "SELECT COUNT(*), COALESCE(SUM(duration), 0), COUNT(DISTINCT agent_id),
                    COUNT(DISTINCT team), COUNT(DISTINCT queue),
                    COALESCE(SUM(segment_count), 0), SUM(change_seq <= indexed_seq)
             FROM calls",
            [],
            |row| {
                Ok(Stats {
                    calls: row.get::<_, i64>(0)? as u64,
                    hours: row.get::<_, f64>(1)? / 3600.0,
                    agents: row.get::<_, i64>(2)? as u64,
                    teams: row.get::<_, i64>(3)? as u64,
                    queues: row.get::<_, i64>(4)? as u64,
                    segments: row.get::<_, i64>(5)? as u64,
                    from: None,
                    to: None,
                    scored_calls: 0,
                    indexed_calls: row.get::<_, Option<i64>>(6)?.unwrap_or(0) as u64,
                })
            },
        )?;
        stats.from = self
            .connection
            .query_row(
                "SELECT started_at FROM calls WHERE started_epoch IS NOT NULL
                 ORDER BY started_epoch ASC LIMIT 1",
                [],
                |row| row.get(0),
            )
            .optional()?;
        stats.to = self
            .connection
            .query_row(
                "SELECT started_at FROM calls WHERE started_epoch IS NOT NULL
                 ORDER BY started_epoch DESC LIMIT 1",
                [],
                |row| row.get(0),
            )
            .optional()?;
        stats.scored_calls = self.connection.query_row(
            "SELECT COUNT(DISTINCT call_id) FROM qa_results",
            [],
            |row| row.get::<_, i64>(0),
        )? as u64;
        Ok(stats)
    }

    pub fn put_qa_results(&mut self, results: &[QaResult]) -> Result<()> {
        self.put_call_batch(&CallBatch {
            qa_results: results,
            ..CallBatch::default()
        })
    }

    pub fn put_qa_results_if_current(
        &mut self,
        results: &[QaResult],
        versions: &std::collections::HashMap<String, i64>,
    ) -> Result<Vec<String>> {
        let now = now_epoch();
        let transaction = self.connection.transaction()?;
        let mut stale = Vec::new();
        let mut current = Vec::with_capacity(results.len());
        {
            let mut version_of =
                transaction.prepare_cached("SELECT content_seq FROM calls WHERE call_id = ?1")?;
            let mut known: std::collections::HashMap<&str, bool> = std::collections::HashMap::new();
            for result in results {
                let call_id = result.call_id.as_str();
                let is_current = match known.get(call_id) {
                    Some(is_current) => *is_current,
                    None => {
                        let stored: Option<i64> = version_of
                            .query_row([call_id], |row| row.get(0))
                            .optional()?;
                        let is_current =
                            stored.is_some() && stored == versions.get(call_id).copied();
                        if !is_current {
                            stale.push(call_id.to_string());
                        }
                        known.insert(call_id, is_current);
                        is_current
                    }
                };
                if is_current {
                    current.push(result.clone());
                }
            }
        }
        let sequence = next_sequence(&transaction)?;
        write_qa_results(&transaction, &current, sequence, now)?;
        transaction.commit()?;
        Ok(stale)
    }

    pub fn qa_results_of(&self, call_id: &str) -> Result<Vec<QaResult>> {
        let mut statement = self
            .connection
            .prepare_cached("SELECT body FROM qa_results WHERE call_id = ?1 ORDER BY scorecard")?;
        let rows = statement.query_map([call_id], |row| row.get::<_, String>(0))?;
        let mut results = Vec::new();
        for body in rows {
            results.push(decode_qa(&body?)?);
        }
        Ok(results)
    }

    pub fn for_each_qa_result(
        &self,
        filter: &CallFilter,
        mut visit: impl FnMut(StoredQa) -> Result<()>,
    ) -> Result<u64> {
        let (where_clause, values) = filter_sql(filter, "c.");
        let sql = format!(
            "SELECT c.local_date, c.agent_id, c.team, q.body
             FROM qa_results q JOIN calls c ON c.call_id = q.call_id
             {where_clause} ORDER BY q.call_id, q.scorecard"
        );
        let mut statement = self.connection.prepare(&sql)?;
        let mut rows = statement.query(rusqlite::params_from_iter(values.iter()))?;
        let mut count = 0;
        while let Some(row) = rows.next()? {
            let body: String = row.get(3)?;
            visit(StoredQa {
                local_date: row.get(0)?,
                agent_id: row.get(1)?,
                team: row.get(2)?,
                result: decode_qa(&body)?,
            })?;
            count += 1;
        }
        Ok(count)
    }

    pub fn unindexed_calls(&self, limit: usize) -> Result<Vec<(Call, i64)>> {
        self.unindexed_calls_within(limit, usize::MAX)
    }

    pub fn unindexed_calls_within(
        &self,
        limit: usize,
        max_bytes: usize,
    ) -> Result<Vec<(Call, i64)>> {
        let mut statement = self.connection.prepare_cached(
            "SELECT body, change_seq FROM calls WHERE change_seq > indexed_seq
             ORDER BY change_seq LIMIT ?1",
        )?;
        let mut rows = statement.query([limit as i64])?;
        let (mut calls, mut bytes) = (Vec::new(), 0usize);
        while let Some(row) = rows.next()? {
            let body: String = row.get(0)?;
            bytes = bytes.saturating_add(body.len());
            calls.push((decode_call(&body)?, row.get(1)?));
            if bytes >= max_bytes {
                break;
            }
        }
        Ok(calls)
    }

    pub fn count_unindexed(&self) -> Result<u64> {
        Ok(self.connection.query_row(
            "SELECT COUNT(*) FROM calls WHERE change_seq > indexed_seq",
            [],
            |row| row.get::<_, i64>(0),
        )? as u64)
    }

    pub fn mark_indexed(&mut self, indexed: &[(String, i64)]) -> Result<()> {
        let transaction = self.connection.transaction()?;
        {
            let mut mark = transaction.prepare_cached(
                "UPDATE calls SET indexed_seq = ?2 WHERE call_id = ?1 AND indexed_seq < ?2",
            )?;
            for (call_id, change) in indexed {
                mark.execute(params![call_id, change])?;
            }
        }
        transaction.commit()?;
        Ok(())
    }

    pub fn mark_all_unindexed(&mut self) -> Result<u64> {
        Ok(self
            .connection
            .execute("UPDATE calls SET indexed_seq = 0", [])? as u64)
    }

    pub fn put_call_redactions(
        &mut self,
        records: &[callscope_core::model::CallRedaction],
    ) -> Result<()> {
        self.put_call_batch(&CallBatch {
            redactions: records,
            ..CallBatch::default()
        })
    }

    pub fn sealed_original(
        &self,
        call_id: &str,
    ) -> Result<Option<callscope_core::model::SealedOriginal>> {
        Ok(self
            .connection
            .query_row(
                "SELECT key_id, nonce, ciphertext FROM sealed_originals WHERE call_id = ?1",
                [call_id],
                |row| {
                    Ok(callscope_core::model::SealedOriginal {
                        call_id: call_id.to_string(),
                        key_id: row.get(0)?,
                        nonce: row.get(1)?,
                        ciphertext: row.get(2)?,
                    })
                },
            )
            .optional()?)
    }

    pub fn forget_calls(&mut self, call_ids: &[String]) -> Result<Forgotten> {
        self.connection.pragma_update(None, "secure_delete", true)?;
        let mut forgotten = Forgotten::default();
        let transaction = self.connection.transaction()?;
        {
            let count = |table: &str, call_id: &str| -> Result<u64> {
                Ok(transaction.query_row(
                    &format!("SELECT COUNT(*) FROM {table} WHERE call_id = ?1"),
                    [call_id],
                    |row| row.get::<_, i64>(0),
                )? as u64)
            };
            for call_id in call_ids {
                if count("calls", call_id)? == 0 {
                    continue;
                }
                forgotten.qa_results += count("qa_results", call_id)?;
                forgotten.sealed_originals += count("sealed_originals", call_id)?;
                forgotten.redaction_records += count("redacted_spans", call_id)?;
                forgotten.cached_terms += count("term_cache", call_id)?;
                reviews::forget_call(&transaction, call_id, &mut forgotten)?;
                forgotten.subject_hashes += count("subject_hashes", call_id)?;
                // The rest goes with the call (foreign keys, the term cache's
                // trigger).
                transaction.execute("DELETE FROM calls WHERE call_id = ?1", [call_id])?;
                forgotten.calls.push(call_id.clone());
            }
        }
        transaction.commit()?;
        // Older copies of these rows can linger in pages freed by earlier
        // writes (a result replaced, a cache row recomputed): rewrite the
        // file, then empty the write-ahead log.
        if !forgotten.calls.is_empty() {
            self.connection.execute_batch("VACUUM")?;
        }
        self.connection
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(forgotten)
    }

    pub fn calls_started_before(&self, epoch: i64) -> Result<Vec<String>> {
        let mut statement = self.connection.prepare(
            "SELECT call_id FROM calls WHERE started_epoch IS NOT NULL AND started_epoch < ?1
             ORDER BY call_id",
        )?;
        let rows = statement.query_map([epoch], |row| row.get::<_, String>(0))?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    pub fn sealed_originals_not_under(
        &self,
        key_id: &str,
        limit: usize,
    ) -> Result<Vec<callscope_core::model::SealedOriginal>> {
        let mut statement = self.connection.prepare_cached(
            "SELECT call_id, key_id, nonce, ciphertext FROM sealed_originals
             WHERE key_id != ?1 ORDER BY call_id LIMIT ?2",
        )?;
        let rows = statement.query_map(params![key_id, limit as i64], |row| {
            Ok(callscope_core::model::SealedOriginal {
                call_id: row.get(0)?,
                key_id: row.get(1)?,
                nonce: row.get(2)?,
                ciphertext: row.get(3)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    pub fn replace_sealed_originals(
        &mut self,
        sealed: &[callscope_core::model::SealedOriginal],
    ) -> Result<()> {
        let now = now_epoch();
        let transaction = self.connection.transaction()?;
        {
            let mut update = transaction.prepare_cached(
                "UPDATE sealed_originals SET key_id = ?2, nonce = ?3, ciphertext = ?4,
                    sealed_at = ?5 WHERE call_id = ?1",
            )?;
            for original in sealed {
                update.execute(params![
                    original.call_id,
                    original.key_id,
                    original.nonce,
                    original.ciphertext,
                    now
                ])?;
            }
        }
        transaction.commit()?;
        Ok(())
    }

    pub fn redacted_spans(
        &self,
        call_id: &str,
    ) -> Result<Vec<callscope_core::model::RedactedSpan>> {
        let spans: Option<String> = self
            .connection
            .query_row(
                "SELECT spans FROM redacted_spans WHERE call_id = ?1",
                [call_id],
                |row| row.get(0),
            )
            .optional()?;
        match spans {
            None => Ok(Vec::new()),
            Some(spans) => serde_json::from_str(&spans).map_err(|error| {
                Error::Store(format!(
                    "the redacted spans of call {call_id} do not decode ({error}); import or \
                     transcribe it again"
                ))
            }),
        }
    }

    pub fn redaction_counts(&self) -> Result<(u64, u64)> {
        let spans: i64 =
            self.connection
                .query_row("SELECT COUNT(*) FROM redacted_spans", [], |row| row.get(0))?;
        let sealed: i64 =
            self.connection
                .query_row("SELECT COUNT(*) FROM sealed_originals", [], |row| {
                    row.get(0)
                })?;
        Ok((spans as u64, sealed as u64))
    }

    pub fn compact(&mut self) -> Result<()> {
        let checkpoint = |connection: &Connection| {
            connection.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        };
        checkpoint(&self.connection)?;
        self.connection.execute_batch("VACUUM")?;
        checkpoint(&self.connection)?;
        Ok(())
    }

    // The digest's per-call term cache (migration 2 -> 3). The digest owns
    // what the blobs mean; the store keeps them consistent with the calls.

    pub fn local_date_range(&self) -> Result<Option<(String, String)>> {
        let range: (Option<String>, Option<String>) = self.connection.query_row(
            "SELECT MIN(local_date), MAX(local_date) FROM calls WHERE local_date IS NOT NULL",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )?;
        Ok(match range {
            (Some(first), Some(last)) => Some((first, last)),
            _ => None,
        })
    }

    pub fn term_cache_key(&self) -> Result<Option<String>> {
        Ok(self
            .connection
            .query_row("SELECT key FROM term_cache_meta LIMIT 1", [], |row| {
                row.get(0)
            })
            .optional()?)
    }

    pub fn reset_term_cache(&mut self, key: &str) -> Result<()> {
        let transaction = self.connection.transaction()?;
        transaction.execute_batch(
            "DELETE FROM term_cache; DELETE FROM term_vocab; DELETE FROM term_cache_meta;",
        )?;
        transaction.execute("INSERT INTO term_cache_meta (key) VALUES (?1)", [key])?;
        transaction.commit()?;
        Ok(())
    }

    pub fn term_vocabulary(&self) -> Result<Vec<(u32, String)>> {
        let mut statement = self
            .connection
            .prepare("SELECT id, term FROM term_vocab ORDER BY id")?;
        let rows =
            statement.query_map([], |row| Ok((row.get::<_, i64>(0)? as u32, row.get(1)?)))?;
        let mut vocabulary = Vec::new();
        for row in rows {
            vocabulary.push(row?);
        }
        Ok(vocabulary)
    }

    pub fn count_calls_without_terms(&self) -> Result<u64> {
        Ok(self.connection.query_row(
            "SELECT COUNT(*) FROM calls c
             WHERE NOT EXISTS (SELECT 1 FROM term_cache t WHERE t.call_id = c.call_id)",
            [],
            |row| row.get::<_, i64>(0),
        )? as u64)
    }

    pub fn calls_without_terms(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, i64, String)>> {
        let mut statement = self.connection.prepare_cached(
            "SELECT c.call_id, c.change_seq, c.body FROM calls c
             WHERE c.call_id > ?1
               AND NOT EXISTS (SELECT 1 FROM term_cache t WHERE t.call_id = c.call_id)
             ORDER BY c.call_id LIMIT ?2",
        )?;
        let rows = statement.query_map(params![after.unwrap_or(""), limit as i64], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
        })?;
        let mut calls = Vec::with_capacity(limit);
        for row in rows {
            calls.push(row?);
        }
        Ok(calls)
    }

    pub fn put_cached_terms(
        &mut self,
        new_terms: &[(u32, String)],
        rows: &[(String, i64, Vec<u8>, Vec<u8>)],
    ) -> Result<Option<u64>> {
        let transaction = self.connection.transaction()?;
        let mut written = 0;
        {
            let mut vocabulary = transaction
                .prepare_cached("INSERT OR IGNORE INTO term_vocab (id, term) VALUES (?1, ?2)")?;
            let mut check =
                transaction.prepare_cached("SELECT term FROM term_vocab WHERE id = ?1")?;
            for (id, term) in new_terms {
                if vocabulary.execute(params![i64::from(*id), term])? == 1 {
                    continue;
                }
                let holder: Option<String> = check
                    .query_row([i64::from(*id)], |row| row.get(0))
                    .optional()?;
                if holder.as_deref() != Some(term.as_str()) {
                    return Ok(None);
                }
            }
            let mut insert = transaction.prepare_cached(
                "INSERT OR REPLACE INTO term_cache (call_id, local_date, queue, terms, sentences)
                 SELECT c.call_id, c.local_date, c.queue, ?3, ?4 FROM calls c
                 WHERE c.call_id = ?1 AND c.change_seq = ?2",
            )?;
            for (call_id, change, terms, sentences) in rows {
                written += insert.execute(params![call_id, change, terms, sentences])? as u64;
            }
        }
        transaction.commit()?;
        Ok(Some(written))
    }

    pub fn for_each_cached_terms(
        &self,
        filter: &CallFilter,
        with_sentences: bool,
        mut visit: impl FnMut(i64, &str, &[u8], &[u8]) -> Result<()>,
    ) -> Result<u64> {
        // The cache holds dates and queues; agents and teams come from the
        // calls table.
        let cached = CallFilter {
            from: filter.from,
            to: filter.to,
            queue: filter.queue.clone(),
            ..CallFilter::default()
        };
        let (mut where_clause, mut values) = filter_sql(&cached, "");
        if filter.agent_id.is_some() || filter.team.is_some() {
            let by_call = CallFilter {
                agent_id: filter.agent_id.clone(),
                team: filter.team.clone(),
                ..CallFilter::default()
            };
            let (calls_clause, calls_values) = filter_sql(&by_call, "");
            // Renumber the subquery's placeholders after the cache's own.
            let offset = values.len();
            let mut renumbered = calls_clause;
            for index in (1..=calls_values.len()).rev() {
                renumbered =
                    renumbered.replace(&format!("?{index}"), &format!("?{}", index + offset));
            }
            let joiner = if where_clause.is_empty() {
                "WHERE"
            } else {
                " AND"
            };
            where_clause.push_str(&format!(
                "{joiner} call_id IN (SELECT call_id FROM calls {renumbered})"
            ));
            values.extend(calls_values);
        }
        let sentences = if with_sentences { "sentences" } else { "x''" };
        let sql =
            format!("SELECT rowid, local_date, terms, {sentences} FROM term_cache {where_clause}");
        let mut statement = self.connection.prepare(&sql)?;
        let mut rows = statement.query(rusqlite::params_from_iter(values.iter()))?;
        let mut count = 0;
        while let Some(row) = rows.next()? {
            let local_date = match row.get_ref(1)? {
                rusqlite::types::ValueRef::Text(text) => std::str::from_utf8(text).unwrap_or(""),
                _ => "",
            };
            visit(
                row.get(0)?,
                local_date,
                row.get_ref(2)?.as_blob().map_err(rusqlite::Error::from)?,
                row.get_ref(3)?.as_blob().map_err(rusqlite::Error::from)?,
            )?;
            count += 1;
        }
        Ok(count)
    }

    pub fn terms_by_id(&self, ids: &[u32]) -> Result<std::collections::HashMap<u32, String>> {
        let mut terms = std::collections::HashMap::with_capacity(ids.len());
        let mut statement = self
            .connection
            .prepare_cached("SELECT term FROM term_vocab WHERE id = ?1")?;
        for id in ids {
            if let Some(term) = statement
                .query_row([i64::from(*id)], |row| row.get::<_, String>(0))
                .optional()?
            {
                terms.insert(*id, term);
            }
        }
        Ok(terms)
    }

    pub fn term_id(&self, term: &str) -> Result<Option<u32>> {
        Ok(self
            .connection
            .prepare_cached("SELECT id FROM term_vocab WHERE term = ?1")?
            .query_row([term], |row| row.get::<_, i64>(0))
            .optional()?
            .map(|id| id as u32))
    }

    pub fn cached_terms_call_ids(
        &self,
        rows: &[i64],
    ) -> Result<std::collections::HashMap<i64, String>> {
        let mut call_ids = std::collections::HashMap::with_capacity(rows.len());
        let mut statement = self
            .connection
            .prepare_cached("SELECT call_id FROM term_cache WHERE rowid = ?1")?;
        for row in rows {
            if let Some(call_id) = statement
                .query_row([row], |found| found.get::<_, String>(0))
                .optional()?
            {
                call_ids.insert(*row, call_id);
            }
        }
        Ok(call_ids)
    }

    pub fn for_each_qa_figures(
        &self,
        filter: &CallFilter,
        with_body: bool,
        mut visit: impl FnMut(callscope_core::model::QaFigures) -> Result<()>,
    ) -> Result<u64> {
        let (where_clause, values) = filter_sql(filter, "c.");
        let body = if with_body { "q.body" } else { "NULL" };
        let sql = format!(
            "SELECT q.call_id, c.local_date, c.agent_id, c.team, q.scorecard, q.score,
                    q.passed, q.fatal, {body}
             FROM qa_results q JOIN calls c ON c.call_id = q.call_id
             {where_clause} ORDER BY c.local_date, c.call_id, q.scorecard"
        );
        let mut statement = self.connection.prepare(&sql)?;
        let mut rows = statement.query(rusqlite::params_from_iter(values.iter()))?;
        let mut count = 0;
        while let Some(row) = rows.next()? {
            visit(callscope_core::model::QaFigures {
                call_id: row.get(0)?,
                local_date: row.get(1)?,
                agent_id: row.get(2)?,
                team: row.get(3)?,
                scorecard: row.get(4)?,
                score: row.get(5)?,
                passed: row.get(6)?,
                fatal: row.get(7)?,
                body: row.get(8)?,
            })?;
            count += 1;
        }
        Ok(count)
    }
}

/// Takes the next change number; every write transaction takes one.
/// What [`SqliteStore::forget_calls`] removed.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Forgotten {
    /// The calls deleted (those asked for that the store held).
    pub calls: Vec<String>,
    /// Their QA results.
    pub qa_results: u64,
    /// Their sealed originals.
    pub sealed_originals: u64,
    /// Their redaction records (masked spans).
    pub redaction_records: u64,
    /// Their cached digest terms.
    pub cached_terms: u64,
    /// Their reviews (复核).
    pub reviews: u64,
    /// Their appeals (申诉).
    pub appeals: u64,
    /// Their review-queue assignments.
    pub review_assignments: u64,
    /// Their keyed hashes of personal data (`forget --subject`).
    pub subject_hashes: u64,
}

/// Calls to write with everything that belongs to them, in one
/// transaction ([`SqliteStore::put_call_batch`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct CallBatch<'a> {
    /// The calls (masked as the policy says), replacing calls with the same
    /// id.
    pub calls: &'a [Call],
    /// What redaction did to them: spans and sealed originals.
    pub redactions: &'a [callscope_core::model::CallRedaction],
    /// QA results to store beside them.
    pub qa_results: &'a [QaResult],
}

fn write_calls(
    transaction: &rusqlite::Transaction<'_>,
    calls: &[Call],
    sequence: i64,
    now: i64,
) -> Result<()> {
    let mut insert = transaction.prepare_cached(
        "INSERT OR REPLACE INTO calls (call_id, started_at, started_epoch, local_date,
            agent_id, team, queue, duration, segment_count, asr_model, audio_sha256,
            body, updated_at, change_seq, indexed_seq, content_seq)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, 0, ?14)",
    )?;
    for call in calls {
        let body = serde_json::to_string(call)
            .map_err(|error| Error::Store(format!("call {}: {error}", call.call_id)))?;
        let columns = call_columns(call)?;
        insert.execute(params![
            call.call_id,
            call.started_at,
            columns.started_epoch,
            columns.local_date,
            call.agent_id,
            call.team,
            call.queue,
            call.effective_duration(),
            call.segments.len() as i64,
            call.asr_model,
            call.audio_sha256,
            body,
            now,
            sequence,
        ])?;
    }
    Ok(())
}

fn write_redactions(
    transaction: &rusqlite::Transaction<'_>,
    records: &[callscope_core::model::CallRedaction],
    now: i64,
) -> Result<()> {
    let mut clear_sealed =
        transaction.prepare_cached("DELETE FROM sealed_originals WHERE call_id = ?1")?;
    let mut clear_spans =
        transaction.prepare_cached("DELETE FROM redacted_spans WHERE call_id = ?1")?;
    let mut insert_sealed = transaction.prepare_cached(
        "INSERT INTO sealed_originals (call_id, key_id, nonce, ciphertext, sealed_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    let mut insert_spans = transaction
        .prepare_cached("INSERT INTO redacted_spans (call_id, spans) VALUES (?1, ?2)")?;
    for record in records {
        clear_sealed.execute([&record.call_id])?;
        clear_spans.execute([&record.call_id])?;
        subjects::write(transaction, &record.call_id, &record.subjects)?;
        if !record.spans.is_empty() {
            let spans = serde_json::to_string(&record.spans)
                .map_err(|error| Error::Store(format!("call {}: {error}", record.call_id)))?;
            insert_spans.execute(params![record.call_id, spans])?;
        }
        if let Some(sealed) = &record.sealed {
            insert_sealed.execute(params![
                sealed.call_id,
                sealed.key_id,
                sealed.nonce,
                sealed.ciphertext,
                now
            ])?;
        }
    }
    Ok(())
}

fn write_qa_results(
    transaction: &rusqlite::Transaction<'_>,
    results: &[QaResult],
    sequence: i64,
    now: i64,
) -> Result<()> {
    let mut insert = transaction.prepare_cached(
        "INSERT OR REPLACE INTO qa_results
            (call_id, scorecard, score, passed, fatal, body, scored_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    let mut mark =
        transaction.prepare_cached("UPDATE calls SET change_seq = ?2 WHERE call_id = ?1")?;
    for result in results {
        let body = serde_json::to_string(result)
            .map_err(|error| Error::Store(format!("call {}: {error}", result.call_id)))?;
        insert.execute(params![
            result.call_id,
            result.scorecard,
            result.score,
            result.passed,
            result.fatal,
            body,
            now,
        ])?;
        mark.execute(params![result.call_id, sequence])?;
    }
    Ok(())
}

/// Runs `step` again while SQLite answers "busy" or "locked" at once (for
/// the few operations its busy handler does not cover), up to 30 seconds.
fn retry_while_busy<T>(mut step: impl FnMut() -> rusqlite::Result<T>) -> rusqlite::Result<T> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        match step() {
            Err(error)
                if matches!(
                    error.sqlite_error_code(),
                    Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
                ) && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => return other,
        }
    }
}

fn next_sequence(transaction: &rusqlite::Transaction<'_>) -> Result<i64> {
    Ok(transaction.query_row(
        "UPDATE sequence SET value = value + 1 RETURNING value",
        [],
        |row| row.get(0),
    )?)
}

fn decode_call(body: &str) -> Result<Call> {
    serde_json::from_str(body).map_err(|error| {
        Error::Store(format!(
            "a stored call does not decode ({error}); import or transcribe it again"
        ))
    })
}

fn decode_qa(body: &str) -> Result<QaResult> {
    serde_json::from_str(body)
        .map_err(|error| Error::Store(format!("a stored QA result does not decode ({error})")))
}

/// Builds a WHERE clause and its values for `filter`; `prefix` qualifies the
/// calls table's columns (`"c."` in joins).
fn filter_sql(filter: &CallFilter, prefix: &str) -> (String, Vec<String>) {
    let mut clauses = Vec::new();
    let mut values = Vec::new();
    if let Some(from) = filter.from {
        values.push(from.to_string());
        clauses.push(format!("{prefix}local_date >= ?{}", values.len()));
    }
    if let Some(to) = filter.to {
        values.push(to.to_string());
        clauses.push(format!("{prefix}local_date <= ?{}", values.len()));
    }
    for (column, value) in [
        ("agent_id", &filter.agent_id),
        ("team", &filter.team),
        ("queue", &filter.queue),
    ] {
        if let Some(value) = value {
            values.push(value.clone());
            clauses.push(format!("{prefix}{column} = ?{}", values.len()));
        }
    }
    if !filter.call_ids.is_empty() {
        let mut placeholders = Vec::new();
        for call_id in &filter.call_ids {
            values.push(call_id.clone());
            placeholders.push(format!("?{}", values.len()));
        }
        clauses.push(format!("{prefix}call_id IN ({})", placeholders.join(", ")));
    }
    if clauses.is_empty() {
        (String::new(), values)
    } else {
        (format!("WHERE {}", clauses.join(" AND ")), values)
    }
}

mod dispatch;
mod postgres;
pub mod reviews;
pub mod scorecards;
pub mod subjects;
pub mod users;
pub mod workspace;

#[cfg(test)]
mod tests {
    use super::*;
    use callscope_core::model::{Role, Segment};

    fn call(call_id: &str, text: &str) -> Call {
        Call {
            call_id: call_id.to_string(),
            started_at: Some("2026-09-01T09:30:00+08:00".to_string()),
            agent_id: Some("A07".to_string()),
            team: Some("T2".to_string()),
            queue: Some("售后".to_string()),
            duration: None,
            segments: vec![Segment {
                start: 0.0,
                end: 2.0,
                role: Role::Agent,
                text: text.to_string(),
                confidence: None,
                role_confidence: None,
            }],
            meta: Default::default(),
            asr_model: None,
            audio_sha256: None,
            silences: Vec::new(),
            audio_path: None,
        }
    }

    #[test]
    fn unindexed_batches_stop_at_the_byte_bound_but_never_return_nothing() {
        let mut store = SqliteStore::open_in_memory().unwrap();
        let long = "很长的一句话".repeat(2000);
        let calls: Vec<Call> = (0..5).map(|n| call(&format!("L{n}"), &long)).collect();
        store.put_calls(&calls).unwrap();
        let body = serde_json::to_string(&calls[0]).unwrap().len();
        // Two calls' worth of bytes: the batch stops at the second call.
        let two = store.unindexed_calls_within(100, body + 1).unwrap();
        assert_eq!(two.len(), 2);
        // A bound smaller than one call still makes progress.
        let one = store.unindexed_calls_within(100, 1).unwrap();
        assert_eq!(one.len(), 1);
        assert_eq!(store.unindexed_calls(100).unwrap().len(), 5);
    }

    #[test]
    fn replacing_a_call_keeps_one_row() {
        let mut store = SqliteStore::open_in_memory().unwrap();
        store.put_calls(&[call("C1", "您好")]).unwrap();
        store.put_calls(&[call("C1", "再见")]).unwrap();
        assert_eq!(store.count_calls(&CallFilter::default()).unwrap(), 1);
        assert_eq!(
            store.get_call("C1").unwrap().unwrap().segments[0].text,
            "再见"
        );
    }

    #[test]
    fn local_date_filter_uses_the_calls_own_offset() {
        let mut store = SqliteStore::open_in_memory().unwrap();
        let mut late = call("C1", "晚上");
        // 23:30 in Beijing is still 2026-09-01 there, though 15:30 UTC.
        late.started_at = Some("2026-09-01T23:30:00+08:00".to_string());
        store.put_calls(&[late]).unwrap();
        let filter = CallFilter {
            from: NaiveDate::from_ymd_opt(2026, 9, 1),
            to: NaiveDate::from_ymd_opt(2026, 9, 1),
            ..CallFilter::default()
        };
        assert_eq!(store.count_calls(&filter).unwrap(), 1);
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("callscope.db");
        drop(SqliteStore::open(&path).unwrap());
        let connection = Connection::open(&path).unwrap();
        connection.pragma_update(None, "user_version", 99).unwrap();
        drop(connection);
        let error = SqliteStore::open(&path).err().unwrap().to_string();
        assert!(error.contains("upgrade callscope"), "{error}");
    }

    fn result(call_id: &str) -> QaResult {
        QaResult {
            call_id: call_id.to_string(),
            scorecard: "售后".to_string(),
            score: 90.0,
            passed: true,
            fatal: false,
            violations: Vec::new(),
        }
    }

    fn sealed(call_id: &str) -> callscope_core::model::CallRedaction {
        callscope_core::model::CallRedaction {
            subjects: Vec::new(),
            call_id: call_id.to_string(),
            spans: Vec::new(),
            sealed: Some(callscope_core::model::SealedOriginal {
                call_id: call_id.to_string(),
                key_id: "k1".to_string(),
                nonce: vec![1; 24],
                ciphertext: vec![2; 40],
            }),
        }
    }

    #[test]
    fn two_processes_opening_a_fresh_workspace_migrate_it_once() {
        for _ in 0..10 {
            let directory = tempfile::tempdir().unwrap();
            let path = directory.path().join("callscope.db");
            let barrier = std::sync::Barrier::new(4);
            std::thread::scope(|scope| {
                let openers: Vec<_> = (0..4)
                    .map(|_| {
                        scope.spawn(|| {
                            barrier.wait();
                            SqliteStore::open(&path).map(|_| ())
                        })
                    })
                    .collect();
                for opener in openers {
                    opener.join().unwrap().unwrap();
                }
            });
            let store = SqliteStore::open(&path).unwrap();
            let version: i64 = store
                .connection
                .query_row("PRAGMA user_version", [], |row| row.get(0))
                .unwrap();
            assert_eq!(version, SCHEMA_VERSION);
        }
    }

    #[test]
    fn a_result_computed_from_an_older_transcript_is_refused() {
        let mut store = SqliteStore::open_in_memory().unwrap();
        store
            .put_calls(&[call("C1", "您好"), call("C2", "您好")])
            .unwrap();
        let mut versions = std::collections::HashMap::new();
        store
            .for_each_versioned_call_batch(&CallFilter::default(), 10, |rows| {
                for (body, version) in rows {
                    versions.insert(decode_call(&body)?.call_id, version);
                }
                Ok(())
            })
            .unwrap();
        // C1 is imported again while it is scored; C3 was never stored.
        store.put_calls(&[call("C1", "再见")]).unwrap();
        versions.insert("C3".to_string(), 1);
        let stale = store
            .put_qa_results_if_current(&[result("C1"), result("C2"), result("C3")], &versions)
            .unwrap();
        assert_eq!(stale, ["C1", "C3"]);
        assert!(store.qa_results_of("C1").unwrap().is_empty());
        assert_eq!(store.qa_results_of("C2").unwrap().len(), 1);
        // Storing a result does not make the call's own version stale.
        let stale = store
            .put_qa_results_if_current(&[result("C2")], &versions)
            .unwrap();
        assert!(stale.is_empty());
    }

    #[test]
    fn a_call_batch_writes_the_call_its_original_and_its_results_together() {
        let mut store = SqliteStore::open_in_memory().unwrap();
        let calls = [call("C1", "您好")];
        let redactions = [sealed("C1")];
        let results = [result("C1")];
        let batch = CallBatch {
            calls: &calls,
            redactions: &redactions,
            qa_results: &results,
        };
        store.put_call_batch(&batch).unwrap();
        // Written again (redact --apply): replacing the row must not lose
        // what was written beside it in the same batch.
        store.put_call_batch(&batch).unwrap();
        assert!(store.sealed_original("C1").unwrap().is_some());
        assert_eq!(store.qa_results_of("C1").unwrap().len(), 1);
        // A batch that fails (a bad timestamp) leaves nothing behind.
        let mut bad = call("C2", "您好");
        bad.started_at = Some("yesterday".to_string());
        let calls = [call("C3", "您好"), bad];
        let redactions = [sealed("C3")];
        assert!(store
            .put_call_batch(&CallBatch {
                calls: &calls,
                redactions: &redactions,
                ..CallBatch::default()
            })
            .is_err());
        assert!(store.get_call("C3").unwrap().is_none());
        assert!(store.sealed_original("C3").unwrap().is_none());
    }
}
