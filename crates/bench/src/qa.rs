//! `callscope-bench qa`: QA scoring throughput. Synthetic calls stored in a
//! temporary workspace, read back and scored against a 20-rule scorecard
//! the way `callscope qa` does; and the false-positive rate of homophone
//! matching on clean text.
//!
//! Passes over the same stored calls on one thread separate the costs:
//! read + decode, then + prepare (normalize, word hits, timing), then + rule
//! evaluation. A last pass on all cores stores the results like the command.
//! docs/benchmarks.md ("QA scoring") has the command and the figures.

use std::path::{Path, PathBuf};
use std::time::Instant;

use rayon::prelude::*;

use super::Row;
use callscope::output::Output;
use callscope_core::error::{Error, Result};
use callscope_core::model::{Call, QaResult};
use callscope_core::text::Normalizer;
use callscope_qa::{fuzzy, Operator, Scorecard, Scorer};
use callscope_store::testing::TestSchema;
use callscope_store::{CallFilter, Store};
use callscope_testkit::synth::{self, Generator, SynthOptions};

/// The benchmark's scorecard: 20 rules, every operator (docs/qa-rules.md).
pub const BENCH_SCORECARD: &str = r#"
[scorecard]
name = "bench: 20 rules"
base_score = 100
pass_score = 80

[[rule]]
id = "greeting"
expect = "present"
points = 5
[rule.when]
op = "similar"
role = "agent"
first = 2
phrases = ["您好，很高兴为您服务", "您好，欢迎致电客户服务中心", "您好，请问有什么可以帮您"]

[[rule]]
id = "closing"
expect = "present"
points = 5
[rule.when]
op = "similar"
role = "agent"
last = 2
phrases = ["感谢您的来电，再见", "祝您生活愉快，再见"]

[[rule]]
id = "hold_notice"
expect = "absent"
points = 2
[rule.when]
op = "similar"
role = "agent"
phrases = ["请您稍等一下我帮您查询"]
threshold = 0.9

[[rule]]
id = "forbidden_words"
expect = "absent"
fatal = true
[rule.when]
op = "keyword"
role = "agent"
words = ["没办法", "不知道", "你自己看", "你自己去", "不归我管", "不归我们"]
fuzzy = "pinyin"

[[rule]]
id = "identity_words"
expect = "absent"
points = 1
[rule.when]
op = "keyword"
role = "agent"
words = ["核实", "身份"]
mode = "all"

[[rule]]
id = "apology_words"
expect = "absent"
points = 1
[rule.when]
op = "keyword"
role = "agent"
words = ["抱歉", "对不起", "不好意思"]
min_count = 2

[[rule]]
id = "survey"
expect = "absent"
points = 1
[rule.when]
op = "keyword"
role = "agent"
last = 3
words = ["满意度", "好评"]

[[rule]]
id = "complaint"
expect = "absent"
points = 0
[rule.when]
op = "lexicon"
role = "customer"
name = "complaint"

[[rule]]
id = "negative_emotion"
expect = "absent"
points = 0
[rule.when]
op = "lexicon"
role = "customer"
name = "negative_emotion"
min_count = 2
fuzzy = "pinyin"

[[rule]]
id = "abuse"
expect = "absent"
fatal = true
[rule.when]
op = "lexicon"
role = "agent"
name = "abuse"

[[rule]]
id = "competitor"
expect = "absent"
points = 0
[rule.when]
op = "lexicon"
name = "competitor"

[[rule]]
id = "phone_number"
expect = "absent"
points = 1
[rule.when]
op = "regex"
pattern = '[0-9一二三四五六七八九零]{11}'

[[rule]]
id = "apology_after_complaint"
expect = "present"
points = 10
[rule.when]
op = "any"
of = [
  { op = "not", of = [{ op = "lexicon", role = "customer", name = "complaint" }] },
  { op = "sequence", within = 2, first = { op = "lexicon", role = "customer", name = "complaint" }, then = { op = "keyword", role = "agent", words = ["抱歉", "对不起"] } },
]

[[rule]]
id = "transfer_after_question"
expect = "absent"
points = 1
[rule.when]
op = "sequence"
first = { op = "keyword", role = "customer", words = ["怎么", "为什么"] }
then = { op = "keyword", role = "agent", words = ["转接"] }

[[rule]]
id = "long_silence"
expect = "absent"
points = 5
[rule.when]
op = "silence"
role = "agent"
after = "customer"
min_seconds = 2

[[rule]]
id = "overtalk"
expect = "absent"
points = 3
[rule.when]
op = "overtalk"
role = "agent"
min_seconds = 0.5

[[rule]]
id = "speech_rate"
expect = "absent"
points = 3
[rule.when]
op = "speech_rate"
role = "agent"
max_cpm = 300
min_cpm = 150

[[rule]]
id = "talk_ratio"
expect = "absent"
points = 3
[rule.when]
op = "talk_ratio"
role = "agent"
max = 0.7

[[rule]]
id = "duration"
expect = "absent"
points = 2
[rule.when]
op = "duration"
min_seconds = 60
max_seconds = 600

[[rule]]
id = "customer_repeats"
expect = "absent"
points = 3
[rule.when]
op = "repeat"
role = "customer"
"#;

/// The example scorecard (its forbidden words are measured for homophone
/// false positives).
const EXAMPLE_SCORECARD: &str = include_str!("../../../corpora/scorecards/after_sales.toml");

/// Runs the benchmark over `calls` synthetic calls; `texts` are clean
/// reference transcripts (`id<TAB>text`) for the false-positive rows. The
/// calls are stored in an embedded store, or in a fresh schema of the
/// PostgreSQL database `shared` (dropped afterwards).
pub fn run(
    calls: u64,
    seed: u64,
    texts: &[PathBuf],
    shared: Option<&str>,
    output: Output,
) -> Result<Vec<Row>> {
    let scorecard = Scorecard::parse(BENCH_SCORECARD, "bench scorecard")?;
    let rule_count = scorecard.rules.len();
    let scorer = Scorer::new(vec![scorecard]);

    let directory = tempfile::tempdir().map_err(|error| Error::io("temp dir", error))?;
    let schema = shared
        .map(|url| TestSchema::create_at(url, "bench_qa"))
        .transpose()?;
    let database = match &schema {
        Some(schema) => schema.url(),
        None => directory.path().join("callscope.db").display().to_string(),
    };
    let generator = Generator::new(SynthOptions {
        seed,
        ..SynthOptions::default()
    });
    let store = store_calls(&database, &generator, calls, output)?;
    let passes = single_thread_passes(&store, &scorer)?;
    let all_cores = score_and_store(&store, &database, &scorer)?;
    let backend = if schema.is_some() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    let mut rows = throughput_rows(calls, rule_count, &passes, &all_cores, backend);
    rows.extend(false_positive_rows(&generator, texts)?);
    Ok(rows)
}

/// A new store at `database` (a path or a PostgreSQL URL) holding `calls`
/// synthetic calls, generated and written in batches of 2000.
fn store_calls(database: &str, generator: &Generator, calls: u64, output: Output) -> Result<Store> {
    let mut store = Store::open_location(database)?;
    let bar = output.progress(calls, "calls stored");
    let mut start = 0;
    while start < calls {
        let end = (start + 2000).min(calls);
        let batch: Vec<Call> = (start..end)
            .into_par_iter()
            .map(|index| generator.call(index))
            .collect();
        store.put_calls(&batch)?;
        bar.set_position(end);
        start = end;
    }
    bar.finish_and_clear();
    Ok(store)
}

/// A stored call's JSON, decoded (the bench wrote it just before).
fn decode_stored(body: &str) -> Call {
    serde_json::from_str(body).expect("stored calls decode")
}

/// One pass over the stored calls.
struct Pass {
    /// CPU seconds of the process during the pass.
    cpu_seconds: f64,
    /// Wall-clock seconds of the pass.
    wall_seconds: f64,
    /// The sum of what the work counted per call.
    total: usize,
}

/// Reads every stored call on this thread and decodes and works on it in
/// `pool`. One thread works at a time (this one reads, the pool's decodes
/// and scores), so CPU time is the work itself, unaffected by other
/// processes taking the cores.
fn timed_pass(
    store: &Store,
    pool: &rayon::ThreadPool,
    work: &(dyn Fn(&Call) -> usize + Sync),
) -> Result<Pass> {
    let started = Instant::now();
    let cpu_started = cpu_seconds();
    let mut total = 0usize;
    store.for_each_call_batch(&CallFilter::default(), 1000, |bodies| {
        total += pool.install(|| {
            bodies
                .par_iter()
                .map(|body| work(&decode_stored(body)))
                .sum::<usize>()
        });
        Ok(())
    })?;
    let wall_seconds = started.elapsed().as_secs_f64();
    let cpu_seconds = match (cpu_started, cpu_seconds()) {
        (Some(before), Some(after)) if after > before => after - before,
        _ => wall_seconds,
    };
    Ok(Pass {
        cpu_seconds,
        wall_seconds,
        total,
    })
}

/// The passes on one thread, each doing more of the work: read + decode
/// (counting segments), + prepare (characters), + rule evaluation
/// (violations).
struct Passes {
    decode: Pass,
    prepare: Pass,
    score: Pass,
}

fn single_thread_passes(store: &Store, scorer: &Scorer) -> Result<Passes> {
    let single = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .map_err(|error| Error::Usage(format!("cannot start a thread pool: {error}")))?;
    Ok(Passes {
        decode: timed_pass(store, &single, &|call| call.segments.len())?,
        prepare: timed_pass(store, &single, &|call| scorer.prepare_only(call))?,
        score: timed_pass(store, &single, &|call| {
            scorer
                .score(call)
                .iter()
                .map(|result| result.violations.len())
                .sum()
        })?,
    })
}

/// What the pass on all cores did.
struct AllCores {
    threads: usize,
    /// Wall-clock seconds of the whole pass.
    seconds: f64,
    /// Results that passed.
    passed: u64,
    /// Seconds the writer thread spent writing.
    write_seconds: f64,
    /// Results written.
    written: usize,
}

/// All cores, the way `callscope qa` runs: read and decode, score, and
/// store the results on a writer thread.
fn score_and_store(store: &Store, database: &str, scorer: &Scorer) -> Result<AllCores> {
    let (sender, receiver) = std::sync::mpsc::sync_channel::<Vec<QaResult>>(4);
    let writer_thread = spawn_result_writer(Store::open_location(database)?, receiver);
    let threads = rayon::current_num_threads();
    let started = Instant::now();
    let mut passed = 0u64;
    let read = store.for_each_call_batch(&CallFilter::default(), 1000, |bodies| {
        let results: Vec<QaResult> = bodies
            .par_iter()
            .flat_map_iter(|body| scorer.score(&decode_stored(body)))
            .collect();
        passed += results.iter().filter(|result| result.passed).count() as u64;
        sender
            .send(results)
            .map_err(|_| Error::Store("the result writer stopped".to_string()))
    });
    drop(sender);
    let (write_seconds, written) = writer_thread
        .join()
        .unwrap_or_else(|_| Err(Error::Store("the result writer panicked".to_string())))?;
    read?;
    Ok(AllCores {
        threads,
        seconds: started.elapsed().as_secs_f64(),
        passed,
        write_seconds,
        written,
    })
}

/// A thread that writes each batch of results it receives into `writer`;
/// it returns the seconds spent writing and the results written.
fn spawn_result_writer(
    mut writer: Store,
    receiver: std::sync::mpsc::Receiver<Vec<QaResult>>,
) -> std::thread::JoinHandle<Result<(f64, usize)>> {
    std::thread::spawn(move || -> Result<(f64, usize)> {
        let (mut busy, mut written) = (0.0, 0);
        for batch in receiver {
            let started = Instant::now();
            writer.put_qa_results(&batch)?;
            busy += started.elapsed().as_secs_f64();
            written += batch.len();
        }
        Ok((busy, written))
    })
}

/// The throughput rows, from the passes on one thread and on all cores.
fn throughput_rows(
    calls: u64,
    rule_count: usize,
    passes: &Passes,
    all: &AllCores,
    backend: &str,
) -> Vec<Row> {
    let per_second = |seconds: f64| calls as f64 / seconds.max(1e-9);
    let (decode_seconds, segments) = (passes.decode.cpu_seconds, passes.decode.total);
    let (prepare_seconds, characters) = (passes.prepare.cpu_seconds, passes.prepare.total);
    let (score_seconds, violations) = (passes.score.cpu_seconds, passes.score.total);
    let evaluate_seconds = (score_seconds - prepare_seconds).max(0.0);
    vec![
        Row::new(
            "score, per core",
            per_second(score_seconds),
            "calls/s",
            format!(
                "calls per CPU-second, 1 thread: read + decode + normalize + {rule_count} rules; \
                 {calls} calls, {segments} segments, {characters} characters, {violations} \
                 violations; wall clock {:.0} calls/s",
                per_second(passes.score.wall_seconds)
            ),
        ),
        Row::new(
            format!("score + store results, {} threads", all.threads),
            per_second(all.seconds),
            "calls/s",
            format!(
                "as `callscope qa`; pass rate {:.1}%",
                100.0 * all.passed as f64 / calls.max(1) as f64
            ),
        ),
        Row::new(
            "store results (writer thread)",
            all.written as f64 / all.write_seconds.max(1e-9),
            "results/s",
            format!(
                "{backend}, batches of 1000, while the next batch is scored; busy {:.0}% of the pass",
                100.0 * all.write_seconds / all.seconds.max(1e-9)
            ),
        ),
        Row::new(
            "read + decode only, per core",
            per_second(decode_seconds),
            "calls/s",
            format!("{backend} read + serde_json, calls per CPU-second"),
        ),
        Row::new(
            "read + decode + prepare, per core",
            per_second(prepare_seconds),
            "calls/s",
            "prepare: t2s normalization, one Aho-Corasick pass, homophones, timing; calls per \
             CPU-second",
        ),
        Row::new(
            "rule evaluation",
            evaluate_seconds / calls.max(1) as f64 * 1e6,
            "µs/call",
            format!("{rule_count} rules, after preparation"),
        ),
        Row::new(
            "share outside rule evaluation",
            100.0 * prepare_seconds / score_seconds.max(1e-9),
            "%",
            format!(
                "of which read + decode {:.0}%, prepare {:.0}%",
                100.0 * decode_seconds / score_seconds.max(1e-9),
                100.0 * (prepare_seconds - decode_seconds).max(0.0) / score_seconds.max(1e-9)
            ),
        ),
        Row::new("peak memory", super::peak_rss_mib(), "MiB", "whole process"),
    ]
}

/// CPU time of this process so far (user + system), from /proc on Linux.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after_name = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // Fields 14 and 15 of proc(5), utime and stime, in clock ticks (USER_HZ,
    // 100 on Linux).
    let user: f64 = fields.get(11)?.parse().ok()?;
    let system: f64 = fields.get(12)?.parse().ok()?;
    Some((user + system) / 100.0)
}

/// Word lists measured for homophone false positives: the example
/// scorecard's forbidden words and every shipped lexicon.
fn word_lists() -> Result<Vec<(String, Vec<String>)>> {
    let example = Scorecard::parse(EXAMPLE_SCORECARD, "corpora/scorecards/after_sales.toml")?;
    let mut lists = Vec::new();
    for rule in &example.rules {
        if let Operator::Keyword { words, .. } = &rule.when.op {
            if rule.id == "forbidden_words" {
                lists.push((
                    "forbidden words (after_sales.toml)".to_string(),
                    words.clone(),
                ));
            }
        }
    }
    let normalizer = Normalizer::shared();
    for (name, text) in callscope_core::lexicon::SHIPPED {
        lists.push((
            format!("lexicon {name}"),
            callscope_core::lexicon::parse(name, text, &normalizer).words,
        ));
    }
    Ok(lists)
}

fn read_texts(path: &Path) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path).map_err(|error| Error::io(path, error))?;
    let normalizer = Normalizer::shared();
    Ok(text
        .lines()
        .filter_map(|line| line.split_once('\t').map(|(_, text)| text).or(Some(line)))
        .map(|text| normalizer.normalize_str(text))
        .filter(|text| !text.is_empty())
        .collect())
}

fn false_positive_rows(generator: &Generator, texts: &[PathBuf]) -> Result<Vec<Row>> {
    let normalizer = Normalizer::shared();
    let mut corpora: Vec<(String, Vec<String>)> = Vec::new();
    let synthetic: Vec<String> = (0..2000)
        .flat_map(|index| generator.call(index).segments)
        .map(|segment| normalizer.normalize_str(&segment.text))
        .collect();
    corpora.push(("2,000 synthetic calls".to_string(), synthetic));
    let pools: Vec<String> = synth::GREETINGS
        .iter()
        .chain(synth::CLOSINGS)
        .chain(synth::AGENT_LINES)
        .chain(synth::APOLOGIES)
        .chain(synth::FORBIDDEN)
        .chain(synth::COMPLAINTS)
        .chain(synth::CUSTOMER_LINES)
        .chain(synth::CUSTOMER_ISSUES.iter().map(|(_, line)| line))
        .map(|line| normalizer.normalize_str(line))
        .collect();
    corpora.push(("distinct synthetic lines".to_string(), pools));
    for path in texts {
        corpora.push((path.display().to_string(), read_texts(path)?));
    }
    // All word lists together: the forbidden words and every shipped lexicon.
    let mut words: Vec<String> = Vec::new();
    let lists = word_lists()?;
    for (_, list) in &lists {
        for word in list {
            if !words.contains(word) {
                words.push(word.clone());
            }
        }
    }
    let list_names: Vec<&str> = lists.iter().map(|(name, _)| name.as_str()).collect();
    let mut rows = Vec::new();
    for min_chars in [fuzzy::MIN_FUZZY_CHARS, 2] {
        for (corpus_name, sentences) in &corpora {
            let report = fuzzy::false_positives(&words, sentences, min_chars);
            let examples: Vec<String> = report
                .examples
                .iter()
                .take(3)
                .map(|(_, matched, word)| format!("{matched} for {word}"))
                .collect();
            let examples = if examples.is_empty() {
                String::new()
            } else {
                format!("; e.g. {}", examples.join(", "))
            };
            let setting = if min_chars == fuzzy::MIN_FUZZY_CHARS {
                format!("words of {min_chars}+ characters (as rules use)")
            } else {
                format!("words of {min_chars}+ characters (not used)")
            };
            rows.push(Row::new(
                format!("homophone false positives, {setting}, on {corpus_name}"),
                report.per_thousand_sentences(),
                "per 1k sentences",
                format!(
                    "{} of {} sentences, {} homophone vs {} exact hits of {} fuzzy words{examples}",
                    report.sentences_with_homophones,
                    report.sentences,
                    report.homophone_hits,
                    report.exact_hits,
                    report.fuzzy_words,
                ),
            ));
        }
    }
    if let Some(row) = rows.first_mut() {
        row.note
            .push_str(&format!("; word lists: {}", list_names.join(", ")));
    }
    Ok(rows)
}
