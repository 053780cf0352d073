//! `callscope-bench digest`: VOC digest speed. A synthetic corpus with
//! planted bursts in a fresh store, then the term-cache precompute (cold,
//! then incremental after 1% more calls) and the digest itself, timed
//! separately. docs/benchmarks.md ("VOC digest") has the command and the
//! figures.

use std::path::{Path, PathBuf};
use std::time::Instant;

use rayon::prelude::*;

use super::Row;
use callscope_core::dictionary::Dictionary;
use callscope_core::error::{Error, Result};
use callscope_digest::{CacheReport, DigestOptions, DigestRun, Digester};
use callscope_store::Store;
use callscope_testkit::synth_voc::{VocGenerator, VocScenario};

/// The example topic file, used so the digest counts real topics.
const EXAMPLE_TOPICS: &str = include_str!("../../../corpora/topics/example.toml");

/// Calls generated, written and committed together.
const CHUNK: u64 = 20_000;

/// Bytes of the store's database file and its write-ahead log.
fn store_bytes(path: &Path) -> u64 {
    let size = |path: PathBuf| std::fs::metadata(path).map_or(0, |meta| meta.len());
    let wal = PathBuf::from(format!("{}-wal", path.display()));
    size(path.to_path_buf()) + size(wal)
}

/// Generates the calls `indexes` with their QA results and stores them,
/// a chunk at a time.
fn put(store: &mut Store, generator: &VocGenerator, indexes: std::ops::Range<u64>) -> Result<()> {
    let mut start = indexes.start;
    while start < indexes.end {
        let end = (start + CHUNK).min(indexes.end);
        let (calls, results): (Vec<_>, Vec<_>) = (start..end)
            .into_par_iter()
            .map(|index| generator.call_and_qa(index))
            .unzip();
        store.put_calls(&calls)?;
        store.put_qa_results(&results)?;
        start = end;
    }
    Ok(())
}

/// Runs the digest benchmark over `calls` synthetic calls.
pub fn run(calls: u64, seed: u64) -> Result<Vec<Row>> {
    let directory = tempfile::tempdir().map_err(|error| Error::io("temp dir", error))?;
    let topics = directory.path().join("topics.toml");
    std::fs::write(&topics, EXAMPLE_TOPICS).map_err(|error| Error::io(&topics, error))?;
    let generator = VocGenerator::new(VocScenario {
        seed,
        ..VocScenario::sized(calls)
    });
    let total = generator.total_calls();
    let path = directory.path().join("callscope.db");
    let mut store = Store::open(&path)?;

    let started = Instant::now();
    put(&mut store, &generator, 0..total)?;
    let build_seconds = started.elapsed().as_secs_f64();
    let bytes_before = store_bytes(&path);

    let options = digest_options(generator.scenario(), topics);
    let digester = Digester::new(options, Dictionary::load(None)?)?;

    let cold = digester.update_cache(&mut store, |_, _| {})?;
    let cache_bytes = store_bytes(&path).saturating_sub(bytes_before);

    let (first, first_seconds) = timed_digest(&digester, &store)?;
    let (second, second_seconds) = timed_digest(&digester, &store)?;

    put_next_day(&mut store, calls, seed, total)?;
    let incremental = digester.update_cache(&mut store, |_, _| {})?;

    let extraction = raw_extraction(&generator, &digester, total);

    let mut rows = store_rows(
        generator.scenario(),
        total,
        build_seconds,
        &cold,
        cache_bytes,
    );
    rows.push(extraction.row());
    rows.extend(digest_rows(
        &incremental,
        (&first, first_seconds),
        (&second, second_seconds),
    ));
    Ok(rows)
}

/// The digest's settings: the example topics, a comparison of the two
/// weeks around the fix, and a focus term.
fn digest_options(scenario: &VocScenario, topics: PathBuf) -> DigestOptions {
    let fix = scenario.date(scenario.fix_day);
    DigestOptions {
        topics_file: Some(topics),
        compare: Some((
            format!(
                "{}..{}",
                fix - chrono::Duration::days(14),
                fix - chrono::Duration::days(1)
            ),
            format!("{}..{}", fix, fix + chrono::Duration::days(13)),
            "验证码".to_string(),
        )),
        focus: Some("按钮".to_string()),
        ..DigestOptions::default()
    }
}

/// One digest and the wall-clock seconds it took.
fn timed_digest(digester: &Digester, store: &Store) -> Result<(DigestRun, f64)> {
    let started = Instant::now();
    let run = digester.digest(store)?;
    Ok((run, started.elapsed().as_secs_f64()))
}

/// One percent more calls (the next day's intake, from another seed, with
/// their own ids), stored without QA results.
fn put_next_day(store: &mut Store, calls: u64, seed: u64, total: u64) -> Result<()> {
    let more = (total / 100).max(1);
    let extra = VocGenerator::new(VocScenario {
        seed: seed ^ 0xA5A5,
        ..VocScenario::sized(calls)
    });
    let (new_calls, _): (Vec<_>, Vec<_>) = (0..more)
        .into_par_iter()
        .map(|index| {
            let (mut call, qa) = extra.call_and_qa(index);
            call.call_id = format!("N{index:08}");
            (call, qa)
        })
        .unzip();
    for chunk in new_calls.chunks(CHUNK as usize) {
        store.put_calls(chunk)?;
    }
    Ok(())
}

/// Raw term extraction without the memo, on one thread.
struct RawExtraction {
    segments: usize,
    bytes: usize,
    terms: usize,
    seconds: f64,
}

impl RawExtraction {
    fn row(&self) -> Row {
        Row::new(
            "extraction without memo (1 thread)",
            self.bytes as f64 / 1e6 / self.seconds,
            "MB/s",
            format!(
                "t2s + jieba + stop words + phrases, {} segments, {} terms",
                self.segments, self.terms
            ),
        )
    }
}

/// Extraction speed on the customer lines of a sample of 2,000 calls
/// spread over the corpus.
fn raw_extraction(generator: &VocGenerator, digester: &Digester, total: u64) -> RawExtraction {
    let sample: Vec<String> = (0..2_000.min(total))
        .flat_map(|index| {
            generator
                .call(index * (total / 2_000.min(total)).max(1))
                .segments
                .into_iter()
                .filter(|segment| segment.role == callscope_core::model::Role::Customer)
                .map(|segment| segment.text)
        })
        .collect();
    let bytes: usize = sample.iter().map(String::len).sum();
    let started = Instant::now();
    let mut terms = 0usize;
    for text in &sample {
        terms += digester
            .extractor()
            .sentences(text)
            .iter()
            .map(Vec::len)
            .sum::<usize>();
    }
    RawExtraction {
        segments: sample.len(),
        bytes,
        terms,
        seconds: started.elapsed().as_secs_f64(),
    }
}

/// The rows of the store and the cold term-cache precompute.
fn store_rows(
    scenario: &VocScenario,
    total: u64,
    build_seconds: f64,
    cold: &CacheReport,
    cache_bytes: u64,
) -> Vec<Row> {
    let release = scenario.date(scenario.release_day);
    let fix = scenario.date(scenario.fix_day);
    vec![
        Row::new(
            "build store (not timed below)",
            build_seconds,
            "s",
            format!(
                "{} calls + QA results, {} days, release {release}, fix {fix}",
                total, scenario.days
            ),
        ),
        Row::new(
            "term cache precompute (cold)",
            cold.seconds,
            "s",
            format!(
                "{:.0} calls/s, {} customer segments, {:.0} MB text, memo hits {:.1}%",
                cold.computed as f64 / cold.seconds,
                cold.segments,
                cold.text_bytes as f64 / 1e6,
                100.0 * cold.memo_hits as f64 / cold.segments.max(1) as f64
            ),
        ),
        Row::new(
            "term cache size",
            cache_bytes as f64 / 1e6,
            "MB",
            format!(
                "{:.0} bytes/call, vocabulary {} terms",
                cache_bytes as f64 / total.max(1) as f64,
                cold.vocabulary
            ),
        ),
    ]
}

/// The rows of the incremental update and the two digests (the second
/// one's parts one by one), then the process's peak memory.
fn digest_rows(
    incremental: &CacheReport,
    (first, first_seconds): (&DigestRun, f64),
    (second, second_seconds): (&DigestRun, f64),
) -> Vec<Row> {
    let digest = &first.digest;
    let mut rows = vec![
        Row::new(
            "incremental update (+1% calls)",
            incremental.seconds,
            "s",
            format!("{} new calls", incremental.computed),
        ),
        Row::new(
            "digest (first run)",
            first_seconds,
            "s",
            format!(
                "window {} calls, baseline {} calls, {} rising, {} falling, {} alerts",
                digest.calls.window,
                digest.calls.baseline,
                digest.emerging.len(),
                digest.falling.len(),
                digest.alerts.len()
            ),
        ),
        Row::new(
            "digest (second run)",
            second_seconds,
            "s",
            "same digest, store pages cached",
        ),
    ];
    for (part, seconds) in &second.timings {
        rows.push(Row::new(format!("  {part}"), *seconds, "s", "second run"));
    }
    rows.push(Row::new(
        "peak memory",
        super::peak_rss_mib(),
        "MiB",
        "whole process",
    ));
    rows
}
