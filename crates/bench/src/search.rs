//! Search: build the index over N synthetic calls, then time queries, side by
//! side in the same run with the tools a team would otherwise use: SQLite
//! FTS5 with the trigram tokenizer, and ripgrep over the transcript JSONL.
//!
//! Every engine answers the same question per query: the number of matching
//! calls and (where it can rank) the best 20. callscope is timed twice: the
//! index alone (ids and total, what FTS5 returns) and the whole search as
//! `callscope search` runs it (plus each result's segments re-read from the
//! store and highlighted).
//!
//! A `~的` phrase (its parts in a row, one particle or none between two)
//! is, for FTS5, the OR of every spelling it matches, and for ripgrep one
//! regular expression.
//!
//! FTS5's trigram tokenizer cannot look up strings shorter than three
//! characters, and most Chinese words have two; for those the FTS5 baseline
//! uses `LIKE '%词%'` on the same table, as its documentation advises, which
//! scans. This file holds the FTS5 baseline's SQL: it is the competitor being
//! measured, not callscope's store (which alone knows SQL otherwise).

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use rusqlite::{params_from_iter, Connection};

use super::Row;
use callscope::output::Output;
use callscope_core::dictionary::Dictionary;
use callscope_core::error::{Error, Result};
use callscope_core::model::{Role, SearchQuery};
use callscope_index::SearchIndex;
use callscope_store::Store;
use callscope_testkit::synth::{Generator, SynthOptions};

/// Settings of the search benchmark.
#[derive(Debug, Clone)]
pub struct SearchBenchOptions {
    /// Synthetic calls.
    pub calls: u64,
    /// Generator seed.
    pub seed: u64,
    /// Timed runs per query kind and engine.
    pub runs: usize,
    /// Compare with SQLite FTS5.
    pub fts5: bool,
    /// Compare with ripgrep.
    pub ripgrep: bool,
    /// Keep the workspace here instead of a temp dir.
    pub keep: Option<PathBuf>,
    /// Progress bars.
    pub output: Output,
}

/// Wall-clock budget per query kind and engine; slow engines stop early.
const KIND_BUDGET: Duration = Duration::from_secs(20);
/// Results asked for per query.
const TOP: usize = 20;

/// One query of the workload, as each engine states it.
struct BenchQuery {
    /// callscope's query language.
    text: &'static str,
    /// The words (or the phrase) for FTS5 and ripgrep: all required; with
    /// `particles`, the parts of a phrase in a row.
    words: &'static [&'static str],
    /// Team and date window, for the filtered kind.
    filter: Option<(&'static str, u32, u32)>,
    /// A `~的` phrase: one particle (的 了 地 得 着 过 之) or none between two
    /// of the `words`.
    particles: bool,
}

const fn words(text: &'static str, words: &'static [&'static str]) -> BenchQuery {
    BenchQuery {
        text,
        words,
        filter: None,
        particles: false,
    }
}

const fn with_particles(text: &'static str, parts: &'static [&'static str]) -> BenchQuery {
    BenchQuery {
        text,
        words: parts,
        filter: None,
        particles: true,
    }
}

/// The particles a `~的` phrase lets stand between its parts.
const PARTICLES: [char; 7] = ['的', '了', '地', '得', '着', '过', '之'];

/// Every string a `~的` phrase matches: its parts joined by nothing or one
/// particle at each gap (FTS5 has no optional token, so it gets them all).
fn particle_variants(parts: &[&str]) -> Vec<String> {
    let mut variants = vec![String::new()];
    for (index, part) in parts.iter().enumerate() {
        let gaps: Vec<String> = if index == 0 {
            vec![String::new()]
        } else {
            std::iter::once(String::new())
                .chain(PARTICLES.iter().map(char::to_string))
                .collect()
        };
        variants = variants
            .iter()
            .flat_map(|variant| gaps.iter().map(move |gap| format!("{variant}{gap}{part}")))
            .collect();
    }
    variants
}

/// The workload: words from the generator's vocabulary, common and rare.
fn workload() -> Vec<(&'static str, Vec<BenchQuery>)> {
    let filtered = |text, word: &'static [&'static str], team, first_day, last_day| BenchQuery {
        text,
        words: word,
        filter: Some((team, first_day, last_day)),
        particles: false,
    };
    vec![
        (
            "1 word",
            vec![
                words("退款", &["退款"]),
                words("发票", &["发票"]),
                words("快递员", &["快递员"]),
                words("优惠券", &["优惠券"]),
                words("破损", &["破损"]),
                words("话费", &["话费"]),
                words("投诉", &["投诉"]),
                words("没办法", &["没办法"]),
            ],
        ),
        (
            "2 words",
            vec![
                words("退款 到账", &["退款", "到账"]),
                words("会员 扣费", &["会员", "扣费"]),
                words("投诉 快递员", &["投诉", "快递员"]),
                words("优惠券 过期", &["优惠券", "过期"]),
                words("破损 包装", &["破损", "包装"]),
                words("发票 抱歉", &["发票", "抱歉"]),
            ],
        ),
        (
            "3 words",
            vec![
                words("退款 到账 上周", &["退款", "到账", "上周"]),
                words("会员 自动 扣费", &["会员", "自动", "扣费"]),
                words("快递 三天 发货", &["快递", "三天", "发货"]),
                words("投诉 态度 补偿", &["投诉", "态度", "补偿"]),
                words("地址 取消 发票", &["地址", "取消", "发票"]),
            ],
        ),
        (
            "phrase",
            vec![
                words("\"还没有到账\"", &["还没有到账"]),
                words("\"态度太差\"", &["态度太差"]),
                words("\"自动扣费\"", &["自动扣费"]),
                words("\"原路退回\"", &["原路退回"]),
                words("\"不归我们部门管\"", &["不归我们部门管"]),
            ],
        ),
        (
            "phrase ~的",
            vec![
                with_particles("\"还没有到账\"~的", &["还没有", "到账"]),
                with_particles("\"态度太差\"~的", &["态度太差"]),
                with_particles("\"自动扣费\"~的", &["自动", "扣费"]),
                with_particles("\"原路退回\"~的", &["原路", "退回"]),
                with_particles("\"不归我们部门管\"~的", &["不归", "我们", "部门管"]),
            ],
        ),
        (
            "filtered",
            vec![
                filtered("退款", &["退款"], "T03", 10, 19),
                filtered("投诉", &["投诉"], "T07", 1, 30),
                filtered("发票", &["发票"], "T11", 20, 26),
                filtered("破损", &["破损"], "T15", 5, 9),
            ],
        ),
    ]
}

/// Runs the benchmark and returns its table.
pub fn run(options: &SearchBenchOptions) -> Result<Vec<Row>> {
    let temporary;
    let directory = match &options.keep {
        Some(path) => {
            std::fs::create_dir_all(path).map_err(|error| Error::io(path, error))?;
            path.clone()
        }
        None => {
            temporary = tempfile::tempdir().map_err(|error| Error::io("temp dir", error))?;
            temporary.path().to_path_buf()
        }
    };
    let generator = Generator::new(SynthOptions {
        seed: options.seed,
        ..SynthOptions::default()
    });
    let start_date = generator.options().start_date;
    let mut rows = Vec::new();

    // A kept workspace of the same size is reused (to time queries again
    // without building everything again).
    let store_path = directory.join("callscope.db");
    let index_dir = directory.join("index");
    let reuse = options.keep.is_some()
        && store_path.exists()
        && Store::open(&store_path)?.count_calls(&callscope_store::CallFilter::default())?
            == options.calls
        && SearchIndex::open(&index_dir, Dictionary::load(None)?)?.documents() == options.calls;
    let mut store;
    let index;
    if reuse {
        store = Store::open(&store_path)?;
        index = SearchIndex::open(&index_dir, Dictionary::load(None)?)?;
        rows.push(Row::new(
            "index: reused",
            options.calls as f64,
            "calls",
            format!(
                "store and index kept in {} by an earlier run",
                directory.display()
            ),
        ));
    } else {
        // The store, as `callscope import` fills it.
        let _ = std::fs::remove_file(&store_path);
        store = Store::open(&store_path)?;
        let bar = options.output.progress(options.calls, "calls stored");
        let started = Instant::now();
        let mut batch = Vec::with_capacity(2_000);
        for number in 0..options.calls {
            batch.push(generator.call(number));
            if batch.len() == 2_000 {
                store.put_calls(&batch)?;
                batch.clear();
                bar.set_position(number + 1);
            }
        }
        store.put_calls(&batch)?;
        bar.finish_and_clear();
        rows.push(Row::new(
            "store import (context)",
            started.elapsed().as_secs_f64(),
            "s",
            format!(
                "{} synthetic calls, ~30 segments each, into the workspace store",
                options.calls
            ),
        ));

        // callscope's index, built by the same sync that follows imports.
        let _ = std::fs::remove_dir_all(&index_dir);
        let mut built = SearchIndex::open(&index_dir, Dictionary::load(None)?)?;
        let bar = options.output.progress(options.calls, "calls indexed");
        let report = built.sync(&mut store, |done, total| {
            bar.set_length(total);
            bar.set_position(done);
        })?;
        bar.finish_and_clear();
        let threads = std::thread::available_parallelism().map_or(1, |count| count.get());
        rows.push(Row::new(
            "index build: callscope",
            report.seconds,
            "s",
            format!(
                "{:.0} calls/s, {threads} cores; store read + jieba + grams + tantivy + commit",
                report.indexed as f64 / report.seconds
            ),
        ));
        index = built;
    }
    rows.push(Row::new(
        "index size: callscope",
        folder_bytes(&index_dir) as f64 / 1e6,
        "MB",
        format!("{} calls", index.documents()),
    ));

    let fts_path = directory.join("fts5.db");
    let fts_reusable = reuse && fts_path.exists() && {
        let connection = Connection::open(&fts_path).map_err(sql_error)?;
        connection
            .query_row("SELECT COUNT(*) FROM calls", [], |row| row.get::<_, i64>(0))
            .is_ok_and(|count| count as u64 == options.calls)
    };
    let fts = if options.fts5 && fts_reusable {
        rows.push(Row::new(
            "index build: SQLite FTS5 trigram",
            0.0,
            "s",
            "reused",
        ));
        rows.push(Row::new(
            "index size: SQLite FTS5 trigram",
            file_bytes(&fts_path) as f64 / 1e6,
            "MB",
            "",
        ));
        Some(Connection::open(&fts_path).map_err(sql_error)?)
    } else if options.fts5 {
        let (fts, seconds) = build_fts5(&directory, &generator, options)?;
        rows.push(Row::new(
            "index build: SQLite FTS5 trigram",
            seconds,
            "s",
            format!(
                "{:.0} calls/s; agent and customer text columns",
                options.calls as f64 / seconds
            ),
        ));
        rows.push(Row::new(
            "index size: SQLite FTS5 trigram",
            file_bytes(&directory.join("fts5.db")) as f64 / 1e6,
            "MB",
            "",
        ));
        Some(fts)
    } else {
        None
    };

    let ripgrep = if options.ripgrep {
        match Command::new("rg").arg("--version").output() {
            Ok(version) if version.status.success() => {
                let jsonl = directory.join("calls.jsonl");
                if !(reuse && jsonl.exists()) {
                    let file =
                        std::fs::File::create(&jsonl).map_err(|error| Error::io(&jsonl, error))?;
                    let mut writer = BufWriter::with_capacity(1 << 20, file);
                    generator
                        .write_jsonl(options.calls, &mut writer)
                        .and_then(|()| writer.flush())
                        .map_err(|error| Error::io(&jsonl, error))?;
                }
                rows.push(Row::new(
                    "transcripts JSONL (for ripgrep)",
                    file_bytes(&jsonl) as f64 / 1e6,
                    "MB",
                    String::from_utf8_lossy(&version.stdout)
                        .lines()
                        .next()
                        .unwrap_or("rg")
                        .to_string(),
                ));
                Some(jsonl)
            }
            _ => {
                rows.push(Row::new(
                    "ripgrep",
                    0.0,
                    "-",
                    "skipped: `rg` is not installed",
                ));
                None
            }
        }
    } else {
        None
    };

    for (kind, queries) in workload() {
        let searches: Vec<SearchQuery> = queries
            .iter()
            .map(|query| {
                let mut search = SearchQuery {
                    text: query.text.to_string(),
                    limit: TOP,
                    ..SearchQuery::default()
                };
                if let Some((team, first, last)) = query.filter {
                    search.team = Some(team.to_string());
                    search.from = Some(day(start_date, first));
                    search.to = Some(day(start_date, last));
                }
                search
            })
            .collect();
        let totals: Vec<u64> = searches
            .iter()
            .map(|search| index.search_ids(search).map(|(total, _)| total))
            .collect::<Result<_>>()?;
        let index_only = time_kind(options.runs, searches.len(), |which| {
            index.search_ids(&searches[which]).map(|_| ())
        })?;
        push_latency(
            &mut rows,
            kind,
            "callscope (index: top 20 + total)",
            &index_only,
            queries_note(&queries, &totals),
        );
        let full = time_kind(options.runs, searches.len(), |which| {
            index.search(&searches[which], &store).map(|_| ())
        })?;
        push_latency(
            &mut rows,
            kind,
            "callscope search (+ hits, highlights)",
            &full,
            String::new(),
        );
        if let Some(fts) = &fts {
            let statements: Vec<FtsQuery> = queries
                .iter()
                .map(|query| FtsQuery::new(query, start_date))
                .collect();
            let mut agree = 0;
            for (statement, total) in statements.iter().zip(&totals) {
                if statement.run(fts)? == *total {
                    agree += 1;
                }
            }
            let timings = time_kind(options.runs, statements.len(), |which| {
                statements[which].run(fts).map(|_| ())
            })?;
            let ratio = percentile(&timings, 0.99) / percentile(&index_only, 0.99).max(1e-9);
            push_latency(
                &mut rows,
                kind,
                "SQLite FTS5 trigram",
                &timings,
                format!(
                    "{ratio:.0}x callscope's p99; same totals on {agree}/{} queries; {}",
                    statements.len(),
                    statements
                        .iter()
                        .map(FtsQuery::method)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
        }
        if let Some(jsonl) = &ripgrep {
            let timings = time_kind(options.runs, queries.len(), |which| {
                ripgrep_count(jsonl, &queries[which]).map(|_| ())
            })?;
            let note = if kind == "filtered" {
                "team matched as text, dates not filtered"
            } else if queries.iter().any(|query| query.particles) {
                "count of matching lines; one regular expression per phrase"
            } else {
                "count of matching lines; words chained with pipes"
            };
            push_latency(
                &mut rows,
                kind,
                "ripgrep over JSONL",
                &timings,
                note.to_string(),
            );
        }
    }
    rows.push(Row::new(
        "peak memory",
        super::peak_rss_mib(),
        "MiB",
        "whole process",
    ));
    Ok(rows)
}

fn day(start: NaiveDate, number: u32) -> NaiveDate {
    start + chrono::Duration::days(i64::from(number) - 1)
}

fn queries_note(queries: &[BenchQuery], totals: &[u64]) -> String {
    queries
        .iter()
        .zip(totals)
        .map(|(query, total)| match query.filter {
            Some((team, first, last)) => {
                format!("{} --team {team} days {first}-{last}: {total}", query.text)
            }
            None => format!("{}: {total}", query.text),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Times the queries of one kind round-robin (one untimed warm-up pass),
/// `runs` times or until the budget is spent; milliseconds per run.
fn time_kind(
    runs: usize,
    queries: usize,
    mut run: impl FnMut(usize) -> Result<()>,
) -> Result<Vec<f64>> {
    for which in 0..queries {
        run(which)?;
    }
    let started = Instant::now();
    let mut timings = Vec::with_capacity(runs);
    for attempt in 0..runs {
        let began = Instant::now();
        run(attempt % queries)?;
        timings.push(began.elapsed().as_secs_f64() * 1000.0);
        if started.elapsed() > KIND_BUDGET && timings.len() >= queries {
            break;
        }
    }
    Ok(timings)
}

/// Nearest-rank percentile of the timings.
fn percentile(timings: &[f64], fraction: f64) -> f64 {
    if timings.is_empty() {
        return 0.0;
    }
    let mut sorted = timings.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((fraction * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn push_latency(rows: &mut Vec<Row>, kind: &str, engine: &str, timings: &[f64], note: String) {
    let runs = format!("{} runs", timings.len());
    rows.push(Row::new(
        format!("{kind} p50: {engine}"),
        percentile(timings, 0.5),
        "ms",
        if note.is_empty() {
            runs.clone()
        } else {
            format!("{runs}; {note}")
        },
    ));
    rows.push(Row::new(
        format!("{kind} p99: {engine}"),
        percentile(timings, 0.99),
        "ms",
        runs,
    ));
}

fn folder_bytes(path: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(path) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| {
            let path = entry.path();
            if path.is_dir() {
                folder_bytes(&path)
            } else {
                file_bytes(&path)
            }
        })
        .sum()
}

fn file_bytes(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |metadata| metadata.len())
}

fn sql_error(error: rusqlite::Error) -> Error {
    Error::Store(format!("FTS5 baseline: {error}"))
}

/// Builds the FTS5 baseline: one row per call, its agent and customer text
/// (segments joined by newlines) in trigram-indexed columns, team and local
/// date alongside for the filtered queries. Returns the connection and the
/// seconds spent writing (call generation excluded).
fn build_fts5(
    directory: &Path,
    generator: &Generator,
    options: &SearchBenchOptions,
) -> Result<(Connection, f64)> {
    let path = directory.join("fts5.db");
    let _ = std::fs::remove_file(&path);
    let mut connection = Connection::open(&path).map_err(sql_error)?;
    connection
        .execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;
             CREATE VIRTUAL TABLE calls USING fts5(
                 call_id UNINDEXED, team UNINDEXED, local_date UNINDEXED,
                 agent, customer, tokenize = 'trigram');",
        )
        .map_err(sql_error)?;
    let bar = options.output.progress(options.calls, "calls into FTS5");
    let mut writing = Duration::ZERO;
    let mut index = 0;
    while index < options.calls {
        let end = (index + 10_000).min(options.calls);
        let calls: Vec<_> = (index..end).map(|number| generator.call(number)).collect();
        let began = Instant::now();
        let transaction = connection.transaction().map_err(sql_error)?;
        {
            let mut insert = transaction
                .prepare_cached("INSERT INTO calls (call_id, team, local_date, agent, customer) VALUES (?1, ?2, ?3, ?4, ?5)")
                .map_err(sql_error)?;
            for call in &calls {
                let text = |role: Role| {
                    call.segments
                        .iter()
                        .filter(|segment| segment.role == role)
                        .map(|segment| segment.text.as_str())
                        .collect::<Vec<_>>()
                        .join("\n")
                };
                let local_date = call
                    .started_at
                    .as_deref()
                    .and_then(callscope_store::parse_timestamp)
                    .map(|time| time.date_naive().to_string());
                insert
                    .execute(rusqlite::params![
                        call.call_id,
                        call.team,
                        local_date,
                        text(Role::Agent),
                        text(Role::Customer)
                    ])
                    .map_err(sql_error)?;
            }
        }
        transaction.commit().map_err(sql_error)?;
        writing += began.elapsed();
        index = end;
        bar.set_position(index);
    }
    let began = Instant::now();
    connection
        .execute_batch("INSERT INTO calls(calls) VALUES ('optimize');")
        .map_err(sql_error)?;
    writing += began.elapsed();
    bar.finish_and_clear();
    Ok((connection, writing.as_secs_f64()))
}

/// A query as FTS5 runs it: `MATCH` for strings of three characters or
/// more, `LIKE` for shorter ones (trigrams cannot find them).
struct FtsQuery {
    count_sql: String,
    top_sql: String,
    values: Vec<String>,
    uses_like: bool,
}

impl FtsQuery {
    fn new(query: &BenchQuery, start: NaiveDate) -> FtsQuery {
        let mut conditions = Vec::new();
        let mut values = Vec::new();
        let long: Vec<&str> = query
            .words
            .iter()
            .copied()
            .filter(|word| word.chars().count() >= 3)
            .collect();
        let short: Vec<&str> = query
            .words
            .iter()
            .copied()
            .filter(|word| !query.particles && word.chars().count() < 3)
            .collect();
        if query.particles {
            values.push(
                particle_variants(query.words)
                    .iter()
                    .map(|variant| format!("\"{variant}\""))
                    .collect::<Vec<_>>()
                    .join(" OR "),
            );
            conditions.push(format!("calls MATCH ?{}", values.len()));
        } else if !long.is_empty() {
            values.push(
                long.iter()
                    .map(|word| format!("\"{word}\""))
                    .collect::<Vec<_>>()
                    .join(" AND "),
            );
            conditions.push(format!("calls MATCH ?{}", values.len()));
        }
        // With a MATCH present, `+` keeps SQLite from planning the LIKEs as
        // index lookups (which it cannot combine with MATCH).
        let plus = if long.is_empty() { "" } else { "+" };
        for word in &short {
            values.push(format!("%{word}%"));
            let number = values.len();
            conditions.push(format!(
                "({plus}agent LIKE ?{number} OR {plus}customer LIKE ?{number})"
            ));
        }
        if let Some((team, first, last)) = query.filter {
            values.push(team.to_string());
            conditions.push(format!("team = ?{}", values.len()));
            values.push(day(start, first).to_string());
            conditions.push(format!("local_date >= ?{}", values.len()));
            values.push(day(start, last).to_string());
            conditions.push(format!("local_date <= ?{}", values.len()));
        }
        let where_clause = conditions.join(" AND ");
        let order = if long.is_empty() && !query.particles {
            ""
        } else {
            "ORDER BY rank"
        };
        FtsQuery {
            count_sql: format!("SELECT COUNT(*) FROM calls WHERE {where_clause}"),
            top_sql: format!("SELECT call_id FROM calls WHERE {where_clause} {order} LIMIT {TOP}"),
            values,
            uses_like: !short.is_empty(),
        }
    }

    fn method(&self) -> &'static str {
        if self.uses_like {
            "LIKE"
        } else {
            "MATCH"
        }
    }

    /// Runs the count and the top query; returns the count.
    fn run(&self, connection: &Connection) -> Result<u64> {
        let count: i64 = connection
            .prepare_cached(&self.count_sql)
            .and_then(|mut statement| {
                statement.query_row(params_from_iter(self.values.iter()), |row| row.get(0))
            })
            .map_err(|error| Error::Store(format!("FTS5 baseline: {error}: {}", self.count_sql)))?;
        let mut statement = connection
            .prepare_cached(&self.top_sql)
            .map_err(sql_error)?;
        let ids: Vec<String> = statement
            .query_map(params_from_iter(self.values.iter()), |row| row.get(0))
            .and_then(|rows| rows.collect())
            .map_err(|error| Error::Store(format!("FTS5 baseline: {error}: {}", self.top_sql)))?;
        debug_assert!(ids.len() <= TOP);
        Ok(count as u64)
    }
}

/// ripgrep's count of JSONL lines (calls) holding every word, the words
/// chained through pipes; a team filter is matched as text. A `~的` phrase
/// is one regular expression (`还没有[的了地得着过之]?到账`).
fn ripgrep_count(jsonl: &Path, query: &BenchQuery) -> Result<u64> {
    let mut patterns: Vec<String> = Vec::new();
    if let Some((team, _, _)) = query.filter {
        patterns.push(format!("\"team\":\"{team}\""));
    }
    let particle_class: String = PARTICLES.iter().collect();
    if query.particles {
        patterns.push(query.words.join(&format!("[{particle_class}]?")));
    } else {
        patterns.extend(query.words.iter().map(|word| word.to_string()));
    }
    let spawn_error = |error: std::io::Error| Error::io("rg", error);
    let mut previous: Option<std::process::Child> = None;
    let mut upstream = Vec::new();
    for (position, pattern) in patterns.iter().enumerate() {
        let last = position + 1 == patterns.len();
        let mut command = Command::new("rg");
        command.arg("--no-config");
        if !query.particles {
            command.arg("-F");
        }
        if last {
            command.arg("-c");
        }
        command.arg("--").arg(pattern);
        match previous.take() {
            Some(mut child) => {
                let stdout = child
                    .stdout
                    .take()
                    .ok_or_else(|| spawn_error(std::io::Error::other("no pipe")))?;
                command.stdin(Stdio::from(stdout));
                upstream.push(child);
            }
            None => {
                command.arg(jsonl);
            }
        }
        command.stdout(Stdio::piped()).stderr(Stdio::null());
        previous = Some(command.spawn().map_err(spawn_error)?);
    }
    let child = previous.ok_or_else(|| spawn_error(std::io::Error::other("no pattern")))?;
    let output = child.wait_with_output().map_err(spawn_error)?;
    for mut child in upstream {
        child.wait().map_err(spawn_error)?;
    }
    Ok(String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .unwrap_or(0))
}
