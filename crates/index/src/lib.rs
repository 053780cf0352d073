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
pub mod highlight;
mod near;
pub mod plan;
pub mod query;
pub mod schema;

use std::path::{Path, PathBuf};
use std::time::Instant;

use rayon::prelude::*;
use serde::Serialize;
use tantivy::collector::{Count, TopDocs};
use tantivy::directory::error::{LockError, OpenReadError};
use tantivy::query::{EnableScoring, Query, TermQuery};
use tantivy::schema::document::Value;
use tantivy::schema::{IndexRecordOption, Term};
use tantivy::{
    DocAddress, DocSet, Index, IndexReader, IndexWriter, ReloadPolicy, Searcher, TantivyDocument,
    TantivyError,
};

use self::analyzer::{Analyzer, EncodedTokenizer};
use self::facets::FacetCollector;
use self::plan::Plan;
use self::schema::{Fields, TOKENIZER};
use callscope_core::dictionary::Dictionary;
use callscope_core::error::{Error, Result};
use callscope_core::model::{SearchQuery, SearchResponse, SearchResult, SearchSort};
use callscope_store::{CallFilter, Store};

/// The on-disk format of callscope's index; an index of another format is
/// rebuilt from the store.
const FORMAT: u32 = 1;
/// The file in the index folder that records [`FORMAT`].
const FORMAT_FILE: &str = "callscope-index.json";
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
/// Indexing memory per writer thread.
const WRITER_MEMORY_PER_THREAD: usize = 96 << 20;

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
    /// Seconds it took.
    pub seconds: f64,
}

/// The workspace's search index.
pub struct SearchIndex {
    directory: PathBuf,
    index: Index,
    reader: IndexReader,
    fields: Fields,
    analyzer: Analyzer,
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
    pub fn open(directory: &Path, dictionary: Dictionary) -> Result<SearchIndex> {
        std::fs::create_dir_all(directory).map_err(|error| Error::io(directory, error))?;
        let (schema, fields) = Fields::schema();
        let format_path = directory.join(FORMAT_FILE);
        let format_ok = std::fs::read_to_string(&format_path)
            .ok()
            .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
            .and_then(|value| value.get("format").and_then(serde_json::Value::as_u64))
            == Some(u64::from(FORMAT));
        let existing = if format_ok && directory.join("meta.json").exists() {
            match Index::open_in_dir(directory) {
                // A schema of another build of callscope: rebuild.
                Ok(index) if index.schema() == schema => Some(index),
                Ok(_) => None,
                Err(
                    TantivyError::DataCorruption(_)
                    | TantivyError::IncompatibleIndex(_)
                    | TantivyError::SchemaError(_)
                    | TantivyError::OpenReadError(OpenReadError::FileDoesNotExist(_)),
                ) => None,
                Err(error) => {
                    return Err(Error::Index(format!(
                        "cannot open {}: {error}; check the folder's permissions, or run \
                         `callscope index --rebuild`",
                        directory.display()
                    )))
                }
            }
        } else {
            None
        };
        let created = existing.is_none();
        let mut index = match existing {
            Some(index) => index,
            None => {
                clear_directory(directory)?;
                let index = Index::create_in_dir(directory, schema)?;
                let format = serde_json::json!({ "format": FORMAT }).to_string();
                std::fs::write(&format_path, format)
                    .map_err(|error| Error::io(&format_path, error))?;
                index
            }
        };
        let analyzer = Analyzer::new(dictionary);
        index
            .tokenizers()
            .register(TOKENIZER, EncodedTokenizer::default());
        let threads = std::thread::available_parallelism().map_or(1, |count| count.get().min(4));
        index.set_multithread_executor(threads)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(SearchIndex {
            directory: directory.to_path_buf(),
            index,
            reader,
            fields,
            analyzer,
            created,
        })
    }

    /// Calls in the index (as of the last sync).
    pub fn documents(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Visits every term of the text fields (grams, words, metadata) in
    /// every segment, those of deleted documents not yet merged away
    /// included: what an audit of the index must see. `visit` gets the
    /// field's name and the term.
    pub fn for_each_text_term(&self, mut visit: impl FnMut(&str, &str)) -> Result<u64> {
        let searcher = self.reader.searcher();
        let fields = [
            ("gram_all", self.fields.gram_all),
            ("words_all", self.fields.words_all),
            ("meta", self.fields.meta),
        ];
        let mut count = 0u64;
        for segment in searcher.segment_readers() {
            for (name, field) in fields {
                let inverted = segment.inverted_index(field)?;
                let mut terms = inverted
                    .terms()
                    .stream()
                    .map_err(|error| Error::Index(format!("reading the index's terms: {error}")))?;
                while terms.advance() {
                    if let Ok(term) = std::str::from_utf8(terms.key()) {
                        visit(name, term);
                        count += 1;
                    }
                }
            }
        }
        Ok(count)
    }

    /// Indexes every call the store marks stale (new, re-imported, re-scored),
    /// committing in batches; `progress(done, total)` follows along.
    ///
    /// Takes the index's writer lock: a second process syncing at the same
    /// time gets an error saying so.
    pub fn sync(
        &mut self,
        store: &mut Store,
        mut progress: impl FnMut(u64, u64),
    ) -> Result<SyncReport> {
        let started = Instant::now();
        let stale = store.count_unindexed()?;
        if stale == 0 && !self.created {
            return Ok(SyncReport {
                documents: self.documents(),
                seconds: started.elapsed().as_secs_f64(),
                ..SyncReport::default()
            });
        }
        let calls = store.count_calls(&CallFilter::default())?;
        // A new (or lost) index while the store believes calls are indexed:
        // everything must be indexed again.
        let store_out_of_step = self.created && stale < calls;
        // A store that believes nothing is indexed while the index holds
        // documents (a new store beside an old index): start clean, so no
        // call the store no longer has stays findable.
        let index_out_of_step = stale == calls && calls > 0 && self.documents() > 0;
        if stale == 0 && !store_out_of_step {
            self.created = false;
            return Ok(SyncReport {
                documents: self.documents(),
                seconds: started.elapsed().as_secs_f64(),
                ..SyncReport::default()
            });
        }
        let mut writer = self.writer()?;
        if store_out_of_step {
            store.mark_all_unindexed()?;
        }
        if store_out_of_step || index_out_of_step {
            writer.delete_all_documents()?;
            writer.commit()?;
        }
        self.created = false;
        let indexed = self.index_stale(&mut writer, store, &mut progress)?;
        self.finish(writer)?;
        Ok(SyncReport {
            indexed,
            documents: self.documents(),
            rebuilt: store_out_of_step || index_out_of_step,
            seconds: started.elapsed().as_secs_f64(),
        })
    }

    /// Rebuilds the index from the store (`callscope index --rebuild`): every
    /// call is marked stale first, then the index is emptied and refilled, so
    /// a crash at any point leaves calls stale, never lost.
    pub fn rebuild(
        &mut self,
        store: &mut Store,
        mut progress: impl FnMut(u64, u64),
    ) -> Result<SyncReport> {
        let started = Instant::now();
        let mut writer = self.writer()?;
        store.mark_all_unindexed()?;
        writer.delete_all_documents()?;
        writer.commit()?;
        self.created = false;
        let indexed = self.index_stale(&mut writer, store, &mut progress)?;
        self.finish(writer)?;
        Ok(SyncReport {
            indexed,
            documents: self.documents(),
            rebuilt: true,
            seconds: started.elapsed().as_secs_f64(),
        })
    }

    /// Removes these calls' documents and merges the index's segments, so
    /// that nothing of them (their terms included) is left on disk.
    pub fn forget(&mut self, call_ids: &[String]) -> Result<()> {
        let mut writer = self.writer()?;
        for call_id in call_ids {
            writer.delete_term(Term::from_field_text(self.fields.call_id, call_id));
        }
        writer.commit()?;
        let segments = self.index.searchable_segment_ids()?;
        if !segments.is_empty() {
            writer.merge(&segments).wait()?;
        }
        writer.garbage_collect_files().wait()?;
        self.finish(writer)
    }

    /// The index's one writer. Files that a process killed in a commit left
    /// behind (listed as managed, named by no meta: a delete file
    /// `SEGMENT.OPSTAMP.del`, a half-written segment) are collected first:
    /// this process reaches the same operation stamps and would otherwise
    /// fail to create a file of the same name at every commit.
    fn writer(&self) -> Result<IndexWriter> {
        let threads = std::thread::available_parallelism().map_or(1, |count| count.get().min(4));
        let writer = self
            .index
            .writer_with_num_threads(threads, threads * WRITER_MEMORY_PER_THREAD)
            .map_err(|error| match error {
                TantivyError::LockFailure(LockError::LockBusy, _) => Error::Index(
                    "another callscope process is updating the search index; wait for it to \
                     finish and try again"
                        .to_string(),
                ),
                other => Error::from(other),
            })?;
        writer.garbage_collect_files().wait()?;
        Ok(writer)
    }

    /// Waits for merges and makes the committed documents searchable.
    fn finish(&mut self, writer: IndexWriter) -> Result<()> {
        writer.wait_merging_threads()?;
        self.reader.reload()?;
        Ok(())
    }

    /// Indexes stale calls batch by batch: delete each call's old document,
    /// add the new one, commit, then mark the batch indexed in the store.
    fn index_stale(
        &self,
        writer: &mut IndexWriter,
        store: &mut Store,
        progress: &mut impl FnMut(u64, u64),
    ) -> Result<u64> {
        let total = store.count_unindexed()?;
        let mut done = 0u64;
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
            for (call, _) in &batch {
                writer.delete_term(Term::from_field_text(self.fields.call_id, &call.call_id));
            }
            // Analysis runs on all cores a chunk at a time (memory stays
            // bounded) while tantivy's threads index the previous chunk.
            for (calls, results) in batch.chunks(ANALYSIS_CHUNK).zip(qa.chunks(ANALYSIS_CHUNK)) {
                let documents: Vec<TantivyDocument> = calls
                    .par_iter()
                    .zip(results.par_iter())
                    .map(|((call, _), results)| {
                        schema::document(&self.analyzer, &self.fields, call, results)
                    })
                    .collect();
                for document in documents {
                    writer.add_document(document)?;
                }
            }
            writer.commit()?;
            let marks: Vec<(String, i64)> = batch
                .into_iter()
                .map(|(call, change)| (call.call_id, change))
                .collect();
            store.mark_indexed(&marks)?;
            done += marks.len() as u64;
            progress(done, total.max(done));
        }
        Ok(done)
    }

    /// Runs a search: the query in callscope's query language plus the
    /// filters, the best `limit` calls in the asked order with their matching
    /// segments (re-read from `store`), the number of matching calls and,
    /// when asked, the counts per facet.
    pub fn search(&self, search: &SearchQuery, store: &Store) -> Result<SearchResponse> {
        let Found {
            plan,
            searcher,
            total,
            top,
            facets,
        } = self.find(search)?;
        let mut results = Vec::with_capacity(top.len());
        for (score, address) in top {
            let Some(call_id) = self.call_id_of(&searcher, address)? else {
                continue;
            };
            // A call the store no longer has (an index ahead of a replaced
            // store) is not shown; the next sync removes it.
            let Some(call) = store.get_call(&call_id)? else {
                continue;
            };
            let qa_score = searcher
                .segment_reader(address.segment_ord)
                .fast_fields()
                .f64("qa_score")
                .ok()
                .and_then(|column| column.first(address.doc_id));
            results.push(SearchResult {
                hits: highlight::hits(&plan, &call, &self.analyzer),
                call_id,
                score: (f64::from(score) * 1000.0).round() / 1000.0,
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
        for (score, address) in found.top {
            if let Some(call_id) = self.call_id_of(&found.searcher, address)? {
                ids.push((call_id, f64::from(score)));
            }
        }
        Ok((found.total, ids))
    }

    /// Parses, plans and runs a search in the index.
    fn find(&self, search: &SearchQuery) -> Result<Found> {
        let expr =
            query::parse(&search.text).map_err(|error| Error::Usage(error.render(&search.text)))?;
        let plan = Plan::build(&expr, &self.analyzer, search.role)
            .map_err(|error| Error::Usage(error.render(&search.text)))?;
        check_flags(search)?;
        let tantivy_query = plan::compile(&plan, &self.fields, search);
        let searcher = self.reader.searcher();
        let query = tantivy_query.as_ref();
        let facet_collector = search.facets.then_some(FacetCollector);
        // Ranked by relevance, more candidates than shown are collected and
        // re-ranked with the whole-word (jieba) bonus.
        let ranking_words = plan.ranking_words(&self.analyzer);
        let rerank = search.sort == SearchSort::Relevance && !ranking_words.is_empty();
        let candidates = if rerank {
            (search.limit * RERANK_FACTOR).max(RERANK_MIN)
        } else {
            search.limit
        };
        let limit = TopDocs::with_limit(candidates.max(1));
        // A bare term (one word of two characters, no filter) is counted
        // from its document frequency and its best calls found by block-max
        // WAND, without visiting every match. Anything else is matched once,
        // counting, ranking and faceting in the same pass.
        let (total, top, facets) = if search.limit == 0 {
            let (total, facets) = searcher.search(query, &(Count, facet_collector))?;
            (total, Vec::new(), facets)
        } else if search.sort == SearchSort::Relevance
            && !search.facets
            && query.downcast_ref::<TermQuery>().is_some()
        {
            (
                query.count(&searcher)?,
                searcher.search(query, &limit)?,
                None,
            )
        } else {
            match search.sort {
                SearchSort::Relevance => {
                    let (top, total, facets) =
                        searcher.search(query, &(limit, Count, facet_collector))?;
                    (total, top, facets)
                }
                SearchSort::Time => {
                    let by_time = limit.tweak_score(|segment: &tantivy::SegmentReader| {
                        let column = segment.fast_fields().i64("started_epoch").ok();
                        move |doc, score| {
                            let started = column.as_ref().and_then(|column| column.first(doc));
                            (started.unwrap_or(i64::MIN), score)
                        }
                    });
                    let (top, total, facets) =
                        searcher.search(query, &(by_time, Count, facet_collector))?;
                    (
                        total,
                        top.into_iter()
                            .map(|((_, score), address)| (score, address))
                            .collect(),
                        facets,
                    )
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
                    let (top, total, facets) =
                        searcher.search(query, &(by_score, Count, facet_collector))?;
                    (
                        total,
                        top.into_iter()
                            .map(|((_, score), address)| (score, address))
                            .collect(),
                        facets,
                    )
                }
            }
        };
        let top = if rerank {
            self.rerank(&searcher, &ranking_words, top, search.limit)?
        } else {
            top
        };
        Ok(Found {
            plan,
            searcher,
            total: total as u64,
            top,
            facets,
        })
    }

    /// Adds to each candidate's score the BM25 of the query's words where
    /// jieba found them as whole words in the call (so 和服 ranks a call about
    /// kimonos above one where the characters meet in 和服务), re-sorts and
    /// keeps the best `limit`.
    fn rerank(
        &self,
        searcher: &Searcher,
        words: &[String],
        mut candidates: Vec<(f32, DocAddress)>,
        limit: usize,
    ) -> Result<Vec<(f32, DocAddress)>> {
        let weights = words
            .iter()
            .map(|word| {
                TermQuery::new(
                    Term::from_field_text(self.fields.words_all, word),
                    IndexRecordOption::WithFreqs,
                )
                .weight(EnableScoring::enabled_from_searcher(searcher))
            })
            .collect::<tantivy::Result<Vec<_>>>()?;
        // Per segment, in document order, so every scorer only moves forward.
        let mut order: Vec<usize> = (0..candidates.len()).collect();
        order.sort_by_key(|&index| candidates[index].1);
        let mut start = 0;
        while start < order.len() {
            let segment = candidates[order[start]].1.segment_ord;
            let end = order[start..]
                .iter()
                .position(|&index| candidates[index].1.segment_ord != segment)
                .map_or(order.len(), |length| start + length);
            let reader = searcher.segment_reader(segment);
            for weight in &weights {
                let mut scorer = weight.scorer(reader, 1.0)?;
                for &index in &order[start..end] {
                    let doc = candidates[index].1.doc_id;
                    if scorer.doc() <= doc && scorer.seek(doc) == doc {
                        candidates[index].0 += scorer.score();
                    }
                }
            }
            start = end;
        }
        candidates.sort_by(|left, right| right.0.total_cmp(&left.0).then(left.1.cmp(&right.1)));
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

/// What a search found in the index, before the store is read.
struct Found {
    plan: Plan,
    searcher: Searcher,
    total: u64,
    top: Vec<(f32, DocAddress)>,
    facets: Option<callscope_core::model::SearchFacets>,
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
