//! `callscope-bench import`: import throughput. Synthetic calls of ~30
//! segments, written as transcript JSON Lines (docs/formats.md §2), then
//! imported into a fresh store the way `callscope import` does: the
//! embedded SQLite store, or with `--store postgres://...` a fresh schema of
//! that PostgreSQL database (dropped afterwards).
//! docs/benchmarks.md ("Import") has the command and the figures.

use std::io::{BufReader, BufWriter};
use std::time::Instant;

use super::Row;
use callscope_core::error::{Error, Result};
use callscope_core::import::{ImportOptions, Importer};
use callscope_store::testing::TestSchema;
use callscope_store::{CallFilter, Store};
use callscope_testkit::synth::{Generator, SynthOptions};

/// Runs the import benchmark over `calls` synthetic calls, into the
/// embedded store or a fresh schema of the PostgreSQL database `shared`.
pub fn run(calls: u64, seed: u64, shared: Option<&str>) -> Result<Vec<Row>> {
    let directory = tempfile::tempdir().map_err(|error| Error::io("temp dir", error))?;
    let jsonl = directory.path().join("calls.jsonl");
    let generator = Generator::new(SynthOptions {
        seed,
        ..SynthOptions::default()
    });
    {
        let file = std::fs::File::create(&jsonl).map_err(|error| Error::io(&jsonl, error))?;
        let mut writer = BufWriter::new(file);
        generator
            .write_jsonl(calls, &mut writer)
            .map_err(|error| Error::io(&jsonl, error))?;
    }
    let bytes = std::fs::metadata(&jsonl)
        .map_err(|error| Error::io(&jsonl, error))?
        .len();

    let schema = shared
        .map(|url| TestSchema::create_at(url, "bench_import"))
        .transpose()?;
    let mut store = match &schema {
        Some(schema) => Store::connect(&schema.url())?,
        None => Store::open(&directory.path().join("callscope.db"))?,
    };
    let backend = match &schema {
        Some(_) => "PostgreSQL",
        None => "SQLite (WAL)",
    };
    let file = std::fs::File::open(&jsonl).map_err(|error| Error::io(&jsonl, error))?;
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let started = Instant::now();
    let report = Importer::new(ImportOptions::default()).run(
        &mut reader,
        "calls.jsonl",
        |batch| store.put_calls(&batch),
        |_| {},
    )?;
    let seconds = started.elapsed().as_secs_f64();
    let stored = store.count_calls(&CallFilter::default())?;
    debug_assert_eq!(stored, calls);

    let mut rows = vec![
        Row::new(
            format!("import into store ({backend})"),
            report.calls as f64 / seconds,
            "calls/s",
            format!(
                "{} calls, {} segments, {:.0} MB JSONL, {:.1} s",
                report.calls,
                report.segments,
                bytes as f64 / 1e6,
                seconds
            ),
        ),
        Row::new(
            "import bandwidth",
            bytes as f64 / 1e6 / seconds,
            "MB/s",
            format!("parse + validate + {backend} write, batches of 2000"),
        ),
        Row::new("peak memory", super::peak_rss_mib(), "MiB", "whole process"),
    ];
    let database_bytes = match &schema {
        Some(_) => store.database_bytes(),
        None => std::fs::metadata(directory.path().join("callscope.db"))
            .map(|metadata| metadata.len())
            .map_err(|error| Error::io("callscope.db", error)),
    };
    if let Ok(database_bytes) = database_bytes {
        rows.push(Row::new(
            "store size",
            database_bytes as f64 / 1e6,
            "MB",
            format!("{stored} calls"),
        ));
    }
    Ok(rows)
}
