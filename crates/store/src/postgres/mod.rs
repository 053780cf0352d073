//! The shared store on PostgreSQL, for scale-out: many workers on many
//! machines write calls into one database that analysts' commands read.
//!
//! [`PgStore`] implements the embedded store's operations with the same
//! meaning: a call is one row (its contract JSON plus the columns filters
//! need) written with everything that belongs to it in one transaction,
//! re-writing a call replaces it (never a second row), and every write
//! takes a new change number. Callers do not use it directly: the crate's
//! [`crate::Store`] opens it for a `postgres://` location and dispatches to
//! it, so every command works unchanged on the shared database, and the
//! conformance suite (`tests/conformance.rs`) runs the same checks against
//! both backends.
//!
//! PostgreSQL's own schema is versioned in `callscope_schema` and migrated
//! forward on connect, under an advisory lock so that workers starting
//! together migrate it once. A schema other than `public` is chosen in the
//! URL: `?options=-csearch_path%3Dname` (the tests give each test its own).

use std::collections::HashMap;
use std::time::Duration;

use postgres::types::ToSql;
use postgres::{Client, NoTls, Transaction};

use crate::{decode_call, decode_qa, now_epoch, CallBatch, CallFilter, Forgotten, Stats, StoredQa};
use callscope_core::error::{Error, Result};
use callscope_core::model::{
    Call, CallRedaction, QaResult, RedactedSpan, SealedOriginal, SubjectDigest,
};

/// The schema version this build writes (PostgreSQL's own numbering).
pub const PG_SCHEMA_VERSION: i32 = 5;

/// Migrations, index `i` takes the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 0 -> 1: calls, QA results, change numbers, redaction records, sealed
    // originals and subject hashes (the embedded store's schemas 1-5 less
    // the digest's term cache, which stays per machine for now).
    "CREATE SEQUENCE callscope_change_seq;
     CREATE TABLE calls (
        call_id        TEXT PRIMARY KEY,
        started_at     TEXT,
        started_epoch  BIGINT,
        local_date     DATE,
        agent_id       TEXT,
        team           TEXT,
        queue          TEXT,
        duration       DOUBLE PRECISION NOT NULL,
        segment_count  INTEGER NOT NULL,
        asr_model      TEXT,
        audio_sha256   TEXT,
        body           TEXT NOT NULL,
        updated_at     BIGINT NOT NULL,
        change_seq     BIGINT NOT NULL,
        content_seq    BIGINT NOT NULL,
        indexed_seq    BIGINT NOT NULL DEFAULT 0
     );
     CREATE INDEX calls_local_date ON calls(local_date, call_id);
     CREATE INDEX calls_agent ON calls(agent_id);
     CREATE INDEX calls_team ON calls(team);
     CREATE INDEX calls_started ON calls(started_epoch);
     CREATE INDEX calls_unindexed ON calls(change_seq) WHERE change_seq > indexed_seq;
     CREATE TABLE qa_results (
        call_id    TEXT NOT NULL REFERENCES calls(call_id) ON DELETE CASCADE,
        scorecard  TEXT NOT NULL,
        score      DOUBLE PRECISION NOT NULL,
        passed     BOOLEAN NOT NULL,
        fatal      BOOLEAN NOT NULL,
        body       TEXT NOT NULL,
        scored_at  BIGINT NOT NULL,
        PRIMARY KEY (call_id, scorecard)
     );
     CREATE TABLE sealed_originals (
        call_id     TEXT PRIMARY KEY REFERENCES calls(call_id) ON DELETE CASCADE,
        key_id      TEXT NOT NULL,
        nonce       BYTEA NOT NULL,
        ciphertext  BYTEA NOT NULL,
        sealed_at   BIGINT NOT NULL
     );
     CREATE TABLE redacted_spans (
        call_id     TEXT PRIMARY KEY REFERENCES calls(call_id) ON DELETE CASCADE,
        spans       TEXT NOT NULL
     );
     CREATE TABLE subject_hashes (
        digest   BYTEA NOT NULL,
        call_id  TEXT NOT NULL REFERENCES calls(call_id) ON DELETE CASCADE,
        kind     TEXT NOT NULL,
        PRIMARY KEY (digest, call_id, kind)
     );
     CREATE INDEX subject_hashes_call ON subject_hashes(call_id);
",
    // 1 -> 2: the digest's term cache.
    terms::MIGRATION,
    // 2 -> 3: users, sessions, the audit log, reviews, appeals, review
    // assignments and reviewed scores.
    reviews::MIGRATION,
    // 3 -> 4: call ids in byte order (SQLite's), for paging through calls.
    "CREATE INDEX calls_call_id_bytes ON calls (call_id COLLATE \"C\");",
    // 4 -> 5: scorecards kept in the store.
    scorecards::MIGRATION,
];

/// The advisory lock key under which the schema is migrated (any constant
/// that other applications of the database do not use).
const MIGRATION_LOCK: i64 = 0x6361_6c6c_7363_6f70; // "callscop"

/// Whether `location` names a PostgreSQL database.
pub fn is_postgres_url(location: &str) -> bool {
    location.starts_with("postgres://") || location.starts_with("postgresql://")
}

/// The shared store on PostgreSQL. One connection, opened again after the
/// server dropped it (a restart): the operation that saw it drop fails,
/// the next one reconnects.
pub(crate) struct PgStore {
    config: postgres::Config,
    /// Where the database is, for messages: host, port and database name,
    /// never the password.
    place: String,
    client: Option<Client>,
}

impl PgStore {
    /// Connects to the database at `url` and migrates its schema.
    pub fn connect(url: &str) -> Result<PgStore> {
        let mut config: postgres::Config = url.parse().map_err(|error| {
            Error::Usage(format!(
                "--store: not a PostgreSQL URL ({error}); write \
                 postgres://USER:PASSWORD@HOST:PORT/DATABASE"
            ))
        })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        if config.get_application_name().is_none() {
            config.application_name("callscope");
        }
        let place = describe(&config);
        let mut store = PgStore {
            config,
            place,
            client: None,
        };
        store.migrate()?;
        Ok(store)
    }

    /// Host, port and database, for messages.
    pub fn place(&self) -> &str {
        &self.place
    }

    /// The connection, opened again when the server dropped it.
    fn client(&mut self) -> Result<&mut Client> {
        if self.client.as_ref().is_none_or(Client::is_closed) {
            let client = self.config.connect(NoTls).map_err(|error| {
                Error::Store(format!(
                    "cannot connect to PostgreSQL at {}: {}; check that it is running and \
                     that the URL's user, password and database are right",
                    self.place,
                    explain(&error)
                ))
            })?;
            self.client = Some(client);
        }
        Ok(self.client.as_mut().expect("connected above"))
    }

    fn migrate(&mut self) -> Result<()> {
        let place = self.place.clone();
        let client = self.client()?;
        let mut transaction = client.transaction().map_err(pg)?;
        transaction
            .execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .map_err(pg)?;
        transaction
            .batch_execute("CREATE TABLE IF NOT EXISTS callscope_schema (version INTEGER NOT NULL)")
            .map_err(pg)?;
        let version: i32 = transaction
            .query_one(
                "SELECT COALESCE(MAX(version), 0) FROM callscope_schema",
                &[],
            )
            .map_err(pg)?
            .get(0);
        if version > PG_SCHEMA_VERSION {
            return Err(Error::Store(format!(
                "the PostgreSQL store at {place} has schema version {version}, newer than this \
                 build's {PG_SCHEMA_VERSION}: upgrade callscope on this machine"
            )));
        }
        if version == PG_SCHEMA_VERSION {
            return transaction.commit().map_err(pg);
        }
        for migration in MIGRATIONS.iter().skip(version as usize) {
            transaction.batch_execute(migration).map_err(pg)?;
        }
        transaction
            .execute("DELETE FROM callscope_schema", &[])
            .map_err(pg)?;
        transaction
            .execute(
                "INSERT INTO callscope_schema (version) VALUES ($1)",
                &[&PG_SCHEMA_VERSION],
            )
            .map_err(pg)?;
        transaction.commit().map_err(pg)
    }

    /// Runs `step` in one transaction (committed when it returns `Ok`).
    fn in_transaction<T>(
        &mut self,
        step: impl FnOnce(&mut Transaction<'_>) -> Result<T>,
    ) -> Result<T> {
        let client = self.client()?;
        let mut transaction = client.transaction().map_err(pg)?;
        let value = step(&mut transaction)?;
        transaction.commit().map_err(pg)?;
        Ok(value)
    }
}

/// `host:port/database` of a config.
/// Host, port and database of a PostgreSQL URL, for messages (never the
/// password); a URL that does not parse is named as such.
pub(crate) fn describe_url(url: &str) -> String {
    match url.parse::<postgres::Config>() {
        Ok(config) => format!("postgres://{}", describe(&config)),
        Err(_) => "postgres://(a URL that does not parse)".to_string(),
    }
}

fn describe(config: &postgres::Config) -> String {
    let host = config
        .get_hosts()
        .first()
        .map(|host| match host {
            postgres::config::Host::Tcp(name) => name.clone(),
            postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .unwrap_or_else(|| "localhost".to_string());
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let database = config.get_dbname().unwrap_or("(default database)");
    format!("{host}:{port}/{database}")
}

/// A PostgreSQL error as the store's error. The driver's text names the
/// server's message (and SQL state), never the connection's password.
fn pg(error: postgres::Error) -> Error {
    if error.is_closed() {
        return Error::Store(format!(
            "the connection to PostgreSQL closed ({error}); the next operation reconnects: run \
             the command again"
        ));
    }
    Error::Store(format!("PostgreSQL: {}", explain(&error)))
}

/// The server's message and SQL state, or the driver's error with its
/// cause ("db error" alone says nothing).
fn explain(error: &postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => match std::error::Error::source(error) {
            Some(source) => format!("{error}: {source}"),
            None => error.to_string(),
        },
    }
}

fn next_sequence(transaction: &mut Transaction<'_>) -> Result<i64> {
    Ok(transaction
        .query_one("SELECT nextval('callscope_change_seq')", &[])
        .map_err(pg)?
        .get(0))
}

/// A WHERE clause over the calls table (`prefix` qualifies its columns)
/// and its values, all text (dates are cast in SQL), numbered from `$1`.
fn filter_sql(filter: &CallFilter, prefix: &str) -> (String, Vec<FilterValue>) {
    let mut clauses = Vec::new();
    let mut values = Vec::new();
    if let Some(from) = filter.from {
        values.push(FilterValue::Text(from.to_string()));
        clauses.push(format!(
            "{prefix}local_date >= ${}::TEXT::DATE",
            values.len()
        ));
    }
    if let Some(to) = filter.to {
        values.push(FilterValue::Text(to.to_string()));
        clauses.push(format!(
            "{prefix}local_date <= ${}::TEXT::DATE",
            values.len()
        ));
    }
    for (column, value) in [
        ("agent_id", &filter.agent_id),
        ("team", &filter.team),
        ("queue", &filter.queue),
    ] {
        if let Some(value) = value {
            values.push(FilterValue::Text(value.clone()));
            clauses.push(format!("{prefix}{column} = ${}", values.len()));
        }
    }
    if !filter.call_ids.is_empty() {
        values.push(FilterValue::List(filter.call_ids.clone()));
        clauses.push(format!("{prefix}call_id = ANY(${})", values.len()));
    }
    if clauses.is_empty() {
        (String::new(), values)
    } else {
        (format!("WHERE {}", clauses.join(" AND ")), values)
    }
}

/// One value of a filter.
#[derive(Debug)]
enum FilterValue {
    Text(String),
    List(Vec<String>),
}

fn params(values: &[FilterValue]) -> Vec<&(dyn ToSql + Sync)> {
    values
        .iter()
        .map(|value| match value {
            FilterValue::Text(text) => text as &(dyn ToSql + Sync),
            FilterValue::List(list) => list as &(dyn ToSql + Sync),
        })
        .collect()
}

impl PgStore {
    pub fn put_call_batch(&mut self, batch: &CallBatch<'_>) -> Result<()> {
        let now = now_epoch();
        self.in_transaction(|transaction| {
            let sequence = next_sequence(transaction)?;
            write_calls(transaction, batch.calls, sequence, now)?;
            write_redactions(transaction, batch.redactions, now)?;
            write_qa_results(transaction, batch.qa_results, sequence, now)?;
            Ok(())
        })
    }

    pub fn put_calls(&mut self, calls: &[Call]) -> Result<()> {
        self.put_call_batch(&CallBatch {
            calls,
            ..CallBatch::default()
        })
    }

    pub fn put_qa_results(&mut self, results: &[QaResult]) -> Result<()> {
        self.put_call_batch(&CallBatch {
            qa_results: results,
            ..CallBatch::default()
        })
    }

    pub fn get_call(&mut self, call_id: &str) -> Result<Option<Call>> {
        let row = self
            .client()?
            .query_opt("SELECT body FROM calls WHERE call_id = $1", &[&call_id])
            .map_err(pg)?;
        row.map(|row| decode_call(row.get(0))).transpose()
    }

    pub fn transcription_of(&mut self, call_id: &str) -> Result<Option<(String, String)>> {
        let row = self
            .client()?
            .query_opt(
                "SELECT audio_sha256, asr_model FROM calls
                 WHERE call_id = $1 AND audio_sha256 IS NOT NULL AND asr_model IS NOT NULL",
                &[&call_id],
            )
            .map_err(pg)?;
        Ok(row.map(|row| (row.get(0), row.get(1))))
    }

    pub fn count_calls(&mut self, filter: &CallFilter) -> Result<u64> {
        let (where_clause, values) = filter_sql(filter, "");
        let sql = format!("SELECT COUNT(*) FROM calls {where_clause}");
        let count: i64 = self
            .client()?
            .query_one(&sql, &params(&values))
            .map_err(pg)?
            .get(0);
        Ok(count as u64)
    }

    /// Up to `limit` calls that pass `filter` after call id `after`, in
    /// call-id (byte) order: each call's id, JSON body and version. The
    /// façade pages with it, the connection free between pages, so a
    /// visitor may use the store.
    pub fn versioned_calls_after(
        &mut self,
        filter: &CallFilter,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, String, i64)>> {
        let (where_clause, mut values) = filter_sql(filter, "");
        let mut sql = format!("SELECT call_id, body, content_seq FROM calls {where_clause}");
        if let Some(after) = after {
            values.push(FilterValue::Text(after.to_string()));
            let joiner = if where_clause.is_empty() {
                "WHERE"
            } else {
                "AND"
            };
            sql.push_str(&format!(
                " {joiner} call_id COLLATE \"C\" > ${}",
                values.len()
            ));
        }
        sql.push_str(&format!(
            " ORDER BY call_id COLLATE \"C\" LIMIT {}",
            limit.clamp(1, i64::MAX as usize)
        ));
        let rows = self.client()?.query(&sql, &params(&values)).map_err(pg)?;
        Ok(rows
            .iter()
            .map(|row| (row.get(0), row.get(1), row.get(2)))
            .collect())
    }

    pub fn stats(&mut self) -> Result<Stats> {
        let client = self.client()?;
        let row = client
            .query_one(
                "SELECT COUNT(*), COALESCE(SUM(duration), 0), COUNT(DISTINCT agent_id),
                        COUNT(DISTINCT team), COUNT(DISTINCT queue),
                        COALESCE(SUM(segment_count), 0)::BIGINT,
                        COUNT(*) FILTER (WHERE change_seq <= indexed_seq)
                 FROM calls",
                &[],
            )
            .map_err(pg)?;
        let mut stats = Stats {
            calls: row.get::<_, i64>(0) as u64,
            hours: row.get::<_, f64>(1) / 3600.0,
            agents: row.get::<_, i64>(2) as u64,
            teams: row.get::<_, i64>(3) as u64,
            queues: row.get::<_, i64>(4) as u64,
            segments: row.get::<_, i64>(5) as u64,
            from: None,
            to: None,
            scored_calls: 0,
            indexed_calls: row.get::<_, i64>(6) as u64,
        };
        stats.from = client
            .query_opt(
                "SELECT started_at FROM calls WHERE started_epoch IS NOT NULL
                 ORDER BY started_epoch ASC, call_id LIMIT 1",
                &[],
            )
            .map_err(pg)?
            .map(|row| row.get(0));
        stats.to = client
            .query_opt(
                "SELECT started_at FROM calls WHERE started_epoch IS NOT NULL
                 ORDER BY started_epoch DESC, call_id LIMIT 1",
                &[],
            )
            .map_err(pg)?
            .map(|row| row.get(0));
        stats.scored_calls = client
            .query_one("SELECT COUNT(DISTINCT call_id) FROM qa_results", &[])
            .map_err(pg)?
            .get::<_, i64>(0) as u64;
        Ok(stats)
    }

    pub fn qa_results_of(&mut self, call_id: &str) -> Result<Vec<QaResult>> {
        let rows = self
            .client()?
            .query(
                "SELECT body FROM qa_results WHERE call_id = $1 ORDER BY scorecard",
                &[&call_id],
            )
            .map_err(pg)?;
        rows.iter().map(|row| decode_qa(row.get(0))).collect()
    }

    pub fn put_qa_results_if_current(
        &mut self,
        results: &[QaResult],
        versions: &HashMap<String, i64>,
    ) -> Result<Vec<String>> {
        let now = now_epoch();
        self.in_transaction(|transaction| {
            let mut stale = Vec::new();
            let mut current = Vec::with_capacity(results.len());
            let mut known: HashMap<&str, bool> = HashMap::new();
            // The call rows are locked until commit, so a call cannot be
            // rewritten between the check and the write.
            let version_of = transaction
                .prepare("SELECT content_seq FROM calls WHERE call_id = $1 FOR UPDATE")
                .map_err(pg)?;
            for result in results {
                let call_id = result.call_id.as_str();
                let is_current = match known.get(call_id) {
                    Some(is_current) => *is_current,
                    None => {
                        let stored: Option<i64> = transaction
                            .query_opt(&version_of, &[&call_id])
                            .map_err(pg)?
                            .map(|row| row.get(0));
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
            let sequence = next_sequence(transaction)?;
            write_qa_results(transaction, &current, sequence, now)?;
            Ok(stale)
        })
    }

    pub fn for_each_qa_result(
        &mut self,
        filter: &CallFilter,
        visit: &mut dyn FnMut(StoredQa) -> Result<()>,
    ) -> Result<u64> {
        let (where_clause, values) = filter_sql(filter, "c.");
        let sql = format!(
            "SELECT c.local_date::TEXT, c.agent_id, c.team, q.body
             FROM qa_results q JOIN calls c ON c.call_id = q.call_id
             {where_clause} ORDER BY q.call_id, q.scorecard"
        );
        self.in_transaction(|transaction| {
            let portal = transaction.bind(&sql, &params(&values)).map_err(pg)?;
            let mut count = 0;
            loop {
                let rows = transaction.query_portal(&portal, 1000).map_err(pg)?;
                if rows.is_empty() {
                    break;
                }
                for row in &rows {
                    visit(StoredQa {
                        local_date: row.get(0),
                        agent_id: row.get(1),
                        team: row.get(2),
                        result: decode_qa(row.get(3))?,
                    })?;
                    count += 1;
                }
            }
            Ok(count)
        })
    }

    pub fn sealed_original(&mut self, call_id: &str) -> Result<Option<SealedOriginal>> {
        let row = self
            .client()?
            .query_opt(
                "SELECT key_id, nonce, ciphertext FROM sealed_originals WHERE call_id = $1",
                &[&call_id],
            )
            .map_err(pg)?;
        Ok(row.map(|row| SealedOriginal {
            call_id: call_id.to_string(),
            key_id: row.get(0),
            nonce: row.get(1),
            ciphertext: row.get(2),
        }))
    }

    pub fn redacted_spans(&mut self, call_id: &str) -> Result<Vec<RedactedSpan>> {
        let row = self
            .client()?
            .query_opt(
                "SELECT spans FROM redacted_spans WHERE call_id = $1",
                &[&call_id],
            )
            .map_err(pg)?;
        match row {
            None => Ok(Vec::new()),
            Some(row) => serde_json::from_str(row.get(0)).map_err(|error| {
                Error::Store(format!(
                    "the redacted spans of call {call_id} do not decode ({error}); import or \
                     transcribe it again"
                ))
            }),
        }
    }

    pub fn unindexed_calls(&mut self, limit: usize) -> Result<Vec<(Call, i64)>> {
        self.unindexed_calls_within(limit, usize::MAX)
    }

    pub fn unindexed_calls_within(
        &mut self,
        limit: usize,
        max_bytes: usize,
    ) -> Result<Vec<(Call, i64)>> {
        let rows = self
            .client()?
            .query(
                "SELECT body, change_seq FROM calls WHERE change_seq > indexed_seq
                 ORDER BY change_seq LIMIT $1",
                &[&(limit as i64)],
            )
            .map_err(pg)?;
        let (mut calls, mut bytes) = (Vec::new(), 0usize);
        for row in &rows {
            let body: &str = row.get(0);
            bytes = bytes.saturating_add(body.len());
            calls.push((decode_call(body)?, row.get(1)));
            if bytes >= max_bytes {
                break;
            }
        }
        Ok(calls)
    }

    pub fn count_unindexed(&mut self) -> Result<u64> {
        let count: i64 = self
            .client()?
            .query_one(
                "SELECT COUNT(*) FROM calls WHERE change_seq > indexed_seq",
                &[],
            )
            .map_err(pg)?
            .get(0);
        Ok(count as u64)
    }

    pub fn mark_all_unindexed(&mut self) -> Result<u64> {
        let count = self
            .client()?
            .execute("UPDATE calls SET indexed_seq = 0", &[])
            .map_err(pg)?;
        Ok(count)
    }

    pub fn mark_indexed(&mut self, indexed: &[(String, i64)]) -> Result<()> {
        self.in_transaction(|transaction| {
            let mark = transaction
                .prepare(
                    "UPDATE calls SET indexed_seq = $2 WHERE call_id = $1 AND indexed_seq < $2",
                )
                .map_err(pg)?;
            for (call_id, change) in indexed {
                transaction.execute(&mark, &[call_id, change]).map_err(pg)?;
            }
            Ok(())
        })
    }

    pub fn forget_calls(&mut self, call_ids: &[String]) -> Result<Forgotten> {
        self.in_transaction(|transaction| {
            let mut forgotten = Forgotten::default();
            for call_id in call_ids {
                let counts = transaction
                    .query_opt(
                        "SELECT (SELECT COUNT(*) FROM qa_results WHERE call_id = $1),
                                (SELECT COUNT(*) FROM sealed_originals WHERE call_id = $1),
                                (SELECT COUNT(*) FROM redacted_spans WHERE call_id = $1),
                                (SELECT COUNT(*) FROM subject_hashes WHERE call_id = $1)
                         FROM calls WHERE call_id = $1 FOR UPDATE",
                        &[call_id],
                    )
                    .map_err(pg)?;
                let Some(counts) = counts else {
                    continue;
                };
                forgotten.qa_results += counts.get::<_, i64>(0) as u64;
                forgotten.sealed_originals += counts.get::<_, i64>(1) as u64;
                forgotten.redaction_records += counts.get::<_, i64>(2) as u64;
                forgotten.subject_hashes += counts.get::<_, i64>(3) as u64;
                terms::forget_call(transaction, call_id, &mut forgotten)?;
                reviews::forget_call(transaction, call_id, &mut forgotten)?;
                // The rest goes with the call (foreign keys).
                transaction
                    .execute("DELETE FROM calls WHERE call_id = $1", &[call_id])
                    .map_err(pg)?;
                forgotten.calls.push(call_id.clone());
            }
            Ok(forgotten)
        })
    }

    /// Bytes of the tables in the current schema, with indexes and TOAST.
    pub fn database_bytes(&mut self) -> Result<u64> {
        let bytes: i64 = self
            .client()?
            .query_one(
                "SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0)::BIGINT
                 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE n.nspname = current_schema() AND c.relkind = 'r'",
                &[],
            )
            .map_err(pg)?
            .get(0);
        Ok(bytes as u64)
    }

    pub fn local_date_range(&mut self) -> Result<Option<(String, String)>> {
        let row = self
            .client()?
            .query_one(
                "SELECT MIN(local_date)::TEXT, MAX(local_date)::TEXT FROM calls
                 WHERE local_date IS NOT NULL",
                &[],
            )
            .map_err(pg)?;
        let range: (Option<String>, Option<String>) = (row.get(0), row.get(1));
        Ok(match range {
            (Some(first), Some(last)) => Some((first, last)),
            _ => None,
        })
    }
}

/// Columns derived from a call for filtering.
fn call_columns(call: &Call) -> Result<(Option<i64>, Option<String>)> {
    let Some(started_at) = &call.started_at else {
        return Ok((None, None));
    };
    let parsed = callscope_core::model::parse_timestamp(started_at).ok_or_else(|| {
        Error::Usage(format!(
            "call {}: started_at '{started_at}' is not an RFC 3339 timestamp with offset \
             (e.g. 2026-09-01T09:30:00+08:00)",
            call.call_id
        ))
    })?;
    Ok((
        Some(parsed.timestamp()),
        Some(parsed.date_naive().to_string()),
    ))
}

fn write_calls(
    transaction: &mut Transaction<'_>,
    calls: &[Call],
    sequence: i64,
    now: i64,
) -> Result<()> {
    if calls.is_empty() {
        return Ok(());
    }
    // Writers of the same call take turns (an advisory lock per call id,
    // in a fixed order so two batches never wait on each other); the
    // delete takes what was stored for the call with it, as the embedded
    // store's INSERT OR REPLACE does.
    let mut order: Vec<&Call> = calls.iter().collect();
    order.sort_by(|left, right| left.call_id.cmp(&right.call_id));
    let lock = transaction
        .prepare("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
        .map_err(pg)?;
    let delete = transaction
        .prepare("DELETE FROM calls WHERE call_id = $1")
        .map_err(pg)?;
    let insert = transaction
        .prepare(
            "INSERT INTO calls (call_id, started_at, started_epoch, local_date, agent_id, team,
                queue, duration, segment_count, asr_model, audio_sha256, body, updated_at,
                change_seq, content_seq, indexed_seq)
             VALUES ($1, $2, $3, $4::TEXT::DATE, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14,
                $14, 0)",
        )
        .map_err(pg)?;
    for call in order {
        let body = serde_json::to_string(call)
            .map_err(|error| Error::Store(format!("call {}: {error}", call.call_id)))?;
        let (started_epoch, local_date) = call_columns(call)?;
        transaction.execute(&lock, &[&call.call_id]).map_err(pg)?;
        transaction.execute(&delete, &[&call.call_id]).map_err(pg)?;
        transaction
            .execute(
                &insert,
                &[
                    &call.call_id,
                    &call.started_at,
                    &started_epoch,
                    &local_date,
                    &call.agent_id,
                    &call.team,
                    &call.queue,
                    &call.effective_duration(),
                    &(call.segments.len() as i32),
                    &call.asr_model,
                    &call.audio_sha256,
                    &body,
                    &now,
                    &sequence,
                ],
            )
            .map_err(pg)?;
    }
    Ok(())
}

fn write_redactions(
    transaction: &mut Transaction<'_>,
    records: &[CallRedaction],
    now: i64,
) -> Result<()> {
    for record in records {
        let call_id = &record.call_id;
        for table in ["sealed_originals", "redacted_spans"] {
            transaction
                .execute(
                    &format!("DELETE FROM {table} WHERE call_id = $1"),
                    &[call_id],
                )
                .map_err(pg)?;
        }
        if !record.spans.is_empty() {
            let spans = serde_json::to_string(&record.spans)
                .map_err(|error| Error::Store(format!("call {call_id}: {error}")))?;
            transaction
                .execute(
                    "INSERT INTO redacted_spans (call_id, spans) VALUES ($1, $2)",
                    &[call_id, &spans],
                )
                .map_err(pg)?;
        }
        if let Some(sealed) = &record.sealed {
            transaction
                .execute(
                    "INSERT INTO sealed_originals (call_id, key_id, nonce, ciphertext, sealed_at)
                     VALUES ($1, $2, $3, $4, $5)",
                    &[
                        &sealed.call_id,
                        &sealed.key_id,
                        &sealed.nonce,
                        &sealed.ciphertext,
                        &now,
                    ],
                )
                .map_err(pg)?;
        }
        write_subjects(transaction, call_id, &record.subjects)?;
    }
    Ok(())
}

/// Replaces a call's keyed hashes of personal data (never the values).
fn write_subjects(
    transaction: &mut Transaction<'_>,
    call_id: &str,
    subjects: &[SubjectDigest],
) -> Result<()> {
    transaction
        .execute("DELETE FROM subject_hashes WHERE call_id = $1", &[&call_id])
        .map_err(pg)?;
    for subject in subjects {
        transaction
            .execute(
                "INSERT INTO subject_hashes (digest, call_id, kind) VALUES ($1, $2, $3)
                 ON CONFLICT DO NOTHING",
                &[&subject.digest.as_slice(), &call_id, &subject.kind.as_str()],
            )
            .map_err(pg)?;
    }
    Ok(())
}

fn write_qa_results(
    transaction: &mut Transaction<'_>,
    results: &[QaResult],
    sequence: i64,
    now: i64,
) -> Result<()> {
    if results.is_empty() {
        return Ok(());
    }
    let insert = transaction
        .prepare(
            "INSERT INTO qa_results (call_id, scorecard, score, passed, fatal, body, scored_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (call_id, scorecard) DO UPDATE SET score = EXCLUDED.score,
                passed = EXCLUDED.passed, fatal = EXCLUDED.fatal, body = EXCLUDED.body,
                scored_at = EXCLUDED.scored_at",
        )
        .map_err(pg)?;
    let mark = transaction
        .prepare("UPDATE calls SET change_seq = $2 WHERE call_id = $1")
        .map_err(pg)?;
    for result in results {
        let body = serde_json::to_string(result)
            .map_err(|error| Error::Store(format!("call {}: {error}", result.call_id)))?;
        transaction
            .execute(
                &insert,
                &[
                    &result.call_id,
                    &result.scorecard,
                    &result.score,
                    &result.passed,
                    &result.fatal,
                    &body,
                    &now,
                ],
            )
            .map_err(pg)?;
        transaction
            .execute(&mark, &[&result.call_id, &sequence])
            .map_err(pg)?;
    }
    Ok(())
}

/// The embedded store through the same trait (each method is the store's
/// own).
mod records;
mod reviews;
mod scorecards;
mod terms;
pub mod testing;
mod users;
