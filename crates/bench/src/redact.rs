//! `callscope-bench redact`: redaction throughput. Synthetic calls with
//! personal data planted in some customer lines (mobile, ID, card numbers
//! in digits and numerals), detected, masked and sealed the way
//! `callscope import` does. docs/benchmarks.md ("Redaction") has the
//! command and the figures.

use std::time::Instant;

use super::Row;
use callscope_core::error::Result;
use callscope_redact::{RedactionPolicy, Redactor, SealKey};
use callscope_testkit::synth::planted_corpus;

/// Runs the benchmark over `calls` synthetic calls.
pub fn run(calls: u64, seed: u64) -> Result<Vec<Row>> {
    let (corpus, planted) = planted_corpus(calls, seed);
    let segments: usize = corpus.iter().map(|call| call.segments.len()).sum();
    let characters: usize = corpus
        .iter()
        .flat_map(|call| call.segments.iter())
        .map(|segment| segment.text.chars().count())
        .sum();

    let mut rows = Vec::new();
    for (name, key) in [
        ("mask only", None),
        ("mask + seal", Some(SealKey::generate()?)),
    ] {
        let redactor = Redactor::new(RedactionPolicy::default(), key)?;
        let started = Instant::now();
        let mut masked = 0u64;
        for chunk in corpus.chunks(2000) {
            let batch = redactor.redact_batch(chunk.to_vec())?;
            masked += batch.counts.total_items();
        }
        let seconds = started.elapsed().as_secs_f64();
        rows.push(Row::new(
            format!("redact calls ({name})"),
            calls as f64 / seconds,
            "calls/s",
            format!(
                "{calls} calls, {segments} segments, {planted} planted, {masked} masked, \
                 {:.1} s, {} threads",
                seconds,
                rayon::current_num_threads()
            ),
        ));
        rows.push(Row::new(
            format!("detection bandwidth ({name})"),
            characters as f64 / seconds / 1e6,
            "M chars/s",
            format!("{characters} characters"),
        ));
    }
    // One thread, one text: the cost QA pays per evidence line.
    let redactor = Redactor::new(RedactionPolicy::default(), None)?;
    let texts: Vec<&str> = corpus
        .iter()
        .take(2000)
        .flat_map(|call| call.segments.iter().map(|segment| segment.text.as_str()))
        .collect();
    let started = Instant::now();
    let mut length = 0usize;
    for text in &texts {
        length += redactor.mask_text(text).len();
    }
    let seconds = started.elapsed().as_secs_f64();
    rows.push(Row::new(
        "mask_text (1 thread)",
        texts.len() as f64 / seconds,
        "texts/s",
        format!("{} segment texts, {length} bytes out", texts.len()),
    ));
    rows.push(Row::new(
        "peak memory",
        super::peak_rss_mib(),
        "MiB",
        "whole process",
    ));
    Ok(rows)
}
