//! `callscope-bench asr --only batch`: a night's batch in miniature.
//!
//! A batch of stereo call recordings (8 kHz G.711 mu-law, agent on the left;
//! composed from shared/callcenter-tts and the two real speakers of
//! shared/asr-dev, with pauses, long silences, interruptions, hold music and
//! line noise) goes through callscope's own batch path
//! ([`pipeline::transcribe_batch`]: decode, VAD per channel, recognition per
//! role, store) and through faster-whisper as a team would run it on the
//! same files: each channel split out (`decode_audio(split_stereo=True)`),
//! Silero VAD, the same CTranslate2 weights, the same prompt and beam, once
//! as it comes and once with every word aligned (`word_timestamps=True`,
//! the counterpart of callscope's token alignment), and once more with
//! faster-whisper's defaults (the file mixed down to mono, no VAD). Both
//! sides are timed from loading the model to the last call done, on the
//! same cores, once with one worker using every core and once with one
//! single-threaded worker per core; CER is counted per call and role (the
//! mixdown: per call), and "by line" for every engine that gives segment
//! times. docs/benchmarks.md ("A night's batch in miniature") has the
//! commands and the figures.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use super::asr::{bench_config, faster_whisper_setup, models_to_measure};
use super::audio::Corpus;
use super::Row;
use crate::args::BenchAsrArgs;
use callscope::output::Output;
use callscope_asr::cer::CerCount;
use callscope_asr::ggml::WeightType;
use callscope_asr::{AsrConfig, AsrEngine};
use callscope_audio::AudioOptions;
use callscope_core::error::{Error, Result};
use callscope_core::model::{AudioEntry, ChannelLayout, Role, Segment};
use callscope_pipeline::{self as pipeline, BatchOptions, Transcriber};
use callscope_redact::{RedactionPolicy, Redactor};
use callscope_store::Store;
use callscope_testkit::compose::{self, CallLayout, Clip, ComposedCall, Encoding, PlacedTurn};

/// Seed of the composed calls (the same batch every run).
const BATCH_SEED: u64 = 7_000;

/// The stereo batch (`--only batch`): callscope's batch path against
/// faster-whisper, each with one worker on every core and with one
/// single-threaded worker per core (or the plans `--plan` names), `--repeat`
/// times with the engines alternating.
pub(super) fn batch_rows(
    args: &BenchAsrArgs,
    shared: &Path,
    cache: &Path,
    cores: usize,
    output: &Output,
) -> Result<Vec<Row>> {
    let calls = make_batch(
        shared,
        &cache.join("bench").join("stereo-batch"),
        args.batch_calls,
    )?;
    let plans = if args.plans.is_empty() {
        thread_plans(cores)
    } else {
        args.plans.clone()
    };
    let mut runs: Vec<BatchRun> = Vec::new();
    for _ in 0..args.repeat.max(1) {
        let mut round = callscope_batch_runs(args, &calls, &plans, output)?;
        if !args.no_faster_whisper {
            round.extend(faster_whisper_batch_runs(
                args, cache, &calls, &plans, output,
            )?);
        }
        merge_runs(&mut runs, round);
    }
    let mut rows = Vec::new();
    for run in &runs {
        let mut note = run.note.clone();
        let walls = &run.walls;
        if walls.len() > 1 {
            let listed: Vec<String> = walls.iter().map(|wall| format!("{wall:.1}")).collect();
            note.push_str(&format!(
                "; median of {} runs: {} s",
                walls.len(),
                listed.join(" / ")
            ));
        }
        let score = BatchScore {
            wall_seconds: median(walls),
            ..run.score.clone()
        };
        push_batch_rows(&mut rows, &run.engine, &score, &calls, &note);
    }
    Ok(rows)
}

/// One engine and plan on the batch, over every round.
#[derive(Debug, Clone)]
struct BatchRun {
    /// The row's engine label.
    engine: String,
    /// The first round's score (the text is the same every round).
    score: BatchScore,
    /// Each round's wall-clock seconds.
    walls: Vec<f64>,
    /// The row's note.
    note: String,
}

impl BatchRun {
    fn new(engine: String, score: BatchScore, note: String) -> BatchRun {
        BatchRun {
            engine,
            walls: vec![score.wall_seconds],
            score,
            note,
        }
    }
}

/// Adds a round's runs to the runs so far (the same engines in the same
/// order every round).
fn merge_runs(runs: &mut Vec<BatchRun>, round: Vec<BatchRun>) {
    if runs.is_empty() {
        *runs = round;
        return;
    }
    for (run, next) in runs.iter_mut().zip(round) {
        run.walls.push(next.score.wall_seconds);
        run.score.peak_rss_mib = run.score.peak_rss_mib.max(next.score.peak_rss_mib);
    }
}

/// The median of `values` (the mean of the middle two for an even count).
fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => 0.0,
        count if count % 2 == 1 => sorted[count / 2],
        count => (sorted[count / 2 - 1] + sorted[count / 2]) / 2.0,
    }
}

/// The thread plans, (workers, threads per worker): one worker on every
/// core, then (on more than one core) one single-threaded worker per core.
fn thread_plans(cores: usize) -> Vec<(usize, usize)> {
    let mut plans = vec![(1, cores)];
    if cores > 1 {
        plans.push((cores, 1));
    }
    plans
}

/// The note of a batch row: the thread plan, the beam and how it ran.
fn plan_note(workers: usize, threads: usize, beam_size: usize, how: &str) -> String {
    format!("{workers} workers x {threads} threads, beam {beam_size}; {how}")
}

/// callscope's batch path at each plan on the quantized models (f16 is
/// slower than q8_0 and no more accurate: docs/benchmarks.md), unless
/// models were named.
fn callscope_batch_runs(
    args: &BenchAsrArgs,
    calls: &[BatchCall],
    plans: &[(usize, usize)],
    output: &Output,
) -> Result<Vec<BatchRun>> {
    let models = models_to_measure(args, |built| built.weights != WeightType::F16);
    let mut runs = Vec::new();
    for model in &models {
        let name = callscope_asr::engine::model_name(model);
        for &(workers, threads) in plans {
            let config = bench_config(args, model, workers, threads);
            let score = run_callscope(&config, calls, output)?;
            runs.push(BatchRun::new(
                format!("callscope {name} {workers}x{threads}"),
                score,
                plan_note(
                    workers,
                    threads,
                    args.beam_size,
                    "decode + VAD + ASR + store",
                ),
            ));
        }
    }
    Ok(runs)
}

/// How faster-whisper runs the batch.
#[derive(Debug, Clone, Copy, PartialEq)]
enum FasterWhisperRun {
    /// Channels split, Silero VAD: the way a team would tune it.
    Split,
    /// As `Split`, with every word aligned (what callscope's token
    /// alignment does).
    Words,
    /// faster-whisper's defaults: the stereo file mixed down to mono, no VAD.
    Mixdown,
}

impl FasterWhisperRun {
    /// The runs at `plans`: each plan split and with words, then the last
    /// (fastest) plan mixed down.
    fn at(plans: &[(usize, usize)]) -> Vec<((usize, usize), FasterWhisperRun)> {
        let mut runs = Vec::new();
        for &plan in plans {
            runs.push((plan, FasterWhisperRun::Split));
            runs.push((plan, FasterWhisperRun::Words));
        }
        runs.extend(plans.last().map(|&plan| (plan, FasterWhisperRun::Mixdown)));
        runs
    }

    /// What the row's name adds after "faster-whisper int8".
    fn label(self) -> &'static str {
        match self {
            FasterWhisperRun::Split => "",
            FasterWhisperRun::Words => " words",
            FasterWhisperRun::Mixdown => " mixdown",
        }
    }

    /// How it ran, for the row's note.
    fn how(self) -> &'static str {
        match self {
            FasterWhisperRun::Split => "channels split, Silero VAD",
            FasterWhisperRun::Words => {
                "channels split, Silero VAD, word_timestamps (segments: aligned words cut into \
                 sentences)"
            }
            FasterWhisperRun::Mixdown => "stereo mixed to mono, no VAD (the defaults)",
        }
    }
}

/// faster-whisper int8 on the same files, each run of [`FasterWhisperRun::at`].
fn faster_whisper_batch_runs(
    args: &BenchAsrArgs,
    cache: &Path,
    calls: &[BatchCall],
    plans: &[(usize, usize)],
    output: &Output,
) -> Result<Vec<BatchRun>> {
    let (ct2_dir, venv_python) = faster_whisper_setup(cache, output)?;
    let prompt = AsrConfig::default().initial_prompt;
    let mut runs = Vec::new();
    for ((workers, threads), run) in FasterWhisperRun::at(plans) {
        let score = FasterWhisperBatch {
            python: &venv_python,
            model_dir: &ct2_dir,
            compute_type: "int8",
            threads,
            workers,
            beam_size: args.beam_size,
            prompt: &prompt,
            mixdown: run == FasterWhisperRun::Mixdown,
            word_timestamps: run == FasterWhisperRun::Words,
        }
        .run(calls)?;
        runs.push(BatchRun::new(
            format!("faster-whisper int8{} {workers}x{threads}", run.label()),
            score,
            plan_note(workers, threads, args.beam_size, run.how()),
        ));
    }
    Ok(runs)
}

/// One composed call of the batch, with what each role said.
#[derive(Debug, Clone)]
struct BatchCall {
    /// The call's id.
    pub id: String,
    /// The stereo WAV file.
    pub path: PathBuf,
    /// Seconds of audio.
    pub seconds: f64,
    /// The agent's lines in order.
    pub agent_text: String,
    /// The customer's lines in order.
    pub customer_text: String,
    /// Both roles' lines in the order they start (what a mixdown hears).
    pub call_text: String,
    /// Where each line was placed.
    pub turns: Vec<PlacedTurn>,
}

impl BatchCall {
    fn reference(&self, role: Role) -> &str {
        match role {
            Role::Agent => &self.agent_text,
            _ => &self.customer_text,
        }
    }
}

/// What one engine did on the whole batch.
#[derive(Debug, Clone, Default)]
struct BatchScore {
    /// Wall-clock seconds from loading the model to the last call done.
    pub wall_seconds: f64,
    /// CER over both roles of every call.
    pub cer: CerCount,
    /// CER of the agents' lines.
    pub agent_cer: CerCount,
    /// CER of the customers' lines.
    pub customer_cer: CerCount,
    /// CER with every recognized segment held against the placed line of
    /// its role that it overlaps most (text at the wrong time counts as
    /// errors); engines without segment times leave it empty.
    pub turn_cer: CerCount,
    /// Peak resident memory of the process, MiB.
    pub peak_rss_mib: f64,
}

impl BatchScore {
    fn add(&mut self, role: Role, count: CerCount) {
        self.cer.add(count);
        match role {
            Role::Agent => self.agent_cer.add(count),
            _ => self.customer_cer.add(count),
        }
    }
}

/// The batch's call number `index` (deterministic: the same call every run).
pub(super) fn batch_call(agents: &[Clip], customers: &[Clip], index: usize) -> ComposedCall {
    let spec = compose::random_call_spec(
        agents,
        customers,
        CallLayout::AgentLeft,
        BATCH_SEED + index as u64,
    );
    compose::compose(&spec)
}

/// Composes the batch into `dir` (deterministic: the same files every run).
fn make_batch(shared: &Path, dir: &Path, calls: usize) -> Result<Vec<BatchCall>> {
    std::fs::create_dir_all(dir).map_err(|error| Error::io(dir, error))?;
    let corpus = Corpus::load(shared)?;
    let (agents, customers) = corpus.call_voices();
    let mut batch = Vec::with_capacity(calls);
    for index in 0..calls {
        let call = batch_call(&agents, &customers, index);
        let id = format!("B{index:03}");
        let path = dir.join(format!("{id}.wav"));
        call.write(&path, Encoding::Mulaw8k)?;
        let mut turns = call.truth.clone();
        turns.sort_by(|left, right| left.start.total_cmp(&right.start));
        let text_of = |role: Role| -> String {
            turns
                .iter()
                .filter(|turn| turn.role == role)
                .map(|turn| turn.text.as_str())
                .collect()
        };
        batch.push(BatchCall {
            call_text: turns.iter().map(|turn| turn.text.as_str()).collect(),
            agent_text: text_of(Role::Agent),
            customer_text: text_of(Role::Customer),
            turns,
            seconds: call.duration(),
            id,
            path,
        });
    }
    Ok(batch)
}

/// callscope's batch path on the calls with `workers` × `threads`.
fn run_callscope(config: &AsrConfig, calls: &[BatchCall], output: &Output) -> Result<BatchScore> {
    let files: Vec<(&str, &Path)> = calls
        .iter()
        .map(|call| (call.id.as_str(), call.path.as_path()))
        .collect();
    let (store, wall_seconds) =
        transcribe_into_store(config, &files, Some(ChannelLayout::AgentLeft), output)?;
    let mut score = BatchScore {
        wall_seconds,
        peak_rss_mib: super::peak_rss_mib(),
        ..BatchScore::default()
    };
    for call in calls {
        let stored = store
            .get_call(&call.id)?
            .ok_or_else(|| Error::Store(format!("{}: transcribed but not stored", call.id)))?;
        for role in [Role::Agent, Role::Customer] {
            let text: String = stored
                .segments
                .iter()
                .filter(|segment| segment.role == role)
                .map(|segment| segment.text.as_str())
                .collect();
            score.add(role, CerCount::of(call.reference(role), &text));
        }
        let spans: Vec<Span> = stored.segments.iter().map(Span::of).collect();
        score.turn_cer.add(turn_cer(&call.turns, &spans));
    }
    Ok(score)
}

/// A recognized stretch of one role: seconds of the recording and text.
struct Span {
    role: Role,
    start: f64,
    end: f64,
    text: String,
}

impl Span {
    fn of(segment: &Segment) -> Span {
        Span {
            role: segment.role,
            start: segment.start,
            end: segment.end,
            text: segment.text.clone(),
        }
    }
}

/// CER of `spans` judged line by line: each span's text goes to the placed
/// line of its role that it overlaps most (text over no line of its role
/// counts as inserted).
fn turn_cer(turns: &[PlacedTurn], spans: &[Span]) -> CerCount {
    let mut heard = vec![String::new(); turns.len()];
    let mut stray = String::new();
    for span in spans {
        let own_role = |turn: &PlacedTurn| turn.role == span.role;
        match compose::most_overlapped(turns, span.start, span.end, own_role) {
            Some(index) => heard[index].push_str(&span.text),
            None => stray.push_str(&span.text),
        }
    }
    let mut count = CerCount::of("", &stray);
    for (turn, text) in turns.iter().zip(&heard) {
        count.add(CerCount::of(&turn.text, text));
    }
    count
}

/// Runs callscope's batch path ([`pipeline::transcribe_batch`]) on `files`
/// (call id, recording) of one channel layout (`None`: as `transcribe` sees
/// the file) into an in-memory store, with the VAD `config` names (Silero's
/// model missing is an error here, not a fallback); the store and the
/// wall-clock seconds from loading the model to the last call done. Any
/// failed call fails the measurement.
pub(super) fn transcribe_into_store(
    config: &AsrConfig,
    files: &[(&str, &Path)],
    layout: Option<ChannelLayout>,
    output: &Output,
) -> Result<(Store, f64)> {
    super::asr::reset_peak_rss();
    let started = Instant::now();
    let plan = config.thread_plan();
    let engine = AsrEngine::load(config)?;
    let (silero, fallback) = config.load_vad()?;
    if let Some(note) = fallback {
        return Err(Error::Usage(note));
    }
    let transcriber = Transcriber::new(engine, AudioOptions::default()).with_silero(silero);
    let mut store = Store::open_in_memory()?;
    // Masking would turn read-out numbers into `*`: compare plain text.
    let redactor = Redactor::new(RedactionPolicy::disabled(), None)?;
    let entries: Vec<AudioEntry> = files
        .iter()
        .map(|&(id, path)| AudioEntry {
            path: path.to_path_buf(),
            call_id: id.to_string(),
            started_at: Some("2026-12-01T09:00:00+08:00".to_string()),
            agent_id: None,
            team: None,
            queue: None,
            channels: layout,
            meta: Default::default(),
        })
        .collect();
    let bar = output.progress(0, "s audio");
    bar.set_message(format!(
        "callscope {} workers x {} threads",
        plan.workers, plan.threads_per_worker
    ));
    let report = pipeline::transcribe_batch(
        &transcriber,
        entries,
        &mut store,
        &redactor,
        &BatchOptions {
            force: true,
            workers: plan.workers,
        },
        &bar,
    )?;
    bar.finish_and_clear();
    let wall_seconds = started.elapsed().as_secs_f64();
    if let Some(failure) = report.failures.first() {
        return Err(Error::Usage(format!(
            "the benchmark batch failed on {}: {}",
            failure.path, failure.reason
        )));
    }
    Ok((store, wall_seconds))
}

/// faster-whisper on the same files: channels split with Silero VAD, or
/// (`mixdown`) its defaults.
struct FasterWhisperBatch<'a> {
    /// The venv's interpreter.
    pub python: &'a Path,
    /// The CTranslate2 model directory.
    pub model_dir: &'a Path,
    /// int8, float32, ...
    pub compute_type: &'a str,
    /// CPU threads per worker.
    pub threads: usize,
    /// Files transcribed at once.
    pub workers: usize,
    /// Beam size (1: greedy).
    pub beam_size: usize,
    /// The initial prompt.
    pub prompt: &'a str,
    /// faster-whisper's defaults instead: the file mixed down to mono, no
    /// VAD (scored against both roles' lines in order; no role figures).
    pub mixdown: bool,
    /// Every word aligned (`word_timestamps=True`, what callscope's token
    /// alignment does); its segments for CER by line are the words cut into
    /// sentences after 。？！, the way callscope cuts its own.
    pub word_timestamps: bool,
}

impl FasterWhisperBatch<'_> {
    /// Runs the batch and scores it.
    pub fn run(&self, calls: &[BatchCall]) -> Result<BatchScore> {
        let list = super::asr::audio_list(
            calls
                .iter()
                .map(|call| (call.id.as_str(), call.path.as_path())),
        )?;
        let script = super::asr::faster_whisper_script();
        let mut command = self.command(&script, list.path());
        let stdout = super::asr::run_faster_whisper(&mut command, &script)?;
        self.score(calls, &stdout)
    }

    /// The script's command line for the files listed in `list`.
    fn command(&self, script: &Path, list: &Path) -> Command {
        let mut command = Command::new(self.python);
        command.arg(script);
        if self.mixdown {
            command.arg("--mixdown");
        }
        if self.word_timestamps {
            command.arg("--word-timestamps");
        }
        command
            .arg("--model-dir")
            .arg(self.model_dir)
            .args(["--compute-type", self.compute_type])
            .args(["--threads", &self.threads.to_string()])
            .args(["--workers", &self.workers.to_string()])
            .args(["--beam-size", &self.beam_size.to_string()])
            .args(["--prompt", self.prompt])
            .arg("--stereo")
            .arg(list);
        command
    }

    /// Scores what the script printed: a JSON line per call and channel
    /// (`channel` -1: mixed down), and one with the batch's seconds and
    /// peak memory.
    fn score(&self, calls: &[BatchCall], stdout: &str) -> Result<BatchScore> {
        let mut score = BatchScore::default();
        let mut seen = 0;
        // each call's segments, for CER by line
        let mut spans: Vec<Vec<Span>> = calls.iter().map(|_| Vec::new()).collect();
        for line in stdout.lines() {
            let Ok(value) = serde_json::from_str::<serde_json::Value>(line) else {
                continue;
            };
            if let (Some(id), Some(channel)) = (value["id"].as_str(), value["channel"].as_i64()) {
                let Some(index) = calls.iter().position(|call| call.id == id) else {
                    continue;
                };
                let call = &calls[index];
                let text = value["text"].as_str().unwrap_or("");
                if channel < 0 {
                    // One mixed-down channel: the whole call's lines.
                    score.cer.add(CerCount::of(&call.call_text, text));
                    seen += 1;
                    continue;
                }
                // Agent on the left (channel 0), as composed.
                let role = if channel == 0 {
                    Role::Agent
                } else {
                    Role::Customer
                };
                score.add(role, CerCount::of(call.reference(role), text));
                spans[index].extend(channel_spans(role, &value["segments"]));
                seen += 1;
            } else if let Some(seconds) = value["batch_seconds"].as_f64() {
                score.wall_seconds = seconds;
                score.peak_rss_mib = value["peak_rss_mib"].as_f64().unwrap_or(0.0);
            }
        }
        if !self.mixdown {
            for (call, spans) in calls.iter().zip(&spans) {
                score.turn_cer.add(turn_cer(&call.turns, spans));
            }
        }
        let channels_per_call = if self.mixdown { 1 } else { 2 };
        if seen != calls.len() * channels_per_call {
            return Err(Error::Usage(format!(
                "faster-whisper returned {seen} channels for {} calls",
                calls.len()
            )));
        }
        Ok(score)
    }
}

/// One channel's segments as the script prints them, `[start, end, text]`
/// each, as spans of `role` (malformed ones skipped).
fn channel_spans(role: Role, segments: &serde_json::Value) -> Vec<Span> {
    segments
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|segment| {
            Some(Span {
                role,
                start: segment[0].as_f64()?,
                end: segment[1].as_f64()?,
                text: segment[2].as_str()?.to_string(),
            })
        })
        .collect()
}

/// The rows of one engine's batch run.
fn push_batch_rows(
    rows: &mut Vec<Row>,
    engine: &str,
    score: &BatchScore,
    calls: &[BatchCall],
    note: &str,
) {
    let audio: f64 = calls.iter().map(|call| call.seconds).sum();
    let set = "stereo batch";
    rows.push(Row::new(
        format!("{set} · {engine} · wall"),
        score.wall_seconds,
        "s",
        format!(
            "{} calls, {:.1} min of stereo audio, {:.0}x real time; {note}",
            calls.len(),
            audio / 60.0,
            audio / score.wall_seconds.max(1e-9)
        ),
    ));
    rows.push(Row::new(
        format!("{set} · {engine} · CER"),
        score.cer.rate() * 100.0,
        "%",
        if score.agent_cer.reference_chars == 0 {
            format!(
                "whole call, no roles (one mixed channel); {} edits / {} chars",
                score.cer.edits, score.cer.reference_chars
            )
        } else {
            format!(
                "agent {:.1}%, customer {:.1}%; {} edits / {} chars",
                score.agent_cer.rate() * 100.0,
                score.customer_cer.rate() * 100.0,
                score.cer.edits,
                score.cer.reference_chars
            )
        },
    ));
    if score.turn_cer.reference_chars > 0 {
        rows.push(Row::new(
            format!("{set} · {engine} · CER by line"),
            score.turn_cer.rate() * 100.0,
            "%",
            format!(
                "every segment held against the placed line of its role it overlaps most \
                 (text at the wrong time counts as errors); {} edits / {} chars",
                score.turn_cer.edits, score.turn_cer.reference_chars
            ),
        ));
    }
    rows.push(Row::new(
        format!("{set} · {engine} · peak RSS"),
        score.peak_rss_mib,
        "MiB",
        "whole process, all workers".to_string(),
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_runs_report_their_median() {
        assert_eq!(median(&[21.6, 18.5, 19.3]), 19.3);
        assert_eq!(median(&[20.0, 18.0]), 19.0);
        let score = |wall_seconds| BatchScore {
            wall_seconds,
            ..BatchScore::default()
        };
        let mut runs = Vec::new();
        for walls in [[19.0, 37.0], [21.0, 39.0]] {
            let round = vec![
                BatchRun::new("callscope".into(), score(walls[0]), String::new()),
                BatchRun::new("faster-whisper".into(), score(walls[1]), String::new()),
            ];
            merge_runs(&mut runs, round);
        }
        assert_eq!(runs[0].walls, vec![19.0, 21.0]);
        assert_eq!(runs[1].walls, vec![37.0, 39.0]);
    }

    fn placed(role: Role, start: f64, end: f64, text: &str) -> PlacedTurn {
        PlacedTurn {
            role,
            start,
            end,
            text: text.to_string(),
            clip: String::new(),
        }
    }

    fn span(role: Role, start: f64, end: f64, text: &str) -> Span {
        Span {
            role,
            start,
            end,
            text: text.to_string(),
        }
    }

    #[test]
    fn turn_cer_gives_each_span_to_the_line_of_its_role_it_overlaps_most() {
        let turns = [
            placed(Role::Agent, 0.0, 2.0, "您好"),
            placed(Role::Customer, 1.5, 4.0, "按钮"),
            placed(Role::Agent, 4.0, 6.0, "再见"),
        ];
        // Right lines, the first agent span overlapping the customer's line.
        let right = [
            span(Role::Agent, 0.2, 1.9, "您好"),
            span(Role::Customer, 1.8, 3.5, "按钮"),
            span(Role::Agent, 3.8, 5.5, "再见"),
        ];
        let count = turn_cer(&turns, &right);
        assert_eq!((count.edits, count.reference_chars), (0, 6));
        // The right words at the wrong time: the agent's farewell heard
        // over the first agent line, and a customer span over no customer
        // line (inserted).
        let wrong = [
            span(Role::Agent, 0.2, 1.9, "您好再见"),
            span(Role::Customer, 1.8, 3.5, "按钮"),
            span(Role::Customer, 4.5, 5.5, "喂"),
        ];
        let count = turn_cer(&turns, &wrong);
        // 2 inserted into line 1, 2 deleted from line 3, 1 stray.
        assert_eq!((count.edits, count.reference_chars), (5, 6));
    }
}
