//! The per-call term cache: each call's customer-side terms, computed once
//! and kept in the store as vocabulary ids, so a digest over a million calls
//! reads a few bytes per call instead of segmenting every transcript again.
//!
//! A call's row holds two blobs: `terms`, the sorted distinct term ids of the
//! whole call (delta-coded LEB128 varints), and `sentences`, the distinct term
//! sets of its customer sentences (for co-occurrence). The store drops a
//! call's row whenever the call is written (a trigger), so the cache is
//! updated incrementally: only calls without a row are computed. A change of
//! stop words, dictionaries or extraction (the extractor's fingerprint)
//! empties the cache.
//!
//! Updating reads calls in batches, extracts terms in parallel (rayon; each
//! worker keeps a bounded memo of segment texts it has already cut, since
//! call-center speech repeats itself) and writes each batch in one
//! transaction while the next batch is being processed.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, RwLock};
use std::time::Instant;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::extract::TermExtractor;
use callscope_core::error::{Error, Result};
use callscope_core::model::Role;
use callscope_store::Store;

/// Calls read, processed and written together.
const BATCH: usize = 4096;

/// Times an update takes another process's new vocabulary before giving up.
const MAX_CONFLICTS: u32 = 20;

/// Segment texts each worker remembers before it starts over.
const MEMO_ENTRIES: usize = 100_000;

/// What an update of the term cache did.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct CacheReport {
    /// Whether the cache was emptied first (new stop words, dictionary or
    /// extraction).
    pub rebuilt: bool,
    /// Calls whose terms were computed and stored.
    pub computed: u64,
    /// Calls rewritten while they were being computed (left for next time).
    pub skipped: u64,
    /// Calls whose stored transcript did not decode, with the reason.
    pub failed: Vec<(String, String)>,
    /// Customer segments processed.
    pub segments: u64,
    /// Segments whose terms came from a worker's memo.
    pub memo_hits: u64,
    /// Bytes of customer text processed.
    pub text_bytes: u64,
    /// New vocabulary entries.
    pub new_terms: u64,
    /// Vocabulary size after the update.
    pub vocabulary: u64,
    /// Wall-clock seconds.
    pub seconds: f64,
}

#[derive(Deserialize)]
struct LightCall<'a> {
    #[serde(borrow)]
    segments: Vec<LightSegment<'a>>,
}

#[derive(Deserialize)]
struct LightSegment<'a> {
    role: Role,
    #[serde(borrow)]
    text: Cow<'a, str>,
}

/// Term ids handed out during an update; new ones are written with the
/// batch that introduced them.
struct Vocabulary {
    ids: HashMap<String, u32>,
    next: u32,
    fresh: Vec<(u32, String)>,
}

impl Vocabulary {
    fn load(store: &Store) -> Result<Vocabulary> {
        let existing = store.term_vocabulary()?;
        let next = existing.iter().map(|(id, _)| id + 1).max().unwrap_or(0);
        Ok(Vocabulary {
            ids: existing.into_iter().map(|(id, term)| (term, id)).collect(),
            next,
            fresh: Vec::new(),
        })
    }

    fn id(lock: &RwLock<Vocabulary>, term: String) -> u32 {
        if let Some(&id) = lock.read().expect("vocabulary lock").ids.get(&term) {
            return id;
        }
        let mut vocabulary = lock.write().expect("vocabulary lock");
        if let Some(&id) = vocabulary.ids.get(&term) {
            return id;
        }
        let id = vocabulary.next;
        vocabulary.next += 1;
        vocabulary.fresh.push((id, term.clone()));
        vocabulary.ids.insert(term, id);
        id
    }
}

/// Per-worker memo: segment text → its sentences' term ids.
type Memo = HashMap<String, Vec<Vec<u32>>>;

/// Counters shared by the workers.
#[derive(Default)]
struct Counters {
    segments: AtomicU64,
    memo_hits: AtomicU64,
    text_bytes: AtomicU64,
}

/// One computed call: `(call_id, change number, terms, sentences)`, or the
/// reason it failed.
type Computed = std::result::Result<(String, i64, Vec<u8>, Vec<u8>), (String, String)>;

/// Keeps the store's term cache up to date.
pub struct TermCache<'a> {
    extractor: &'a TermExtractor,
}

impl<'a> TermCache<'a> {
    /// A cache filled by `extractor`.
    pub fn new(extractor: &'a TermExtractor) -> TermCache<'a> {
        TermCache { extractor }
    }

    /// Computes the terms of every call that has none cached. `progress` is
    /// told `(done, total)` after each batch.
    pub fn update(
        &self,
        store: &mut Store,
        mut progress: impl FnMut(u64, u64),
    ) -> Result<CacheReport> {
        let started = Instant::now();
        let mut report = CacheReport::default();
        if store.term_cache_key()?.as_deref() != Some(self.extractor.fingerprint()) {
            store.reset_term_cache(self.extractor.fingerprint())?;
            report.rebuilt = true;
        }
        let total = store.count_calls_without_terms()?;
        let vocabulary = RwLock::new(Vocabulary::load(store)?);
        let mut conflicts = 0;
        let memos: Vec<Mutex<Memo>> = (0..rayon::current_num_threads() + 1)
            .map(|_| Mutex::new(Memo::new()))
            .collect();
        let counters = Counters::default();

        let mut batch = store.calls_without_terms(None, BATCH)?;
        let mut done = 0;
        while !batch.is_empty() {
            let last = batch.last().map(|(call_id, _, _)| call_id.clone());
            // Extract this batch on the pool while this thread reads the next.
            let (computed, next_batch) = std::thread::scope(|scope| {
                let worker = scope.spawn(|| {
                    batch
                        .par_iter()
                        .map(|(call_id, change, body)| {
                            self.compute(call_id, *change, body, &vocabulary, &memos, &counters)
                        })
                        .collect::<Vec<Computed>>()
                });
                let next_batch = store.calls_without_terms(last.as_deref(), BATCH);
                (worker.join().expect("term extraction panicked"), next_batch)
            });
            let mut rows = Vec::with_capacity(computed.len());
            for outcome in computed {
                match outcome {
                    Ok(row) => rows.push(row),
                    Err(failure) => report.failed.push(failure),
                }
            }
            let fresh = std::mem::take(&mut vocabulary.write().expect("vocabulary lock").fresh);
            match store.put_cached_terms(&fresh, &rows)? {
                Some(written) => {
                    report.new_terms += fresh.len() as u64;
                    report.computed += written;
                    report.skipped += rows.len() as u64 - written;
                    done += batch.len() as u64;
                    progress(done, total);
                    batch = next_batch?;
                }
                None => {
                    // Another digest added terms meanwhile: take its
                    // vocabulary and compute this batch again.
                    conflicts += 1;
                    if conflicts > MAX_CONFLICTS {
                        return Err(Error::Store(
                            "another digest keeps updating the term cache of this workspace; \
                             run the digest again when it is done"
                                .to_string(),
                        ));
                    }
                    *vocabulary.write().expect("vocabulary lock") = Vocabulary::load(store)?;
                    for memo in &memos {
                        memo.lock().expect("memo lock").clear();
                    }
                }
            }
        }
        report.segments = counters.segments.into_inner();
        report.memo_hits = counters.memo_hits.into_inner();
        report.text_bytes = counters.text_bytes.into_inner();
        report.vocabulary = vocabulary.read().expect("vocabulary lock").ids.len() as u64;
        report.seconds = started.elapsed().as_secs_f64();
        Ok(report)
    }

    fn compute(
        &self,
        call_id: &str,
        change: i64,
        body: &str,
        vocabulary: &RwLock<Vocabulary>,
        memos: &[Mutex<Memo>],
        counters: &Counters,
    ) -> Computed {
        let call: LightCall<'_> = serde_json::from_str(body).map_err(|error| {
            (
                call_id.to_string(),
                format!("stored transcript does not decode ({error}); import the call again"),
            )
        })?;
        let has_customer = call
            .segments
            .iter()
            .any(|segment| segment.role == Role::Customer);
        // Mono calls whose speakers were not told apart have no customer
        // segments: then their unknown-role segments stand in.
        let side = if has_customer {
            Role::Customer
        } else {
            Role::Unknown
        };
        let slot = rayon::current_thread_index().unwrap_or(memos.len() - 1) % memos.len();
        let mut memo = memos[slot].lock().expect("memo lock");
        let mut sentences: Vec<Vec<u32>> = Vec::new();
        for segment in call.segments.iter().filter(|segment| segment.role == side) {
            let text: &str = &segment.text;
            counters.segments.fetch_add(1, Ordering::Relaxed);
            counters
                .text_bytes
                .fetch_add(text.len() as u64, Ordering::Relaxed);
            if let Some(known) = memo.get(text) {
                counters.memo_hits.fetch_add(1, Ordering::Relaxed);
                sentences.extend(known.iter().cloned());
                continue;
            }
            let computed: Vec<Vec<u32>> = self
                .extractor
                .sentences(text)
                .into_iter()
                .map(|terms| {
                    let mut ids: Vec<u32> = terms
                        .into_iter()
                        .map(|term| Vocabulary::id(vocabulary, term))
                        .collect();
                    ids.sort_unstable();
                    ids
                })
                .collect();
            sentences.extend(computed.iter().cloned());
            if memo.len() >= MEMO_ENTRIES {
                memo.clear();
            }
            memo.insert(text.to_string(), computed);
        }
        drop(memo);
        sentences.sort_unstable();
        sentences.dedup();
        let mut terms: Vec<u32> = sentences.iter().flatten().copied().collect();
        terms.sort_unstable();
        terms.dedup();
        let mut terms_blob = Vec::with_capacity(terms.len() * 2);
        encode_set(&terms, &mut terms_blob);
        let mut sentences_blob = Vec::new();
        write_varint(sentences.len() as u64, &mut sentences_blob);
        for sentence in &sentences {
            write_varint(sentence.len() as u64, &mut sentences_blob);
            encode_set(sentence, &mut sentences_blob);
        }
        Ok((call_id.to_string(), change, terms_blob, sentences_blob))
    }
}

fn write_varint(mut value: u64, out: &mut Vec<u8>) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn read_varint(bytes: &[u8], position: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    let mut shift = 0;
    loop {
        let byte = *bytes.get(*position)?;
        *position += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(value);
        }
        shift += 7;
        if shift > 63 {
            return None;
        }
    }
}

/// Appends sorted, distinct ids as delta-coded varints.
pub(crate) fn encode_set(ids: &[u32], out: &mut Vec<u8>) {
    debug_assert!(ids.windows(2).all(|pair| pair[0] < pair[1]));
    let mut previous = 0u32;
    for &id in ids {
        write_varint(u64::from(id - previous), out);
        previous = id;
    }
}

/// Decodes a `terms` blob (a whole delta-coded set) into `out`.
pub(crate) fn decode_terms(bytes: &[u8], out: &mut Vec<u32>) -> Option<()> {
    let mut position = 0;
    let mut previous = 0u32;
    while position < bytes.len() {
        previous = previous.checked_add(read_varint(bytes, &mut position)? as u32)?;
        out.push(previous);
    }
    Some(())
}

/// Decodes a `sentences` blob, calling `visit` with each sentence's sorted
/// term ids.
pub(crate) fn decode_sentences(bytes: &[u8], mut visit: impl FnMut(&[u32])) -> Option<()> {
    if bytes.is_empty() {
        return Some(());
    }
    let mut position = 0;
    let count = read_varint(bytes, &mut position)?;
    let mut sentence = Vec::new();
    for _ in 0..count {
        let length = read_varint(bytes, &mut position)?;
        sentence.clear();
        let mut previous = 0u32;
        for _ in 0..length {
            previous = previous.checked_add(read_varint(bytes, &mut position)? as u32)?;
            sentence.push(previous);
        }
        visit(&sentence);
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(call_id: &str, text: &str) -> callscope_core::model::Call {
        callscope_core::model::Call {
            call_id: call_id.to_string(),
            started_at: Some("2026-09-01T09:30:00+08:00".to_string()),
            agent_id: None,
            team: None,
            queue: None,
            duration: None,
            segments: vec![callscope_core::model::Segment {
                start: 0.0,
                end: 2.0,
                role: Role::Customer,
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
    fn cached_terms_follow_the_calls_and_refuse_a_conflicting_vocabulary() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("callscope.db");
        let mut first = Store::open(&path).unwrap();
        let mut second = Store::open(&path).unwrap();
        first.put_calls(&[call("C1", "您好")]).unwrap();
        let row = |change: i64| vec![("C1".to_string(), change, vec![0u8], Vec::new())];
        // A stale change number writes nothing.
        assert_eq!(first.put_cached_terms(&[], &row(99)).unwrap(), Some(0));
        assert_eq!(first.count_calls_without_terms().unwrap(), 1);
        let words = [(0, "退款".to_string())];
        assert_eq!(first.put_cached_terms(&words, &row(1)).unwrap(), Some(1));
        assert_eq!(first.count_calls_without_terms().unwrap(), 0);
        // Another process that handed id 0 to another term must start over.
        let conflicting = [(0, "发票".to_string())];
        assert_eq!(
            second.put_cached_terms(&conflicting, &row(1)).unwrap(),
            None
        );
        assert_eq!(
            second.term_vocabulary().unwrap(),
            vec![(0, "退款".to_string())]
        );
        // Rewriting the call drops its cached terms (the trigger).
        first.put_calls(&[call("C1", "再见")]).unwrap();
        assert_eq!(first.count_calls_without_terms().unwrap(), 1);
    }

    #[test]
    fn sets_round_trip() {
        let ids = [0, 1, 127, 128, 300, 16_384, 2_000_000];
        let mut blob = Vec::new();
        encode_set(&ids, &mut blob);
        let mut decoded = Vec::new();
        decode_terms(&blob, &mut decoded).unwrap();
        assert_eq!(decoded, ids);

        let mut sentences = Vec::new();
        write_varint(2, &mut sentences);
        for set in [&[3u32, 9][..], &[1, 2, 700][..]] {
            write_varint(set.len() as u64, &mut sentences);
            encode_set(set, &mut sentences);
        }
        let mut seen = Vec::new();
        decode_sentences(&sentences, |sentence| seen.push(sentence.to_vec())).unwrap();
        assert_eq!(seen, vec![vec![3, 9], vec![1, 2, 700]]);
        assert!(decode_terms(&[0x80], &mut decoded).is_none());
    }
}
