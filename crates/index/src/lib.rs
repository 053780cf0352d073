//! The search index: a tantivy index inside the workspace, one document per
//! call, that follows the store.
//!
//! - **Exact recall for Chinese.** Every segment is indexed as grams (a
//!   character and the next, see [`analyzer`]) and as jieba words. A query
//!   word is found wherever its characters occur, however jieba split the
//!   sentence around it (退款 is found in 申请的退款到现在 and in 退款到账),
//!   and never loses a character (对的 finds 对的, not every 对); a quoted
//!   phrase is exactly its characters in a row. jieba's words rank
//!   whole-word matches higher and say where a query may be cut into parts
//!   ([`plan`]). Query and transcript are normalized alike (traditional to
//!   simplified, width, case, punctuation).
//! - **Follows the store.** [`SearchIndex::sync`] indexes the calls the store
//!   marks stale, commits tantivy, then marks them indexed. A crash between
//!   the two leaves them stale, and re-indexing deletes a call's document
//!   before adding it, so a call is never in the index twice.
//! - **Hits are re-matched.** A found call's segments are re-read from the
//!   store and matched against the same query plan to give the matching
//!   segments, their times and highlights ([`highlight`]).
//!
//! ```no_run
//! use callscope_core::dictionary::Dictionary;
//! use callscope_index::SearchIndex;
//! use callscope_core::model::SearchQuery;
//! use callscope_store::Store;
//!
//! let mut store = Store::open("data/callscope.db".as_ref())?;
//! let mut index = SearchIndex::open("data/index".as_ref(), Dictionary::load(None)?)?;
//! index.sync(&mut store, |_done, _total| {})?;
//! let query = SearchQuery { text: "退款 -到账".to_string(), limit: 10, ..SearchQuery::default() };
//! for result in index.search(&query, &store)?.results {
//!     println!("{} {}", result.call_id, result.hits.len());
//! }
//! # Ok::<(), callscope_core::error::Error>(())
//! ```

pub mod analyzer;
mod facets;
pub mod follow;
pub mod highlight;
mod near;
pub mod partition;
pub mod plan;
pub mod query;
pub mod schema;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rayon::prelude::*;
use serde::Serialize;
use tantivy::collector::{Collector, Count, TopDocs};
use tantivy::directory::error::LockError;
use tantivy::directory::{Directory, DirectoryLock, Lock, MmapDirectory};
use tantivy::query::{Bm25StatisticsProvider, EnableScoring, Query, TermQuery};
use tantivy::schema::document::Value;
use tantivy::schema::{Field, IndexRecordOption, Schema, Term};
use tantivy::{DocAddress, DocSet, Executor, Searcher, TantivyDocument};

use self::analyzer::Analyzer;
use self::facets::FacetCollector;
pub use self::follow::FollowLease;
use self::partition::{partition_folders, partition_of, OpenFailure, Partition};
use self::plan::Plan;
use self::schema::Fields;
use callscope_core::dictionary::Dictionary;
use callscope_core::error::{Error, Result};
use callscope_core::model::{SearchFacets, SearchQuery, SearchResponse, SearchResult, SearchSort};
use callscope_store::{CallFilter, Store};

/// The on-disk format of callscope's index; an index of another format is
/// rebuilt from the store. Format 2: one tantivy index per month
/// (format 1 was one flat index).
const FORMAT: u32 = 2;
/// The file in the index folder that records [`FORMAT`].
const FORMAT_FILE: &str = "callscope-index.json";
/// The lock file held by whoever writes the index (sync, rebuild, forget).
const WRITER_LOCK: &str = "writer.lock";
/// How long `forget` waits for another writer (a follower's round).
const FORGET_WAIT: Duration = Duration::from_secs(60);
/// Calls read from the store, indexed and committed at a time.
const SYNC_BATCH: usize = 10_000;

/// Stored JSON per sync batch at most: a batch of very long calls (hours of
/// transcript each) stays bounded in memory, like the import's batches.
const SYNC_BYTES: usize = 64 * 1024 * 1024;
/// Calls analyzed in parallel at a time.
const ANALYSIS_CHUNK: usize = 512;
/// Candidates re-ranked per result shown (relevance order).
const RERANK_FACTOR: usize = 4;
/// Fewest candidates re-ranked.
const RERANK_MIN: usize = 50;

/// What a sync did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SyncReport {
    /// Calls (re)indexed.
    pub indexed: u64,
    /// Calls in the index afterwards.
    pub documents: u64,
    /// Whether the whole index was rebuilt (asked for, or the index was
    /// missing, of another format, or out of step with the store).
    pub rebuilt: bool,
    /// The partitions (`YYYY-MM`, `undated`) written, sorted.
    pub partitions: Vec<String>,
    /// Seconds it took.
    pub seconds: f64,
}

/// The workspace's search index: one tantivy index per month (see
/// [`partition`]), searched as one.
pub struct SearchIndex {
    directory: PathBuf,
    schema: Schema,
    fields: Fields,
    analyzer: Analyzer,
    /// Runs a search over a partition's segments.
    executor: Executor,
    /// The partitions as of the last reload, sorted by name.
    partitions: Vec<Partition>,
    /// The index was created empty by `open` (new, lost or unreadable), so
    /// the store's "indexed" marks may be wrong.
    created: bool,
}

impl std::fmt::Debug for SearchIndex {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "SearchIndex({})", self.directory.display())
    }
}

impl SearchIndex {
    /// Opens the index in `directory`, creating it when missing. An index of
    /// another format or one that cannot be read is replaced by an empty one,
    /// which the next [`SearchIndex::sync`] fills from the store.
    ///
    /// While a follower keeps the index ([`SearchIndex::followed_by`]),
    /// nothing is replaced: the partitions that open are searched, and the
    /// follower (the only writer) repairs the rest.
    pub fn open(directory: &Path, dictionary: Dictionary) -> Result<SearchIndex> {
        std::fs::create_dir_all(directory).map_err(|error| Error::io(directory, error))?;
        let (schema, fields) = Fields::schema();
        let threads = std::thread::available_parallelism().map_or(1, |count| count.get().min(4));
        let executor = Executor::multi_thread(threads, "callscope-search-")?;
        let mut index = SearchIndex {
            directory: directory.to_path_buf(),
            schema,
            fields,
            analyzer: Analyzer::new(dictionary),
            executor,
            partitions: Vec::new(),
            created: false,
        };
        let format_path = directory.join(FORMAT_FILE);
        let format_ok = std::fs::read_to_string(&format_path)
            .ok()
            .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
            .and_then(|value| value.get("format").and_then(serde_json::Value::as_u64))
            == Some(u64::from(FORMAT));
        if index.followed_by().is_some() {
            if format_ok {
                index.reload()?;
            }
            return Ok(index);
        }
        let damaged = if format_ok {
            match index.open_partitions() {
                Ok(()) => false,
                Err(OpenFailure::Damaged) => true,
                Err(OpenFailure::Error(error)) => return Err(error),
            }
        } else {
            true
        };
        if damaged {
            index.partitions.clear();
            clear_directory(directory)?;
            let format = serde_json::json!({ "format": FORMAT, "layout": "one index per month" })
                .to_string();
            std::fs::write(&format_path, format).map_err(|error| Error::io(&format_path, error))?;
            index.created = true;
        }
        Ok(index)
    }

    /// Opens every partition folder (those open already are kept).
    fn open_partitions(&mut self) -> std::result::Result<(), OpenFailure> {
        let folders = partition_folders(&self.directory).map_err(OpenFailure::Error)?;
        let mut open = std::mem::take(&mut self.partitions);
        for (name, path) in folders {
            match open.iter().position(|partition| partition.name == name) {
                Some(at) => {
                    let partition = open.swap_remove(at);
                    partition.reload()?;
                    self.partitions.push(partition);
                }
                None => self
                    .partitions
                    .push(Partition::open(&path, &name, &self.schema)?),
            }
        }
        self.partitions
            .sort_by(|left, right| left.name.cmp(&right.name));
        Ok(())
    }

    /// Makes what was committed since (by this process or another: a
    /// follower) searchable: the partition folders are listed again (a new
    /// month appears), and every partition's reader reloaded. Writes
    /// nothing.
    pub fn reload(&mut self) -> Result<()> {
        match self.open_partitions() {
            Ok(()) => Ok(()),
            // A partition being replaced as it was read (a rebuild in
            // another process): once more, then report it.
            Err(_) => match self.open_partitions() {
                Ok(()) => Ok(()),
                Err(OpenFailure::Error(error)) => Err(error),
                Err(OpenFailure::Damaged) => Err(Error::Index(format!(
                    "a partition of the search index in {} cannot be read; run `callscope \
                     index --rebuild`",
                    self.directory.display()
                ))),
            },
        }
    }

    /// The follower that keeps this index in step with the store (`callscope
    /// index --follow`, its lease `index/follow.json`), unless it is this
    /// process: one whose lease beats ([`FollowLease::is_live`]), or one on
    /// another machine whatever its heartbeat (this folder is then a copy or
    /// a mount of that follower's index: this machine must not write it, or
    /// it would mark calls indexed in the shared store that the follower's
    /// index never gets). While there is one, searches only
    /// [`SearchIndex::reload`] and leave syncing to it.
    pub fn followed_by(&self) -> Option<FollowLease> {
        FollowLease::read(&self.directory).filter(|lease| {
            !lease.is_mine() && (lease.is_live() || lease.host != follow::host_name())
        })
    }

    /// Writes this process's follow lease (a heartbeat; `callscope index
    /// --follow` at every round), after `rounds` rounds.
    pub fn write_follow_lease(&self, interval: Duration, rounds: u64) -> Result<()> {
        FollowLease::now(interval, rounds).write(&self.directory)
    }

    /// Removes the follow lease if it is this process's.
    pub fn remove_follow_lease(&self) -> Result<()> {
        if FollowLease::read(&self.directory).is_some_and(|lease| lease.is_mine()) {
            let path = self.directory.join(follow::LEASE_FILE);
            std::fs::remove_file(&path).map_err(|error| Error::io(&path, error))?;
        }
        Ok(())
    }

    /// The partitions' names (`YYYY-MM`, `undated`) as of the last reload.
    pub fn partitions(&self) -> Vec<String> {
        self.partitions
            .iter()
            .map(|partition| partition.name.clone())
            .collect()
    }

    /// Calls in the index (as of the last sync or reload).
    pub fn documents(&self) -> u64 {
        self.partitions
            .iter()
            .map(|partition| partition.searcher().num_docs())
            .sum()
    }

    /// Visits every term of the text fields (grams, words, metadata) in
    /// every segment of every partition, those of deleted documents not yet
    /// merged away included: what an audit of the index must see. `visit`
    /// gets the field's name and the term.
    pub fn for_each_text_term(&self, mut visit: impl FnMut(&str, &str)) -> Result<u64> {
        let fields = [
            ("gram_all", self.fields.gram_all),
            ("words_all", self.fields.words_all),
            ("meta", self.fields.meta),
        ];
        let mut count = 0u64;
        for partition in &self.partitions {
            let searcher = partition.searcher();
            for segment in searcher.segment_readers() {
                for (name, field) in fields {
                    let inverted = segment.inverted_index(field)?;
                    let mut terms = inverted.terms().stream().map_err(|error| {
                        Error::Index(format!("reading the index's terms: {error}"))
                    })?;
                    while terms.advance() {
                        if let Ok(term) = std::str::from_utf8(terms.key()) {
                            visit(name, term);
                            count += 1;
                        }
                    }
                }
            }
        }
        Ok(count)
    }

    /// Indexes every call the store marks stale (new, re-imported, re-scored),
    /// each into its month's partition, committing in batches;
    /// `progress(done, total)` follows along.
    ///
    /// Takes the index's writer lock: a second process syncing at the same
    /// time gets an error saying so.
    pub fn sync(
        &mut self,
        store: &mut Store,
        mut progress: impl FnMut(u64, u64),
    ) -> Result<SyncReport> {
        let started = Instant::now();
        let nothing = |index: &SearchIndex| SyncReport {
            documents: index.documents(),
            seconds: started.elapsed().as_secs_f64(),
            ..SyncReport::default()
        };
        // What others committed since is seen (a new month included).
        let damaged = match self.open_partitions() {
            Ok(()) => false,
            Err(OpenFailure::Damaged) => true,
            Err(OpenFailure::Error(error)) => return Err(error),
        };
        let stale = store.count_unindexed()?;
        if stale == 0 && !self.created && !damaged {
            return Ok(nothing(self));
        }
        let _lock = self.lock_writer(Duration::ZERO)?;
        partition::remove_leftovers(&self.directory)?;
        match self.open_partitions() {
            Ok(()) => {}
            // A partition that cannot be read: the index is rebuilt whole,
            // as one that was lost.
            Err(OpenFailure::Damaged) => {
                self.remove_partitions()?;
                self.created = true;
            }
            Err(OpenFailure::Error(error)) => return Err(error),
        }
        let calls = store.count_calls(&CallFilter::default())?;
        // A new (or lost) index while the store believes calls are indexed:
        // everything must be indexed again.
        let store_out_of_step = self.created && stale < calls;
        if stale == 0 && !store_out_of_step {
            self.created = false;
            return Ok(nothing(self));
        }
        // A store that believes nothing is indexed while the index holds
        // documents (a new store beside an old index): start clean, so no
        // call the store no longer has stays findable.
        let index_out_of_step = stale == calls && calls > 0 && self.documents() > 0;
        if store_out_of_step {
            store.mark_all_unindexed()?;
        }
        if store_out_of_step || index_out_of_step {
            self.remove_partitions()?;
        }
        self.created = false;
        let (indexed, partitions) = self.index_stale(store, &mut progress)?;
        Ok(SyncReport {
            indexed,
            documents: self.documents(),
            rebuilt: store_out_of_step || index_out_of_step,
            partitions,
            seconds: started.elapsed().as_secs_f64(),
        })
    }

    /// Rebuilds the index from the store (`callscope index --rebuild`): every
    /// call is marked stale first, then the partitions are removed and
    /// refilled, so a crash at any point leaves calls stale, never lost.
    pub fn rebuild(
        &mut self,
        store: &mut Store,
        mut progress: impl FnMut(u64, u64),
    ) -> Result<SyncReport> {
        let started = Instant::now();
        let _lock = self.lock_writer(Duration::ZERO)?;
        store.mark_all_unindexed()?;
        partition::remove_leftovers(&self.directory)?;
        self.remove_partitions()?;
        self.created = false;
        let (indexed, partitions) = self.index_stale(store, &mut progress)?;
        Ok(SyncReport {
            indexed,
            documents: self.documents(),
            rebuilt: true,
            partitions,
            seconds: started.elapsed().as_secs_f64(),
        })
    }

    /// Removes these calls' documents from every partition that holds them
    /// and merges those partitions' segments, so that nothing of them (their
    /// terms included) is left on disk. Other partitions are not touched.
    pub fn forget(&mut self, call_ids: &[String]) -> Result<()> {
        let _lock = self.lock_writer(FORGET_WAIT)?;
        self.reload()?;
        let terms: Vec<Term> = call_ids
            .iter()
            .map(|call_id| Term::from_field_text(self.fields.call_id, call_id))
            .collect();
        for partition in &self.partitions {
            let searcher = partition.searcher();
            let mut held = Vec::new();
            for term in &terms {
                if partition::holds_on_disk(&searcher, term)? {
                    held.push(term.clone());
                }
            }
            if held.is_empty() {
                continue;
            }
            drop(searcher);
            let mut writer = partition.writer()?;
            for term in held {
                writer.delete_term(term);
            }
            writer.commit()?;
            let segments = partition.index.searchable_segment_ids()?;
            if !segments.is_empty() {
                writer.merge(&segments).wait()?;
            }
            writer.garbage_collect_files().wait()?;
            writer.wait_merging_threads()?;
            partition.reader.reload()?;
        }
        Ok(())
    }

    /// The index's writer lock (`index/writer.lock`), held while this
    /// process writes any partition; waits up to `wait` for another writer.
    fn lock_writer(&self, wait: Duration) -> Result<DirectoryLock> {
        let directory = MmapDirectory::open(&self.directory)
            .map_err(|error| Error::Index(format!("cannot open the index folder: {error}")))?;
        let lock = Lock {
            filepath: PathBuf::from(WRITER_LOCK),
            is_blocking: false,
        };
        let started = Instant::now();
        loop {
            match directory.acquire_lock(&lock) {
                Ok(held) => return Ok(held),
                Err(LockError::LockBusy) if started.elapsed() < wait => {
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(LockError::LockBusy) => return Err(partition::busy()),
                Err(LockError::IoError(error)) => {
                    return Err(Error::io(
                        self.directory.join(WRITER_LOCK),
                        std::io::Error::new(error.kind(), error.to_string()),
                    ))
                }
            }
        }
    }

    /// Removes every partition folder, readable or not (the start of a
    /// rebuild).
    fn remove_partitions(&mut self) -> Result<()> {
        self.partitions.clear();
        let entries = std::fs::read_dir(&self.directory)
            .map_err(|error| Error::io(&self.directory, error))?;
        for entry in entries {
            let entry = entry.map_err(|error| Error::io(&self.directory, error))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if partition::is_partition_name(&name) && entry.path().is_dir() {
                partition::remove(&self.directory, &name)?;
            }
        }
        Ok(())
    }

    /// The position of partition `name`, created when missing.
    fn partition_for_writing(&mut self, name: &str) -> Result<usize> {
        if let Some(at) = self
            .partitions
            .iter()
            .position(|partition| partition.name == name)
        {
            return Ok(at);
        }
        let partition = Partition::create(&self.directory, name, &self.schema)?;
        let at = self
            .partitions
            .partition_point(|partition| partition.name.as_str() < name);
        self.partitions.insert(at, partition);
        Ok(at)
    }

    /// Indexes stale calls batch by batch: each call goes to its month's
    /// partition (deleted first there, and from any other partition that
    /// holds it: a call re-imported with another date moves); every
    /// partition the batch touches is committed, one writer at a time, then
    /// the batch is marked indexed in the store. Returns the calls indexed
    /// and the partitions written.
    fn index_stale(
        &mut self,
        store: &mut Store,
        progress: &mut impl FnMut(u64, u64),
    ) -> Result<(u64, Vec<String>)> {
        let total = store.count_unindexed()?;
        let mut done = 0u64;
        let mut written = BTreeSet::new();
        progress(0, total);
        loop {
            let batch = store.unindexed_calls_within(SYNC_BATCH, SYNC_BYTES)?;
            if batch.is_empty() {
                break;
            }
            let mut qa = Vec::with_capacity(batch.len());
            for (call, _) in &batch {
                qa.push(store.qa_results_of(&call.call_id)?);
            }
            let targets: Vec<String> = batch.iter().map(|(call, _)| partition_of(call)).collect();
            // What each partition gets: calls to add, calls to delete.
            let mut adds: BTreeMap<String, Vec<usize>> = BTreeMap::new();
            for (position, target) in targets.iter().enumerate() {
                adds.entry(target.clone()).or_default().push(position);
            }
            let mut moves: BTreeMap<String, Vec<Term>> = BTreeMap::new();
            for partition in &self.partitions {
                let searcher = partition.searcher();
                for ((call, _), target) in batch.iter().zip(&targets) {
                    if *target == partition.name {
                        continue;
                    }
                    let term = Term::from_field_text(self.fields.call_id, &call.call_id);
                    if partition::holds_live(&searcher, &term)? {
                        moves.entry(partition.name.clone()).or_default().push(term);
                    }
                }
            }
            let touched: BTreeSet<String> = adds.keys().chain(moves.keys()).cloned().collect();
            for name in touched {
                let at = self.partition_for_writing(&name)?;
                let partition = &self.partitions[at];
                let mut writer = partition.writer()?;
                for term in moves.remove(&name).unwrap_or_default() {
                    writer.delete_term(term);
                }
                let positions = adds.remove(&name).unwrap_or_default();
                for &position in &positions {
                    let call_id = &batch[position].0.call_id;
                    writer.delete_term(Term::from_field_text(self.fields.call_id, call_id));
                }
                // Analysis runs on all cores a chunk at a time (memory stays
                // bounded) while tantivy's threads index the previous chunk.
                for chunk in positions.chunks(ANALYSIS_CHUNK) {
                    let documents: Vec<TantivyDocument> = chunk
                        .par_iter()
                        .map(|&position| {
                            schema::document(
                                &self.analyzer,
                                &self.fields,
                                &batch[position].0,
                                &qa[position],
                            )
                        })
                        .collect();
                    for document in documents {
                        writer.add_document(document)?;
                    }
                }
                writer.commit()?;
                writer.wait_merging_threads()?;
                partition.reader.reload()?;
                written.insert(name);
            }
            let marks: Vec<(String, i64)> = batch
                .into_iter()
                .map(|(call, change)| (call.call_id, change))
                .collect();
            store.mark_indexed(&marks)?;
            done += marks.len() as u64;
            progress(done, total.max(done));
        }
        Ok((done, written.into_iter().collect()))
    }

    /// Runs a search: the query in callscope's query language plus the
    /// filters, the best `limit` calls in the asked order with their matching
    /// segments (re-read from `store`), the number of matching calls and,
    /// when asked, the counts per facet.
    pub fn search(&self, search: &SearchQuery, store: &Store) -> Result<SearchResponse> {
        let Found {
            plan,
            searchers,
            total,
            top,
            facets,
        } = self.find(search)?;
        let mut results = Vec::with_capacity(top.len());
        for hit in top {
            let searcher = &searchers[hit.partition];
            let Some(call_id) = self.call_id_of(searcher, hit.address)? else {
                continue;
            };
            // A call the store no longer has (an index ahead of a replaced
            // store) is not shown; the next sync removes it.
            let Some(call) = store.get_call(&call_id)? else {
                continue;
            };
            let qa_score = searcher
                .segment_reader(hit.address.segment_ord)
                .fast_fields()
                .f64("qa_score")
                .ok()
                .and_then(|column| column.first(hit.address.doc_id));
            results.push(SearchResult {
                hits: highlight::hits(&plan, &call, &self.analyzer),
                call_id,
                score: (f64::from(hit.score) * 1000.0).round() / 1000.0,
                started_at: call.started_at,
                agent_id: call.agent_id,
                team: call.team,
                queue: call.queue,
                qa_score,
            });
        }
        Ok(SearchResponse {
            total,
            results,
            facets,
        })
    }

    /// Like [`SearchIndex::search`] without reading the store: the number of
    /// matching calls and the best `limit` call ids with their relevance.
    pub fn search_ids(&self, search: &SearchQuery) -> Result<(u64, Vec<(String, f64)>)> {
        let found = self.find(search)?;
        let mut ids = Vec::with_capacity(found.top.len());
        for hit in found.top {
            if let Some(call_id) = self.call_id_of(&found.searchers[hit.partition], hit.address)? {
                ids.push((call_id, f64::from(hit.score)));
            }
        }
        Ok((found.total, ids))
    }

    /// Parses, plans and runs a search in every partition: totals and facet
    /// counts are summed, each partition's best candidates merged by the
    /// sort key, and relevance is scored with the statistics of all
    /// partitions together (the same scores as one index of all calls).
    fn find(&self, search: &SearchQuery) -> Result<Found> {
        let expr =
            query::parse(&search.text).map_err(|error| Error::Usage(error.render(&search.text)))?;
        let plan = Plan::build(&expr, &self.analyzer, search.role)
            .map_err(|error| Error::Usage(error.render(&search.text)))?;
        check_flags(search)?;
        let tantivy_query = plan::compile(&plan, &self.fields, search);
        let query = tantivy_query.as_ref();
        let searchers: Vec<Searcher> = self.partitions.iter().map(Partition::searcher).collect();
        let statistics = Statistics {
            searchers: &searchers,
        };
        // Ranked by relevance, more candidates than shown are collected and
        // re-ranked with the whole-word (jieba) bonus.
        let ranking_words = plan.ranking_words(&self.analyzer);
        let rerank = search.sort == SearchSort::Relevance && !ranking_words.is_empty();
        let candidates = if rerank {
            (search.limit * RERANK_FACTOR).max(RERANK_MIN)
        } else {
            search.limit
        };
        let mut total = 0u64;
        let mut facet_parts = Vec::new();
        let mut top = Vec::new();
        for (partition, searcher) in searchers.iter().enumerate() {
            let (count, hits, facets) =
                self.find_in(searcher, query, search, candidates, &statistics)?;
            total += count as u64;
            facet_parts.extend(facets);
            top.extend(hits.into_iter().map(|(key, address)| Hit {
                key,
                score: key.1,
                partition,
                address,
            }));
        }
        top.sort_by(Hit::order);
        top.truncate(candidates);
        let top = if rerank {
            self.rerank(&searchers, &statistics, &ranking_words, top, search.limit)?
        } else {
            top
        };
        let facets = search.facets.then(|| facets::merge(facet_parts));
        Ok(Found {
            plan,
            searchers,
            total,
            top,
            facets,
        })
    }

    /// One partition's part of a search: its matches counted, its best
    /// `candidates` by the sort key, its facet counts when asked.
    fn find_in(
        &self,
        searcher: &Searcher,
        query: &dyn Query,
        search: &SearchQuery,
        candidates: usize,
        statistics: &Statistics<'_>,
    ) -> Result<PartitionFound> {
        let facet_collector = search.facets.then_some(FacetCollector);
        let limit = TopDocs::with_limit(candidates.max(1));
        let by_relevance = |top: Vec<(f32, DocAddress)>| {
            top.into_iter()
                .map(|(score, address)| ((f64::from(score), score), address))
                .collect::<Vec<_>>()
        };
        // A bare term (one word of two characters, no filter) is counted
        // from its document frequency and its best calls found by block-max
        // WAND, without visiting every match. Anything else is matched once,
        // counting, ranking and faceting in the same pass.
        if search.limit == 0 {
            let (total, facets) =
                self.collect(searcher, query, &(Count, facet_collector), statistics)?;
            return Ok((total, Vec::new(), facets));
        }
        if search.sort == SearchSort::Relevance
            && !search.facets
            && query.downcast_ref::<TermQuery>().is_some()
        {
            let total = query.count(searcher)?;
            let top = self.collect(searcher, query, &limit, statistics)?;
            return Ok((total, by_relevance(top), None));
        }
        Ok(match search.sort {
            SearchSort::Relevance => {
                let (top, total, facets) = self.collect(
                    searcher,
                    query,
                    &(limit, Count, facet_collector),
                    statistics,
                )?;
                (total, by_relevance(top), facets)
            }
            SearchSort::Time => {
                let by_time = limit.tweak_score(|segment: &tantivy::SegmentReader| {
                    let column = segment.fast_fields().i64("started_epoch").ok();
                    move |doc, score| {
                        let started = column.as_ref().and_then(|column| column.first(doc));
                        (started.unwrap_or(i64::MIN), score)
                    }
                });
                let (top, total, facets) = self.collect(
                    searcher,
                    query,
                    &(by_time, Count, facet_collector),
                    statistics,
                )?;
                let top = top
                    .into_iter()
                    .map(|((started, score), address)| ((started as f64, score), address))
                    .collect();
                (total, top, facets)
            }
            SearchSort::Score => {
                let by_score = limit.tweak_score(|segment: &tantivy::SegmentReader| {
                    let column = segment.fast_fields().f64("qa_score").ok();
                    move |doc, score| {
                        // Lowest QA score first, unscored calls last.
                        let qa = column.as_ref().and_then(|column| column.first(doc));
                        (qa.map_or(f64::NEG_INFINITY, |qa| -qa), score)
                    }
                });
                let (top, total, facets) = self.collect(
                    searcher,
                    query,
                    &(by_score, Count, facet_collector),
                    statistics,
                )?;
                (total, top, facets)
            }
        })
    }

    /// Runs `collector` over one partition, scoring (when it needs scores)
    /// with the statistics of all partitions.
    fn collect<C: Collector>(
        &self,
        searcher: &Searcher,
        query: &dyn Query,
        collector: &C,
        statistics: &Statistics<'_>,
    ) -> Result<C::Fruit> {
        let scoring = if collector.requires_scoring() {
            EnableScoring::enabled_from_statistics_provider(statistics, searcher)
        } else {
            EnableScoring::disabled_from_searcher(searcher)
        };
        Ok(searcher.search_with_executor(query, collector, &self.executor, scoring)?)
    }

    /// Adds to each candidate's score the BM25 of the query's words where
    /// jieba found them as whole words in the call (so 和服 ranks a call about
    /// kimonos above one where the characters meet in 和服务), re-sorts and
    /// keeps the best `limit`. The words' statistics are those of all
    /// partitions.
    fn rerank(
        &self,
        searchers: &[Searcher],
        statistics: &Statistics<'_>,
        words: &[String],
        mut candidates: Vec<Hit>,
        limit: usize,
    ) -> Result<Vec<Hit>> {
        let Some(first) = searchers.first() else {
            return Ok(Vec::new());
        };
        let weights = words
            .iter()
            .map(|word| {
                TermQuery::new(
                    Term::from_field_text(self.fields.words_all, word),
                    IndexRecordOption::WithFreqs,
                )
                .weight(EnableScoring::enabled_from_statistics_provider(
                    statistics, first,
                ))
            })
            .collect::<tantivy::Result<Vec<_>>>()?;
        // Per segment, in document order, so every scorer only moves forward.
        let mut order: Vec<usize> = (0..candidates.len()).collect();
        order.sort_by_key(|&index| (candidates[index].partition, candidates[index].address));
        let segment_of = |hit: &Hit| (hit.partition, hit.address.segment_ord);
        let mut start = 0;
        while start < order.len() {
            let segment = segment_of(&candidates[order[start]]);
            let end = order[start..]
                .iter()
                .position(|&index| segment_of(&candidates[index]) != segment)
                .map_or(order.len(), |length| start + length);
            let reader = searchers[segment.0].segment_reader(segment.1);
            for weight in &weights {
                let mut scorer = weight.scorer(reader, 1.0)?;
                for &index in &order[start..end] {
                    let doc = candidates[index].address.doc_id;
                    if scorer.doc() <= doc && scorer.seek(doc) == doc {
                        candidates[index].score += scorer.score();
                    }
                }
            }
            start = end;
        }
        for candidate in &mut candidates {
            candidate.key = (f64::from(candidate.score), candidate.score);
        }
        candidates.sort_by(Hit::order);
        candidates.truncate(limit);
        Ok(candidates)
    }

    fn call_id_of(&self, searcher: &Searcher, address: DocAddress) -> Result<Option<String>> {
        let document: TantivyDocument = searcher.doc(address)?;
        Ok(document
            .get_first(self.fields.call_id)
            .and_then(|value| value.as_str())
            .map(str::to_string))
    }
}

/// What a result is sorted by, best first: the sort's value (relevance, start
/// time, negated QA score), then relevance.
type SortKey = (f64, f32);

/// One partition's part of a search: its matches, its best candidates by
/// the sort key, its facet counts.
type PartitionFound = (usize, Vec<(SortKey, DocAddress)>, Option<SearchFacets>);

/// A candidate: its key, relevance, partition and address there.
#[derive(Debug, Clone, Copy)]
struct Hit {
    key: SortKey,
    score: f32,
    partition: usize,
    address: DocAddress,
}

impl Hit {
    /// Best key first; ties by partition, then address (deterministic).
    fn order(left: &Hit, right: &Hit) -> std::cmp::Ordering {
        right
            .key
            .0
            .total_cmp(&left.key.0)
            .then(right.key.1.total_cmp(&left.key.1))
            .then(left.partition.cmp(&right.partition))
            .then(left.address.cmp(&right.address))
    }
}

/// BM25's statistics over all partitions: scores are those one index of
/// every call would give.
struct Statistics<'a> {
    searchers: &'a [Searcher],
}

impl Bm25StatisticsProvider for Statistics<'_> {
    fn total_num_tokens(&self, field: Field) -> tantivy::Result<u64> {
        let mut total = 0;
        for searcher in self.searchers {
            total += Bm25StatisticsProvider::total_num_tokens(searcher, field)?;
        }
        Ok(total)
    }

    fn total_num_docs(&self) -> tantivy::Result<u64> {
        let mut total = 0;
        for searcher in self.searchers {
            total += Bm25StatisticsProvider::total_num_docs(searcher)?;
        }
        Ok(total)
    }

    fn doc_freq(&self, term: &Term) -> tantivy::Result<u64> {
        let mut total = 0;
        for searcher in self.searchers {
            total += searcher.doc_freq(term)?;
        }
        Ok(total)
    }
}

/// What a search found in the index, before the store is read.
struct Found {
    plan: Plan,
    searchers: Vec<Searcher>,
    total: u64,
    top: Vec<Hit>,
    facets: Option<SearchFacets>,
}

fn check_flags(search: &SearchQuery) -> Result<()> {
    if let (Some(from), Some(to)) = (search.from, search.to) {
        if from > to {
            return Err(Error::Usage(format!(
                "--from {from} is after --to {to}; swap them"
            )));
        }
    }
    if let (Some(min), Some(max)) = (search.min_score, search.max_score) {
        if min > max {
            return Err(Error::Usage(format!(
                "--min-score {min} is above --max-score {max}; swap them"
            )));
        }
    }
    Ok(())
}

/// Empties the index folder (the index is derived data: the store has it all).
fn clear_directory(directory: &Path) -> Result<()> {
    let entries = std::fs::read_dir(directory).map_err(|error| Error::io(directory, error))?;
    for entry in entries {
        let path = entry.map_err(|error| Error::io(directory, error))?.path();
        let removed = if path.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        removed.map_err(|error| Error::io(&path, error))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
