//! `callscope-bench asr`: accuracy, speed and memory of recognition.
//!
//! Engines are compared on the path each product runs: callscope through
//! its batch path (`pipeline::transcribe_batch`: decode, VAD per channel,
//! packing, recognition, each clip a call), faster-whisper with its own
//! Silero VAD (`vad_filter`). Rows that hand a recognizer the whole clip
//! (no VAD) or the true speech regions are diagnostics and say so.
//!
//! Data: `shared/asr-dev` (80 clips of real read Mandarin, 16 kHz; with
//! `--more` also the 320 of `shared/asr-dev-more`, FLAC) as is and
//! as telephone audio (8 kHz G.711 mu-law made with sox, decoded and
//! resampled back to 16 kHz by the audio stage); the same clips laid end to end per
//! speaker with silences (a "channel", where skipping silence pays); and
//! `shared/callcenter-tts` with and without the dictionary's hotwords.
//! Each ggml model is measured, and faster-whisper runs side by side on the
//! very CTranslate2 weights the models were converted from (int8 and
//! float32, the same threads, prompt and beam), in a venv under the cache.
//! docs/benchmarks.md ("Speech recognition") has the commands and the
//! figures.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use super::Row;
use crate::args::BenchAsrArgs;
use callscope::output::Output;
use callscope_asr::cer::CerCount;
use callscope_asr::fetch::{ensure_ct2, BuiltModel, BUILT_MODELS};
use callscope_asr::{
    available_cores, cache_dir, read_hotwords_file, AsrConfig, AsrEngine, AsrWorker,
    DEFAULT_MODEL_DIR,
};
use callscope_core::error::{Error, Result};
use callscope_core::model::SpeechRegion;

/// The faster-whisper version the comparison installs.
pub const FASTER_WHISPER_VERSION: &str = "1.2.1";

/// Silence between clips in the channel scenario, seconds.
const CHANNEL_GAP_SECONDS: f64 = 1.5;

/// A clip with its reference.
#[derive(Debug, Clone)]
struct Clip {
    id: String,
    reference: String,
    path: PathBuf,
}

/// What one recognizer did on one data set.
#[derive(Debug, Clone, Default)]
struct Score {
    cer: CerCount,
    audio_seconds: f64,
    compute_seconds: f64,
    peak_rss_mib: f64,
}

impl Score {
    fn rtf(&self) -> f64 {
        self.compute_seconds / self.audio_seconds.max(1e-9)
    }
}

/// The shared data folder: `$CALLSCOPE_SHARED`, else `../shared` from the
/// working directory or from the source tree.
pub fn shared_dir() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("CALLSCOPE_SHARED").filter(|dir| !dir.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    let candidates = [
        std::env::current_dir()
            .ok()
            .map(|dir| dir.join("../shared")),
        Some(PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")).join("../shared")),
    ];
    candidates
        .into_iter()
        .flatten()
        .find(|dir| dir.join("asr-dev").is_dir())
        .ok_or_else(|| {
            Error::Usage(
                "the benchmark data (shared/asr-dev) was not found: set CALLSCOPE_SHARED to the \
                 folder that holds asr-dev and callcenter-tts"
                    .to_string(),
            )
        })
}

fn read_clips(dir: &Path, limit: Option<usize>) -> Result<Vec<Clip>> {
    let list = dir.join("transcripts.tsv");
    let text = std::fs::read_to_string(&list).map_err(|error| Error::io(&list, error))?;
    let mut clips = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim_start_matches('\u{feff}');
        if line.trim().is_empty() {
            continue;
        }
        let Some((id, reference)) = line.split_once('\t') else {
            return Err(Error::Input {
                file: list.display().to_string(),
                line: number + 1,
                reason: "expected `id<TAB>text`".to_string(),
            });
        };
        let id = id.trim();
        let wav = dir.join("wav").join(format!("{id}.wav"));
        let flac = dir.join("flac").join(format!("{id}.flac"));
        clips.push(Clip {
            id: id.to_string(),
            reference: reference.trim().to_string(),
            path: if wav.is_file() || !flac.is_file() {
                wav
            } else {
                flac
            },
        });
    }
    if let Some(limit) = limit {
        clips.truncate(limit);
    }
    Ok(clips)
}

/// Runs the benchmark and returns its rows.
pub fn run(args: &BenchAsrArgs, output: Output) -> Result<Vec<Row>> {
    let bench = AsrBench::prepare(args, output)?;
    let mut rows = Vec::new();
    for (index, model) in bench.models.iter().enumerate() {
        rows.extend(bench.callscope_rows(model, index == bench.hotword_model)?);
    }
    let per_clip = bench.wants("clips") || bench.wants("mulaw") || bench.wants("channel");
    if !args.no_faster_whisper && per_clip {
        rows.extend(bench.faster_whisper_rows()?);
    }
    if bench.wants("batch") {
        rows.extend(super::asr_batch::batch_rows(
            args,
            &bench.shared,
            &bench.cache,
            bench.threads,
            &output,
        )?);
    }
    if bench.wants("roles") {
        rows.extend(bench.roles_rows()?);
    }
    rows.push(bench.audio_row());
    Ok(rows)
}

/// Whether `--only` asks for `part` (no `--only`: every part).
fn wants(args: &BenchAsrArgs, part: &str) -> bool {
    args.only.is_empty() || args.only.iter().any(|only| only == part)
}

/// What the parts of the benchmark share, prepared once: the settings, the
/// models and the data sets.
struct AsrBench<'a> {
    args: &'a BenchAsrArgs,
    output: Output,
    shared: PathBuf,
    cache: PathBuf,
    /// Threads of the one worker, callscope's and faster-whisper's alike.
    threads: usize,
    models: Vec<PathBuf>,
    /// The model of the hotword comparison and the role measurement: the
    /// default model, or the first given.
    hotword_model: usize,
    clips: Vec<Clip>,
    tts: Vec<Clip>,
    /// The clips as 8 kHz mu-law (made only when that part runs).
    mulaw: Vec<Clip>,
    /// The clips laid end to end per speaker (made only when that part runs).
    channels: Vec<Channel>,
    /// The settings every per-clip row notes.
    note_common: String,
    /// What `--no-align` adds to the notes.
    alignment_note: &'static str,
}

impl<'a> AsrBench<'a> {
    /// Resolves the settings and models, reads the clips and makes the
    /// derived data sets the asked-for parts need.
    fn prepare(args: &'a BenchAsrArgs, output: Output) -> Result<AsrBench<'a>> {
        let shared = shared_dir()?;
        let cache = cache_dir();
        let threads = if args.threads == 0 {
            available_cores()
        } else {
            args.threads.min(available_cores())
        };
        let models = models_to_measure(args, |_| true);
        let mut clips = read_clips(&shared.join("asr-dev"), args.limit)?;
        if args.more {
            clips.extend(read_clips(&shared.join("asr-dev-more"), args.limit)?);
        }
        let tts = read_clips(&shared.join("callcenter-tts"), None)?;
        let mulaw = if wants(args, "mulaw") {
            make_mulaw(&clips, &cache.join("bench").join("asr-dev-mulaw8k"))?
        } else {
            Vec::new()
        };
        let channels = if wants(args, "channel") {
            make_channels(&clips, &cache.join("bench").join("asr-dev-channels"))?
        } else {
            Vec::new()
        };
        let alignment_note = if args.no_align {
            ", tokens not aligned"
        } else {
            ""
        };
        let hotword_model = models
            .iter()
            .position(|model| model.ends_with(callscope_asr::DEFAULT_MODEL_FILE))
            .unwrap_or(0);
        Ok(AsrBench {
            note_common: common_note(args, threads, alignment_note),
            args,
            output,
            shared,
            cache,
            threads,
            models,
            hotword_model,
            clips,
            tts,
            mulaw,
            channels,
            alignment_note,
        })
    }

    fn wants(&self, part: &str) -> bool {
        wants(self.args, part)
    }

    /// The per-clip sets asked for: the clips as is and as 8 kHz mu-law.
    fn clip_sets(&self) -> Vec<(&'static str, &[Clip])> {
        let mut sets: Vec<(&'static str, &[Clip])> = Vec::new();
        let (plain, mulaw) = if self.args.more {
            ("dev 400 16k", "dev 400 8k mu-law")
        } else {
            ("asr-dev 16k", "asr-dev 8k mu-law")
        };
        if self.wants("clips") {
            sets.push((plain, &self.clips));
        }
        if self.wants("mulaw") {
            sets.push((mulaw, &self.mulaw));
        }
        sets
    }

    /// callscope's rows for one model: each clip set, the channels and,
    /// `with_hotwords`, the hotword comparison.
    fn callscope_rows(&self, model: &Path, with_hotwords: bool) -> Result<Vec<Row>> {
        let name = callscope_asr::engine::model_name(model);
        let engine_label = format!("callscope {name}");
        let config = AsrConfig {
            hotwords: self.args.hotword.clone(),
            ..bench_config(self.args, model, 1, self.threads)
        };
        let note = format!(
            "{}, encoder ≥ {} s",
            self.note_common, config.min_context_seconds
        );
        reset_peak_rss();
        let vad_label = format!("{engine_label}, its VAD ({})", config.vad);
        let mut rows = Vec::new();
        // The product path first, each clip (or channel) a call.
        for (set, clips) in self.clip_sets() {
            let score = self.score_product(&config, clips)?;
            push_score(&mut rows, set, &vad_label, &score, &note);
        }
        if self.wants("channel") {
            let channels: Vec<Clip> = self.channels.iter().map(Channel::as_clip).collect();
            let score = self.score_product(&config, &channels)?;
            push_score(&mut rows, "asr-dev channels", &vad_label, &score, &note);
        }
        if !self.args.no_diagnostics {
            reset_peak_rss();
            let engine = AsrEngine::load(&config)?;
            let mut worker = engine.worker()?;
            for (set, clips) in self.clip_sets() {
                let score = self.score_clips(&mut worker, format!("{name} {set}"), clips)?;
                let label = format!("{engine_label}, whole clip, no VAD (diagnostic)");
                push_score(&mut rows, set, &label, &score, &note);
            }
            if self.wants("channel") {
                let score = self.score_channels(&mut worker)?;
                let label = format!("{engine_label}, true speech regions (oracle, diagnostic)");
                push_score(&mut rows, "asr-dev channels", &label, &score, &note);
            }
        }
        if self.wants("hotwords") && with_hotwords {
            rows.extend(hotword_rows(
                self.args.show,
                &config,
                &self.tts,
                &self.clips,
                &name,
            )?);
        }
        Ok(rows)
    }

    /// callscope's product path (`pipeline::transcribe_batch`, as
    /// `callscope transcribe` runs it: decode, VAD, speaker separation,
    /// packing, recognition) with each clip a call, timed from loading the
    /// model to the last call stored. A clip's text is its call's segments
    /// in time order.
    fn score_product(&self, config: &AsrConfig, clips: &[Clip]) -> Result<Score> {
        let files: Vec<(&str, &Path)> = clips
            .iter()
            .map(|clip| (clip.id.as_str(), clip.path.as_path()))
            .collect();
        let (store, wall_seconds) =
            super::asr_batch::transcribe_into_store(config, &files, None, &self.output)?;
        let mut score = Score {
            compute_seconds: wall_seconds,
            peak_rss_mib: super::peak_rss_mib(),
            ..Score::default()
        };
        for clip in clips {
            score.audio_seconds += decoded_seconds(&clip.path)?;
            let mut segments = store
                .get_call(&clip.id)?
                .map(|call| call.segments)
                .unwrap_or_default();
            segments.sort_by(|left, right| left.start.total_cmp(&right.start));
            let text: String = segments
                .iter()
                .map(|segment| segment.text.as_str())
                .collect();
            show_clip(self.args.show, &clip.id, &clip.reference, &text);
            score.cer.add(CerCount::of(&clip.reference, &text));
        }
        Ok(score)
    }

    /// callscope on each clip, whole, timed from decoding on.
    fn score_clips(
        &self,
        worker: &mut AsrWorker,
        message: String,
        clips: &[Clip],
    ) -> Result<Score> {
        let bar = self.output.progress(clips.len() as u64, "clips");
        bar.set_message(message);
        let mut score = Score::default();
        for clip in clips {
            let started = Instant::now();
            let (text, seconds) = recognize_clip(worker, &clip.path)?;
            score.compute_seconds += started.elapsed().as_secs_f64();
            score.audio_seconds += seconds;
            show_clip(self.args.show, &clip.id, &clip.reference, &text);
            score.cer.add(CerCount::of(&clip.reference, &text));
            bar.inc(1);
        }
        bar.finish_and_clear();
        score.peak_rss_mib = super::peak_rss_mib();
        Ok(score)
    }

    /// callscope on each channel with its speech regions given (what VAD
    /// finds), timed from recognition on.
    fn score_channels(&self, worker: &mut AsrWorker) -> Result<Score> {
        let mut score = Score::default();
        for channel in &self.channels {
            let samples = decode_16k(&channel.path)?;
            let started = Instant::now();
            let segments = worker.transcribe(&samples, &channel.regions)?;
            score.compute_seconds += started.elapsed().as_secs_f64();
            score.audio_seconds += samples.len() as f64 / 16_000.0;
            let text = segments_text(&segments);
            show_clip(self.args.show, &channel.id, &channel.reference, &text);
            score.cer.add(CerCount::of(&channel.reference, &text));
        }
        score.peak_rss_mib = super::peak_rss_mib();
        Ok(score)
    }

    /// faster-whisper, int8 then float32, on the same sets with the same
    /// threads, prompt and beam; the channels with its Silero VAD.
    fn faster_whisper_rows(&self) -> Result<Vec<Row>> {
        let (ct2_dir, venv_python) = faster_whisper_setup(&self.cache, &self.output)?;
        let channels: Vec<Clip> = self.channels.iter().map(Channel::as_clip).collect();
        let mut rows = Vec::new();
        let compute_types: Vec<&str> = if self.args.fw_compute_types.is_empty() {
            vec!["int8", "float32"]
        } else {
            self.args
                .fw_compute_types
                .iter()
                .map(String::as_str)
                .collect()
        };
        for compute_type in compute_types {
            let runner = FasterWhisper {
                python: venv_python.clone(),
                model_dir: ct2_dir.clone(),
                compute_type,
                threads: self.threads,
                beam_size: self.args.beam_size,
                prompt: AsrConfig::default().initial_prompt,
            };
            let label = format!("faster-whisper {compute_type}, its VAD (Silero)");
            let vad_note = format!("{}; vad_filter (Silero)", self.note_common);
            for (set, clips) in self.clip_sets() {
                let score = runner.run(clips, true)?;
                push_score(&mut rows, set, &label, &score, &vad_note);
            }
            if self.wants("channel") {
                let score = runner.run(&channels, true)?;
                push_score(&mut rows, "asr-dev channels", &label, &score, &vad_note);
            }
            if !self.args.no_diagnostics {
                let label =
                    format!("faster-whisper {compute_type}, whole clip, no VAD (diagnostic)");
                for (set, clips) in self.clip_sets() {
                    let score = runner.run(clips, false)?;
                    push_score(&mut rows, set, &label, &score, &self.note_common);
                }
            }
        }
        Ok(rows)
    }

    /// Who is the agent on mono calls, end to end, with the product's
    /// settings (dictionary hotwords on) on the hotword comparison's model.
    fn roles_rows(&self) -> Result<Vec<Row>> {
        let model = &self.models[self.hotword_model];
        let config = AsrConfig {
            model: model.clone(),
            threads: self.threads,
            workers: 1,
            beam_size: self.args.beam_size,
            min_context_seconds: self.args.min_context,
            align_tokens: !self.args.no_align,
            vad: self.args.vad.unwrap_or_default(),
            ..AsrConfig::default()
        };
        super::asr_roles::roles_rows(
            &config,
            &format!(
                "callscope {}, dictionary hotwords, beam {}{}",
                callscope_asr::engine::model_name(model),
                self.args.beam_size,
                self.alignment_note
            ),
            &self.shared,
            &self.cache.join("bench").join("mono-roles"),
            self.args.role_calls,
            &self.output,
        )
    }

    /// How much audio asr-dev holds.
    fn audio_row(&self) -> Row {
        let audio: f64 = self
            .clips
            .iter()
            .map(|clip| decoded_seconds(&clip.path).unwrap_or(0.0))
            .sum();
        let sets = if self.args.more {
            "asr-dev and asr-dev-more"
        } else {
            "asr-dev"
        };
        Row::new(
            "clips audio",
            audio,
            "s",
            format!(
                "{} clips of {sets} in {}",
                self.clips.len(),
                self.shared.display()
            ),
        )
    }
}

/// The settings every per-clip row notes.
fn common_note(args: &BenchAsrArgs, threads: usize, alignment_note: &str) -> String {
    let full_encoder = if args.full_audio_ctx {
        ", full 30 s encoder"
    } else {
        ""
    };
    let no_redecode = if args.no_redecode {
        ", no re-decode"
    } else {
        ""
    };
    format!(
        "{threads} threads, beam {}, windows {} s, gaps {} s{full_encoder}{no_redecode}\
         {alignment_note}",
        args.beam_size, args.max_window, args.gap
    )
}

/// The models to measure: the ones named, else the built models that
/// `keep` accepts.
pub(super) fn models_to_measure(
    args: &BenchAsrArgs,
    keep: impl Fn(&BuiltModel) -> bool,
) -> Vec<PathBuf> {
    if !args.models.is_empty() {
        return args.models.clone();
    }
    BUILT_MODELS
        .iter()
        .filter(|built| keep(built))
        .map(|built| Path::new(DEFAULT_MODEL_DIR).join(built.file))
        .collect()
}

/// Decodes one clip and recognizes it whole; its text and seconds.
fn recognize_clip(worker: &mut AsrWorker, path: &Path) -> Result<(String, f64)> {
    let samples = decode_16k(path)?;
    let seconds = samples.len() as f64 / 16_000.0;
    let segments = worker.transcribe(
        &samples,
        &[SpeechRegion {
            start: 0.0,
            end: seconds,
        }],
    )?;
    Ok((segments_text(&segments), seconds))
}

/// The recognized segments' text, joined.
fn segments_text(segments: &[callscope_core::model::AsrSegment]) -> String {
    segments
        .iter()
        .map(|segment| segment.text.as_str())
        .collect()
}

/// callscope's settings for a measurement: the bench's flags on `model`
/// with `workers` × `threads`, and no dictionary hotwords (faster-whisper
/// gets the same plain prompt; hotwords are compared on their own).
pub(super) fn bench_config(
    args: &BenchAsrArgs,
    model: &Path,
    workers: usize,
    threads: usize,
) -> AsrConfig {
    let defaults = AsrConfig::default();
    AsrConfig {
        model: model.to_path_buf(),
        threads,
        workers,
        vad: args.vad.unwrap_or(defaults.vad),
        vad_pad_seconds: args.vad_pad.unwrap_or(defaults.vad_pad_seconds),
        vad_min_silence_seconds: args
            .vad_min_silence
            .unwrap_or(defaults.vad_min_silence_seconds),
        beam_size: args.beam_size,
        dictionary_hotwords: false,
        reduce_audio_ctx: !args.full_audio_ctx,
        redecode_skipped: !args.no_redecode,
        max_window_seconds: args.max_window,
        gap_seconds: args.gap,
        min_context_seconds: args.min_context,
        align_tokens: !args.no_align,
        vocabulary: args.vocabulary.unwrap_or(defaults.vocabulary),
        ..defaults
    }
}

fn push_score(rows: &mut Vec<Row>, set: &str, engine: &str, score: &Score, note: &str) {
    rows.push(Row::new(
        format!("{set} · {engine} · CER"),
        score.cer.rate() * 100.0,
        "%",
        format!(
            "{} edits / {} chars",
            score.cer.edits, score.cer.reference_chars
        ),
    ));
    rows.push(Row::new(
        format!("{set} · {engine} · RTF"),
        score.rtf(),
        "x",
        format!(
            "{:.1} s compute for {:.1} s audio; {note}",
            score.compute_seconds, score.audio_seconds
        ),
    ));
    rows.push(Row::new(
        format!("{set} · {engine} · peak RSS"),
        score.peak_rss_mib,
        "MiB",
        "whole process, one worker".to_string(),
    ));
}

/// CER on callcenter-tts without hotwords, with the dictionary's words and
/// with the curated hotword list; and on asr-dev (whose lines contain none
/// of them) without and with the curated list, to see any harm.
fn hotword_rows(
    show: bool,
    config: &AsrConfig,
    tts: &[Clip],
    general: &[Clip],
    name: &str,
) -> Result<Vec<Row>> {
    let curated = read_hotwords_file(
        &PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")).join(CURATED_HOTWORDS),
    )?;
    let variants = [
        ("no hotwords", Vec::new(), false, true),
        ("callcenter.dict words", Vec::new(), true, true),
        ("corpora/asr/hotwords.txt", curated, false, true),
    ];
    let mut rows = Vec::new();
    for (label, hotwords, dictionary_hotwords, on_general) in variants {
        let engine = AsrEngine::load(&AsrConfig {
            hotwords,
            dictionary_hotwords,
            ..config.clone()
        })?;
        let mut worker = engine.worker()?;
        let mut sets: Vec<(&str, &[Clip])> = vec![("callcenter-tts", tts)];
        if on_general {
            sets.push(("asr-dev 16k", general));
        }
        for (set, clips) in sets {
            let mut total = CerCount::default();
            let mut c03 = String::new();
            for clip in clips {
                let (text, _) = recognize_clip(&mut worker, &clip.path)?;
                if clip.id == "c03" {
                    c03 = format!("; c03 → {text}");
                }
                show_clip(show, &clip.id, &clip.reference, &text);
                total.add(CerCount::of(&clip.reference, &text));
            }
            rows.push(Row::new(
                format!("{set} · callscope {name} · {label} · CER"),
                total.rate() * 100.0,
                "%",
                format!("{} clips{c03}", clips.len()),
            ));
        }
    }
    Ok(rows)
}

/// Prints one clip's result (`--show`).
fn show_clip(show: bool, id: &str, reference: &str, text: &str) {
    if show {
        let rate = CerCount::of(reference, text).rate();
        eprintln!("{id}\t{:.0}%\t{reference}\t{text}", rate * 100.0);
    }
}

/// The curated hotword list the benchmark compares.
const CURATED_HOTWORDS: &str = "corpora/asr/hotwords.txt";

/// The list the faster-whisper script reads: `id<TAB>path` per line, in a
/// temporary file that lives as long as the returned handle.
pub(super) fn audio_list<'a>(
    items: impl Iterator<Item = (&'a str, &'a Path)>,
) -> Result<tempfile::NamedTempFile> {
    let mut list = tempfile::NamedTempFile::new().map_err(|error| Error::io("tempfile", error))?;
    for (id, path) in items {
        writeln!(list, "{id}\t{}", path.display())
            .map_err(|error| Error::io(list.path(), error))?;
    }
    list.flush()
        .map_err(|error| Error::io(list.path(), error))?;
    Ok(list)
}

/// The script that runs faster-whisper's side: the checkout's in the
/// working directory (the README runs the bench from it), else the one of
/// the checkout the binary was built from.
pub(super) fn faster_whisper_script() -> PathBuf {
    const SCRIPT: &str = "scripts/asr_bench_faster_whisper.py";
    let here = PathBuf::from(SCRIPT);
    if here.is_file() {
        return here;
    }
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")).join(SCRIPT)
}

/// Runs the faster-whisper script (its messages go to stderr); returns
/// what it printed, or an error naming the script when it failed.
pub(super) fn run_faster_whisper(command: &mut Command, script: &Path) -> Result<String> {
    let result = command
        .stderr(Stdio::inherit())
        .output()
        .map_err(|error| Error::io(script, error))?;
    if !result.status.success() {
        return Err(Error::Usage(format!(
            "faster-whisper ({}) failed; see its messages above",
            script.display()
        )));
    }
    Ok(String::from_utf8_lossy(&result.stdout).into_owned())
}

/// The interpreter that makes venvs: `$CALLSCOPE_PYTHON` or `python3`.
fn python() -> String {
    std::env::var("CALLSCOPE_PYTHON").unwrap_or_else(|_| "python3".to_string())
}

/// The CTranslate2 weights and a venv with faster-whisper, each made once
/// under the cache; returns the model directory and the venv's python.
pub(super) fn faster_whisper_setup(cache: &Path, output: &Output) -> Result<(PathBuf, PathBuf)> {
    let (ct2_dir, _) = ensure_ct2(cache, &python(), &mut |line| {
        if !output.quiet {
            eprintln!("{line}");
        }
    })?;
    let venv_python = ensure_faster_whisper(cache, output)?;
    Ok((ct2_dir, venv_python))
}

/// A venv under the cache with faster-whisper installed; returns its python.
fn ensure_faster_whisper(cache: &Path, output: &Output) -> Result<PathBuf> {
    let venv = cache.join("venv-faster-whisper");
    let venv_python = venv.join("bin").join("python");
    let installed = venv_python.is_file()
        && Command::new(&venv_python)
            .args(["-c", "import faster_whisper"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
    if installed {
        return Ok(venv_python);
    }
    if !output.quiet {
        eprintln!(
            "installing faster-whisper {FASTER_WHISPER_VERSION} into {} (once)",
            venv.display()
        );
    }
    let status = Command::new(python())
        .args(["-m", "venv"])
        .arg(&venv)
        .status()
        .map_err(|error| {
            Error::Usage(format!(
                "could not run python3 ({error}) to make the faster-whisper venv: install \
                 python3 and python3-venv, or pass --no-faster-whisper"
            ))
        })?;
    if !status.success() {
        return Err(Error::Usage(format!(
            "python3 -m venv {} failed: install python3-venv, or pass --no-faster-whisper",
            venv.display()
        )));
    }
    let status = Command::new(&venv_python)
        .args(["-m", "pip", "install", "--disable-pip-version-check", "-q"])
        .arg(format!("faster-whisper=={FASTER_WHISPER_VERSION}"))
        .status()
        .map_err(|error| Error::io(&venv_python, error))?;
    if !status.success() {
        return Err(Error::Usage(format!(
            "pip could not install faster-whisper into {}: check the network connection to \
             PyPI, or pass --no-faster-whisper",
            venv.display()
        )));
    }
    Ok(venv_python)
}

/// faster-whisper, run by scripts/asr_bench_faster_whisper.py.
struct FasterWhisper<'a> {
    python: PathBuf,
    model_dir: PathBuf,
    compute_type: &'a str,
    threads: usize,
    beam_size: usize,
    prompt: String,
}

impl FasterWhisper<'_> {
    fn run(&self, clips: &[Clip], vad: bool) -> Result<Score> {
        let list = audio_list(
            clips
                .iter()
                .map(|clip| (clip.id.as_str(), clip.path.as_path())),
        )?;
        let script = faster_whisper_script();
        let mut command = Command::new(&self.python);
        command
            .arg(&script)
            .arg("--model-dir")
            .arg(&self.model_dir)
            .args(["--compute-type", self.compute_type])
            .args(["--threads", &self.threads.to_string()])
            .args(["--beam-size", &self.beam_size.to_string()])
            .args(["--prompt", &self.prompt])
            .arg(list.path());
        if vad {
            command.arg("--vad");
        }
        let stdout = run_faster_whisper(&mut command, &script)?;
        let mut score = Score::default();
        for line in stdout.lines() {
            let Ok(value) = serde_json::from_str::<serde_json::Value>(line) else {
                continue;
            };
            if let Some(id) = value["id"].as_str() {
                let Some(clip) = clips.iter().find(|clip| clip.id == id) else {
                    continue;
                };
                score.compute_seconds += value["seconds"].as_f64().unwrap_or(0.0);
                score.audio_seconds += value["audio"].as_f64().unwrap_or(0.0);
                score.cer.add(CerCount::of(
                    &clip.reference,
                    value["text"].as_str().unwrap_or(""),
                ));
            } else if let Some(peak) = value["peak_rss_mib"].as_f64() {
                score.peak_rss_mib = peak;
            }
        }
        Ok(score)
    }
}

/// The clips as 8 kHz G.711 mu-law WAV files (made once with sox).
fn make_mulaw(clips: &[Clip], dir: &Path) -> Result<Vec<Clip>> {
    std::fs::create_dir_all(dir).map_err(|error| Error::io(dir, error))?;
    let mut out = Vec::with_capacity(clips.len());
    for clip in clips {
        let target = dir.join(format!("{}.wav", clip.id));
        if !target.is_file() {
            let status = Command::new("sox")
                .arg(&clip.path)
                .args(["-r", "8000", "-e", "mu-law"])
                .arg(&target)
                .status()
                .map_err(|error| {
                    Error::Usage(format!(
                        "sox is needed to make the 8 kHz mu-law clips ({error}): apt-get install sox"
                    ))
                })?;
            if !status.success() {
                return Err(Error::Usage(format!(
                    "sox failed on {}",
                    clip.path.display()
                )));
            }
        }
        out.push(Clip {
            path: target,
            ..clip.clone()
        });
    }
    Ok(out)
}

/// One long channel per speaker: the clips laid end to end with silences.
struct Channel {
    id: String,
    reference: String,
    path: PathBuf,
    regions: Vec<SpeechRegion>,
}

impl Channel {
    /// The channel as one long clip (faster-whisper finds its speech itself).
    fn as_clip(&self) -> Clip {
        Clip {
            id: self.id.clone(),
            reference: self.reference.clone(),
            path: self.path.clone(),
        }
    }
}

fn make_channels(clips: &[Clip], dir: &Path) -> Result<Vec<Channel>> {
    std::fs::create_dir_all(dir).map_err(|error| Error::io(dir, error))?;
    let mut speakers: Vec<String> = clips.iter().map(|clip| speaker_of(&clip.id)).collect();
    speakers.dedup();
    let mut channels = Vec::new();
    for speaker in speakers {
        let members: Vec<&Clip> = clips
            .iter()
            .filter(|clip| speaker_of(&clip.id) == speaker)
            .collect();
        let mut samples: Vec<f32> = Vec::new();
        let mut regions = Vec::new();
        let mut reference = String::new();
        let gap = vec![0.0f32; (CHANNEL_GAP_SECONDS * 16_000.0) as usize];
        for clip in members {
            samples.extend_from_slice(&gap);
            let clip_samples = decode_16k(&clip.path)?;
            let start = samples.len() as f64 / 16_000.0;
            samples.extend_from_slice(&clip_samples);
            regions.push(SpeechRegion {
                start,
                end: samples.len() as f64 / 16_000.0,
            });
            reference.push_str(&clip.reference);
        }
        samples.extend_from_slice(&gap);
        let path = dir.join(format!("{speaker}.wav"));
        write_wav_16k(&path, &samples)?;
        channels.push(Channel {
            id: speaker,
            reference,
            path,
            regions,
        });
    }
    Ok(channels)
}

fn speaker_of(id: &str) -> String {
    // AISHELL ids: BAC009 S0150 W0013.
    id.get(6..11).unwrap_or(id).to_string()
}

fn write_wav_16k(path: &Path, samples: &[f32]) -> Result<()> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 16_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(path, spec).map_err(|error| Error::Audio {
        file: path.display().to_string(),
        reason: error.to_string(),
    })?;
    for &sample in samples {
        writer
            .write_sample((sample.clamp(-1.0, 1.0) * 32767.0) as i16)
            .map_err(|error| Error::Audio {
                file: path.display().to_string(),
                reason: error.to_string(),
            })?;
    }
    writer.finalize().map_err(|error| Error::Audio {
        file: path.display().to_string(),
        reason: error.to_string(),
    })
}

/// A recording's length as the audio stage decodes it.
fn decoded_seconds(path: &Path) -> Result<f64> {
    Ok(decode_16k(path)?.len() as f64 / 16_000.0)
}

/// Decodes a recording to 16 kHz mono f32 with the audio stage's decoder
/// (the one `callscope transcribe` uses), channels mixed down.
pub fn decode_16k(path: &Path) -> Result<Vec<f32>> {
    let decoded = callscope_audio::decode(path)?;
    let channels = decoded.channels.len().max(1) as f32;
    let frames = decoded.channels.iter().map(Vec::len).max().unwrap_or(0);
    Ok((0..frames)
        .map(|frame| {
            decoded
                .channels
                .iter()
                .map(|channel| channel.get(frame).copied().unwrap_or(0.0))
                .sum::<f32>()
                / channels
        })
        .collect())
}

/// Resets the process's peak RSS (Linux `clear_refs`), so the next model's
/// peak is its own.
pub(super) fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}
