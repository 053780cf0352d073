//! [`Store`]: the one store every command and crate uses, on one of two
//! backends chosen by its location. A path is the embedded SQLite database
//! of a workspace (one machine); a `postgres://` URL is the shared
//! PostgreSQL database that workers on many machines write and every
//! analyst's command reads (`[store] url` in the workspace config, or
//! `--store URL`). Both backends implement the same operations with the
//! same meaning, which `tests/conformance.rs` checks against both.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::Path;

use callscope_core::error::{Error, Result};
use callscope_core::model::{Call, QaResult};

use crate::postgres::{is_postgres_url, PgStore};
use crate::reviews::{
    Appeal, AppealFilter, Assignment, NewAppeal, NewAssignment, NewReview, ResultVersion, Review,
    ReviewedRow, ReviewedScore,
};
use crate::users::{AuditEntry, AuditFilter, AuditRecord, Session, User, UserRole};
use crate::{CallBatch, CallFilter, Forgotten, SqliteStore, Stats, StoredQa};

/// The store: calls, QA results, change numbers, redaction records, the
/// digest's term cache, users, sessions, the audit log and reviews.
pub struct Store {
    backend: Backend,
}

enum Backend {
    Sqlite(SqliteStore),
    /// Behind a `RefCell`: the PostgreSQL client needs `&mut` for every
    /// query, the store's readers take `&self`. Visitors that read the
    /// store get the connection free between pages
    /// ([`Store::for_each_versioned_call_batch`]). Boxed: the client is
    /// large.
    Postgres(Box<RefCell<PgStore>>),
}

/// Runs `$body` with `$store` bound to the backend, for `&self` methods.
macro_rules! dispatch {
    ($self:ident, $store:ident => $body:expr) => {
        match &$self.backend {
            Backend::Sqlite($store) => $body,
            Backend::Postgres(shared) => {
                let $store = &mut *connection(shared)?;
                $body
            }
        }
    };
}

/// The PostgreSQL store, or an error when one of its own visitors already
/// holds it (a visitor that reads the store must go through a paged
/// operation such as [`Store::for_each_versioned_call_batch`]).
fn connection(shared: &RefCell<PgStore>) -> Result<std::cell::RefMut<'_, PgStore>> {
    shared.try_borrow_mut().map_err(|_| {
        Error::Store(
            "the shared store was used from inside one of its own visitors; this is a bug in \
             callscope, please report it"
                .to_string(),
        )
    })
}

/// Runs `$body` with `$store` bound to the backend, for `&mut self` methods.
macro_rules! dispatch_mut {
    ($self:ident, $store:ident => $body:expr) => {
        match &mut $self.backend {
            Backend::Sqlite($store) => $body,
            Backend::Postgres(shared) => {
                let $store = shared.get_mut();
                $body
            }
        }
    };
}

impl Store {
    /// Opens (creating if needed) the embedded store at `path` and migrates
    /// its schema.
    pub fn open(path: &Path) -> Result<Store> {
        Ok(Store::sqlite(SqliteStore::open(path)?))
    }

    /// Opens a throwaway embedded store in memory (for `qa --input` and
    /// tests).
    pub fn open_in_memory() -> Result<Store> {
        Ok(Store::sqlite(SqliteStore::open_in_memory()?))
    }

    /// Connects to the shared store at a `postgres://` URL and migrates its
    /// schema.
    pub fn connect(url: &str) -> Result<Store> {
        Ok(Store {
            backend: Backend::Postgres(Box::new(RefCell::new(PgStore::connect(url)?))),
        })
    }

    /// Opens the store at `location`: a `postgres://` or `postgresql://`
    /// URL connects to PostgreSQL, anything else is the path of an embedded
    /// store (created if missing).
    pub fn open_location(location: &str) -> Result<Store> {
        if is_postgres_url(location) {
            Store::connect(location)
        } else {
            Store::open(Path::new(location))
        }
    }

    fn sqlite(store: SqliteStore) -> Store {
        Store {
            backend: Backend::Sqlite(store),
        }
    }

    /// `sqlite` or `postgres`, for messages.
    pub fn backend(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// Where the store is, for messages: the database file, or the
    /// PostgreSQL host, port and database (never the password).
    pub fn place(&self) -> String {
        match &self.backend {
            Backend::Sqlite(store) => store.path().display().to_string(),
            Backend::Postgres(shared) => shared.borrow().place().to_string(),
        }
    }

    /// Bytes the store takes on disk: the database file with its
    /// write-ahead log, or on PostgreSQL the tables of its schema with their
    /// indexes and TOAST.
    pub fn database_bytes(&self) -> Result<u64> {
        match &self.backend {
            Backend::Sqlite(store) => {
                let mut bytes = 0;
                for suffix in ["", "-wal"] {
                    let path = format!("{}{suffix}", store.path().display());
                    if let Ok(metadata) = std::fs::metadata(&path) {
                        bytes += metadata.len();
                    }
                }
                Ok(bytes)
            }
            Backend::Postgres(shared) => connection(shared)?.database_bytes(),
        }
    }

    /// Stores scorecard `name` as the TOML text `source`, replacing the
    /// scorecard of that name; whether one was replaced. The caller
    /// validates it first.
    pub fn put_scorecard(&mut self, name: &str, source: &str) -> Result<bool> {
        dispatch_mut!(self, store => store.put_scorecard(name, source))
    }

    /// The scorecards kept in the store, by name (byte order).
    pub fn scorecards(&self) -> Result<Vec<crate::scorecards::StoredScorecard>> {
        dispatch!(self, store => store.scorecards())
    }

    /// Removes scorecard `name`; whether the store had it.
    pub fn remove_scorecard(&mut self, name: &str) -> Result<bool> {
        dispatch_mut!(self, store => store.remove_scorecard(name))
    }

    /// Writes calls in one transaction, replacing calls with the same id
    /// (and dropping their now stale QA results, redaction spans and sealed
    /// originals). Either all are written or none.
    pub fn put_calls(&mut self, calls: &[Call]) -> Result<()> {
        dispatch_mut!(self, store => store.put_calls(calls))
    }

    /// Writes calls with everything that belongs to them (their redaction
    /// records and QA results) in one transaction: a crash leaves each call
    /// either wholly written or as it was, never a call without the sealed
    /// original or results written beside it.
    pub fn put_call_batch(&mut self, batch: &CallBatch<'_>) -> Result<()> {
        dispatch_mut!(self, store => store.put_call_batch(batch))
    }

    /// Reads one call.
    pub fn get_call(&self, call_id: &str) -> Result<Option<Call>> {
        dispatch!(self, store => store.get_call(call_id))
    }

    /// The audio hash and ASR model a stored call was transcribed from, so a
    /// batch can skip calls already done.
    pub fn transcription_of(&self, call_id: &str) -> Result<Option<(String, String)>> {
        dispatch!(self, store => store.transcription_of(call_id))
    }

    /// Calls `visit` with every call that passes `filter`, in call-id order.
    /// Returns how many were visited.
    pub fn for_each_call(
        &self,
        filter: &CallFilter,
        mut visit: impl FnMut(Call) -> Result<()>,
    ) -> Result<u64> {
        match &self.backend {
            Backend::Sqlite(store) => store.for_each_call(filter, visit),
            Backend::Postgres(_) => self.for_each_versioned_call_batch(filter, 256, |rows| {
                for (body, _) in rows {
                    visit(crate::decode_call(&body)?)?;
                }
                Ok(())
            }),
        }
    }

    /// Reads calls in batches of raw JSON bodies (for parallel decoding by
    /// callers that need throughput). Returns how many bodies were visited.
    pub fn for_each_call_batch(
        &self,
        filter: &CallFilter,
        batch_size: usize,
        mut visit: impl FnMut(Vec<String>) -> Result<()>,
    ) -> Result<u64> {
        self.for_each_versioned_call_batch(filter, batch_size, |rows| {
            visit(rows.into_iter().map(|(body, _)| body).collect())
        })
    }

    /// Reads calls in batches of raw JSON bodies with each call's version
    /// (the change number of its last content write), for callers that store
    /// something computed from the call ([`Store::put_qa_results_if_current`]).
    /// The visitor may read the store (on PostgreSQL the calls come page
    /// by page, the connection free in between).
    pub fn for_each_versioned_call_batch(
        &self,
        filter: &CallFilter,
        batch_size: usize,
        mut visit: impl FnMut(Vec<(String, i64)>) -> Result<()>,
    ) -> Result<u64> {
        let shared = match &self.backend {
            Backend::Sqlite(store) => {
                return store.for_each_versioned_call_batch(filter, batch_size, visit)
            }
            Backend::Postgres(shared) => shared,
        };
        let batch_size = batch_size.max(1);
        let (mut after, mut count) = (None::<String>, 0u64);
        loop {
            let page =
                connection(shared)?.versioned_calls_after(filter, after.as_deref(), batch_size)?;
            let full = page.len() == batch_size;
            count += page.len() as u64;
            after = page.last().map(|(call_id, _, _)| call_id.clone());
            if !page.is_empty() {
                visit(
                    page.into_iter()
                        .map(|(_, body, version)| (body, version))
                        .collect(),
                )?;
            }
            if !full {
                return Ok(count);
            }
        }
    }

    /// Number of calls that pass `filter`.
    pub fn count_calls(&self, filter: &CallFilter) -> Result<u64> {
        dispatch!(self, store => store.count_calls(filter))
    }

    /// Workspace totals for `callscope stats`.
    pub fn stats(&self) -> Result<Stats> {
        dispatch!(self, store => store.stats())
    }

    /// Stores QA results (replacing earlier results of the same call and
    /// scorecard) in one transaction, and marks the calls for re-indexing.
    pub fn put_qa_results(&mut self, results: &[QaResult]) -> Result<()> {
        dispatch_mut!(self, store => store.put_qa_results(results))
    }

    /// Stores QA results computed from the calls' versions in `versions`
    /// (call id → the version [`SqliteStore::for_each_versioned_call_batch`]
    /// gave), in one transaction. A result whose call changed since (or is
    /// gone) is not stored: its call id is returned, to be scored again.
    pub fn put_qa_results_if_current(
        &mut self,
        results: &[QaResult],
        versions: &HashMap<String, i64>,
    ) -> Result<Vec<String>> {
        dispatch_mut!(self, store => store.put_qa_results_if_current(results, versions))
    }

    /// The QA results of one call, one per scorecard.
    pub fn qa_results_of(&self, call_id: &str) -> Result<Vec<QaResult>> {
        dispatch!(self, store => store.qa_results_of(call_id))
    }

    /// Calls `visit` with every stored QA result of calls that pass `filter`.
    pub fn for_each_qa_result(
        &self,
        filter: &CallFilter,
        mut visit: impl FnMut(StoredQa) -> Result<()>,
    ) -> Result<u64> {
        dispatch!(self, store => store.for_each_qa_result(filter, &mut visit))
    }

    /// Calls whose search document is missing or stale, at most `limit`,
    /// each with the change number to hand back to [`SqliteStore::mark_indexed`].
    pub fn unindexed_calls(&self, limit: usize) -> Result<Vec<(Call, i64)>> {
        dispatch!(self, store => store.unindexed_calls(limit))
    }

    /// [`SqliteStore::unindexed_calls`], stopping once the calls read hold
    /// `max_bytes` of JSON (at least one call is returned), so a batch of
    /// very long calls stays bounded in memory.
    pub fn unindexed_calls_within(
        &self,
        limit: usize,
        max_bytes: usize,
    ) -> Result<Vec<(Call, i64)>> {
        dispatch!(self, store => store.unindexed_calls_within(limit, max_bytes))
    }

    /// Number of calls whose search document is missing or stale.
    pub fn count_unindexed(&self) -> Result<u64> {
        dispatch!(self, store => store.count_unindexed())
    }

    /// Records that the index holds each call as of its change number; a
    /// call rewritten meanwhile (a higher change number) stays stale.
    pub fn mark_indexed(&mut self, indexed: &[(String, i64)]) -> Result<()> {
        dispatch_mut!(self, store => store.mark_indexed(indexed))
    }

    /// Marks every call for re-indexing (`callscope index --rebuild`).
    pub fn mark_all_unindexed(&mut self) -> Result<u64> {
        dispatch_mut!(self, store => store.mark_all_unindexed())
    }

    /// Records what redaction did to calls already written with
    /// [`SqliteStore::put_calls`], in one transaction: each record replaces the
    /// call's earlier spans and sealed original (a record without spans or
    /// seal clears them). New writes use [`SqliteStore::put_call_batch`], which
    /// writes a call and its record together.
    pub fn put_call_redactions(
        &mut self,
        records: &[callscope_core::model::CallRedaction],
    ) -> Result<()> {
        dispatch_mut!(self, store => store.put_call_redactions(records))
    }

    /// The sealed original of a call, if one was kept (for QA re-scoring
    /// through `Redactor::unseal`; nothing else reads it).
    pub fn sealed_original(
        &self,
        call_id: &str,
    ) -> Result<Option<callscope_core::model::SealedOriginal>> {
        dispatch!(self, store => store.sealed_original(call_id))
    }

    /// Deletes calls and everything stored for them (QA results, redaction
    /// spans, sealed originals, cached terms) in one transaction, with
    /// SQLite's secure delete on so the freed pages are overwritten; then
    /// vacuums the file (older copies of the rows in pages freed before)
    /// and truncates the write-ahead log. Returns what was removed.
    pub fn forget_calls(&mut self, call_ids: &[String]) -> Result<Forgotten> {
        dispatch_mut!(self, store => store.forget_calls(call_ids))
    }

    /// The calls that started before `epoch` (seconds), for retention.
    /// Calls without a start time are never selected.
    pub fn calls_started_before(&self, epoch: i64) -> Result<Vec<String>> {
        dispatch!(self, store => store.calls_started_before(epoch))
    }

    /// Up to `limit` sealed originals not sealed under `key_id`, in call-id
    /// order (for re-sealing under a new key, batch by batch).
    pub fn sealed_originals_not_under(
        &self,
        key_id: &str,
        limit: usize,
    ) -> Result<Vec<callscope_core::model::SealedOriginal>> {
        dispatch!(self, store => store.sealed_originals_not_under(key_id, limit))
    }

    /// Replaces sealed originals (same calls, re-sealed) in one transaction.
    pub fn replace_sealed_originals(
        &mut self,
        sealed: &[callscope_core::model::SealedOriginal],
    ) -> Result<()> {
        dispatch_mut!(self, store => store.replace_sealed_originals(sealed))
    }

    /// The masked spans of a call (positions and estimated times).
    pub fn redacted_spans(
        &self,
        call_id: &str,
    ) -> Result<Vec<callscope_core::model::RedactedSpan>> {
        dispatch!(self, store => store.redacted_spans(call_id))
    }

    /// Calls with masked spans, and calls with sealed originals.
    pub fn redaction_counts(&self) -> Result<(u64, u64)> {
        dispatch!(self, store => store.redaction_counts())
    }

    /// Rewrites the database file without the free pages where deleted and
    /// replaced rows linger, and empties the write-ahead log (after masking
    /// a workspace in place, so no clear text survives on disk).
    pub fn compact(&mut self) -> Result<()> {
        dispatch_mut!(self, store => store.compact())
    }

    /// First and last local date of the stored calls, `None` when no call
    /// has a start time.
    pub fn local_date_range(&self) -> Result<Option<(String, String)>> {
        dispatch!(self, store => store.local_date_range())
    }

    /// The fingerprint of the term extraction that the cached terms were
    /// made with (`None` before the first digest).
    pub fn term_cache_key(&self) -> Result<Option<String>> {
        dispatch!(self, store => store.term_cache_key())
    }

    /// Empties the term cache and its vocabulary, and records `key` as the
    /// fingerprint of the extraction that fills it from now on.
    pub fn reset_term_cache(&mut self, key: &str) -> Result<()> {
        dispatch_mut!(self, store => store.reset_term_cache(key))
    }

    /// The whole term vocabulary as `(id, term)` pairs.
    pub fn term_vocabulary(&self) -> Result<Vec<(u32, String)>> {
        dispatch!(self, store => store.term_vocabulary())
    }

    /// Number of calls whose terms are not cached (new or changed calls).
    pub fn count_calls_without_terms(&self) -> Result<u64> {
        dispatch!(self, store => store.count_calls_without_terms())
    }

    /// Up to `limit` calls whose terms are not cached, in call-id order
    /// after `after`, as `(call_id, change number, contract JSON body)`.
    pub fn calls_without_terms(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, i64, String)>> {
        dispatch!(self, store => store.calls_without_terms(after, limit))
    }

    /// Caches the terms of calls, `(call_id, change number read, terms,
    /// sentences)`, with the vocabulary entries they introduce, in one
    /// transaction. A call rewritten since it was read (its change number
    /// moved) is skipped, so it is recomputed next time. Returns how many
    /// rows were written, or `None`, writing nothing, when another process
    /// gave one of `new_terms`' ids or terms to something else meanwhile
    /// (reload the vocabulary and compute the batch again).
    pub fn put_cached_terms(
        &mut self,
        new_terms: &[(u32, String)],
        rows: &[(String, i64, Vec<u8>, Vec<u8>)],
    ) -> Result<Option<u64>> {
        dispatch_mut!(self, store => store.put_cached_terms(new_terms, rows))
    }

    /// Visits the cached terms of calls that pass `filter` (only its dates
    /// and queue apply) as `(row, local_date, terms, sentences)`; `sentences`
    /// is empty unless `with_sentences`. Returns how many were visited.
    pub fn for_each_cached_terms(
        &self,
        filter: &CallFilter,
        with_sentences: bool,
        mut visit: impl FnMut(i64, &str, &[u8], &[u8]) -> Result<()>,
    ) -> Result<u64> {
        dispatch!(self, store => store.for_each_cached_terms(filter, with_sentences, &mut visit))
    }

    /// The terms with these vocabulary ids (unknown ids are left out).
    pub fn terms_by_id(&self, ids: &[u32]) -> Result<HashMap<u32, String>> {
        dispatch!(self, store => store.terms_by_id(ids))
    }

    /// The vocabulary id of `term`, if any call's cached terms use it.
    pub fn term_id(&self, term: &str) -> Result<Option<u32>> {
        dispatch!(self, store => store.term_id(term))
    }

    /// The call ids of cached term rows (as visited by
    /// [`SqliteStore::for_each_cached_terms`]); rows no longer there are left out.
    pub fn cached_terms_call_ids(&self, rows: &[i64]) -> Result<HashMap<i64, String>> {
        dispatch!(self, store => store.cached_terms_call_ids(rows))
    }

    /// Visits the figures of every stored QA result of calls that pass
    /// `filter`, the results of one call together (in local date, then
    /// call-id order, which the covering indexes give without a sort); the
    /// contract JSON body comes along only when `with_body` (it is the costly
    /// part). Returns how many were visited.
    pub fn for_each_qa_figures(
        &self,
        filter: &CallFilter,
        with_body: bool,
        mut visit: impl FnMut(callscope_core::model::QaFigures) -> Result<()>,
    ) -> Result<u64> {
        dispatch!(self, store => store.for_each_qa_figures(filter, with_body, &mut visit))
    }

    /// The version of a call's stored result for `scorecard`, or `None`
    /// when the call has no such result.
    pub fn qa_result_version(
        &self,
        call_id: &str,
        scorecard: &str,
    ) -> Result<Option<ResultVersion>> {
        dispatch!(self, store => store.qa_result_version(call_id, scorecard))
    }

    /// Stores a review; returns its id.
    pub fn add_review(&mut self, review: &NewReview) -> Result<i64> {
        dispatch_mut!(self, store => store.add_review(review))
    }

    /// Every review of a call, oldest first (the history: a reviewer who
    /// reviews a rule again adds a row; the latest counts).
    pub fn reviews_of(&self, call_id: &str) -> Result<Vec<Review>> {
        dispatch!(self, store => store.reviews_of(call_id))
    }

    /// Calls `visit` with every review of calls that pass `filter`, with the
    /// call's local date, in call and then review order.
    pub fn for_each_review(
        &self,
        filter: &CallFilter,
        mut visit: impl FnMut(ReviewedRow) -> Result<()>,
    ) -> Result<u64> {
        dispatch!(self, store => store.for_each_review(filter, &mut visit))
    }

    /// Stores an open appeal; returns its id.
    pub fn add_appeal(&mut self, appeal: &NewAppeal) -> Result<i64> {
        dispatch_mut!(self, store => store.add_appeal(appeal))
    }

    /// One appeal.
    pub fn appeal(&self, id: i64) -> Result<Option<Appeal>> {
        dispatch!(self, store => store.appeal(id))
    }

    /// Appeals that pass `filter`, newest first.
    pub fn appeals(&self, filter: &AppealFilter) -> Result<Vec<Appeal>> {
        dispatch!(self, store => store.appeals(filter))
    }

    /// Decides an open appeal (the comment must already be masked). An
    /// appeal decided already, or not there, is refused.
    pub fn decide_appeal(
        &mut self,
        id: i64,
        decided_by: &str,
        accepted: bool,
        comment: &str,
    ) -> Result<Appeal> {
        dispatch_mut!(self, store => store.decide_appeal(id, decided_by, accepted, comment))
    }

    /// Stores assignments; an assignment of the same call to the same
    /// reviewer is kept as it was. Returns how many were new.
    pub fn add_assignments(&mut self, assignments: &[NewAssignment]) -> Result<usize> {
        dispatch_mut!(self, store => store.add_assignments(assignments))
    }

    /// Assignments (of one reviewer, or all), by week and call, each with
    /// whether its reviewer has reviewed the call.
    pub fn assignments(&self, reviewer: Option<&str>) -> Result<Vec<Assignment>> {
        dispatch!(self, store => store.assignments(reviewer))
    }

    /// Records a result's reviewed score beside the machine's (`None`
    /// removes it: no current review is left).
    pub fn put_reviewed_score(
        &mut self,
        call_id: &str,
        scorecard: &str,
        reviewed: Option<ReviewedScore>,
    ) -> Result<()> {
        dispatch_mut!(self, store => store.put_reviewed_score(call_id, scorecard, reviewed))
    }

    /// The reviewed scores stored for a call, by scorecard.
    pub fn reviewed_scores_of(&self, call_id: &str) -> Result<Vec<(String, ReviewedScore)>> {
        dispatch!(self, store => store.reviewed_scores_of(call_id))
    }

    /// The users who review (analysts and leads), by name.
    pub fn reviewers(&self) -> Result<Vec<String>> {
        dispatch!(self, store => store.reviewers())
    }

    /// Adds a user; refuses a name that is taken.
    pub fn add_user(
        &self,
        name: &str,
        role: UserRole,
        agent_id: Option<&str>,
        password_hash: &str,
    ) -> Result<User> {
        dispatch!(self, store => store.add_user(name, role, agent_id, password_hash))
    }

    /// Every user, by name.
    pub fn users(&self) -> Result<Vec<User>> {
        dispatch!(self, store => store.users())
    }

    /// One user, if there is one by that name.
    pub fn user(&self, name: &str) -> Result<Option<User>> {
        dispatch!(self, store => store.user(name))
    }

    /// How many users there are, and whether one is an admin.
    pub fn user_counts(&self) -> Result<(u64, bool)> {
        dispatch!(self, store => store.user_counts())
    }

    /// The user's password hash (a PHC string), if the user exists.
    pub fn password_hash(&self, name: &str) -> Result<Option<String>> {
        dispatch!(self, store => store.password_hash(name))
    }

    /// Replaces a user's password hash and ends their sessions; false when
    /// there is no such user.
    pub fn set_password_hash(&mut self, name: &str, password_hash: &str) -> Result<bool> {
        dispatch_mut!(self, store => store.set_password_hash(name, password_hash))
    }

    /// Removes a user and their sessions (their audit records stay); false
    /// when there is no such user.
    pub fn remove_user(&mut self, name: &str) -> Result<bool> {
        dispatch_mut!(self, store => store.remove_user(name))
    }

    /// Stores a new session (the token's hash, never the token).
    pub fn create_session(
        &self,
        token_hash: &str,
        user_name: &str,
        csrf_token: &str,
        expires_at: i64,
    ) -> Result<()> {
        dispatch!(self, store => store.create_session(token_hash, user_name, csrf_token, expires_at))
    }

    /// The session with this token hash and its user, if it has not expired
    /// at `now` (Unix seconds) and began after `created_after`.
    pub fn session(
        &self,
        token_hash: &str,
        now: i64,
        created_after: i64,
    ) -> Result<Option<Session>> {
        dispatch!(self, store => store.session(token_hash, now, created_after))
    }

    /// Moves a session's end to `expires_at` (it was used).
    pub fn touch_session(&self, token_hash: &str, expires_at: i64) -> Result<()> {
        dispatch!(self, store => store.touch_session(token_hash, expires_at))
    }

    /// Ends a session (sign out).
    pub fn delete_session(&self, token_hash: &str) -> Result<()> {
        dispatch!(self, store => store.delete_session(token_hash))
    }

    /// Deletes the sessions that ended before `now` or began before
    /// `created_before`; returns how many.
    pub fn delete_expired_sessions(&self, now: i64, created_before: i64) -> Result<u64> {
        dispatch!(self, store => store.delete_expired_sessions(now, created_before))
    }

    /// Appends one record to the audit log, stamped with the current time.
    /// The text must be masked already (the server's `auth::audit` does).
    pub fn append_audit(&self, entry: &AuditEntry<'_>) -> Result<()> {
        dispatch!(self, store => store.append_audit(entry))
    }

    /// Audit records matching `filter`, oldest first (with a limit: the
    /// most recent `limit`, still oldest first).
    pub fn audit_log(&self, filter: &AuditFilter) -> Result<Vec<AuditRecord>> {
        dispatch!(self, store => store.audit_log(filter))
    }

    /// The calls in which a value with this keyed hash was found, in call id
    /// order.
    pub fn calls_with_subject(&self, digest: &[u8; 32]) -> Result<Vec<String>> {
        dispatch!(self, store => store.calls_with_subject(digest))
    }

    /// How many subject hashes the store holds (for `redact --check`).
    pub fn subject_hash_count(&self) -> Result<u64> {
        dispatch!(self, store => store.subject_hash_count())
    }
}
