//! Recognition of one channel's speech with whisper.cpp.
//!
//! The model is loaded once ([`AsrEngine::load`]) and shared; each worker
//! owns a whisper state ([`AsrEngine::worker`]). A worker recognizes only
//! the speech regions a VAD found: regions are packed, with short gaps of
//! silence between them, into windows of up to 30 s, and each window is
//! encoded once with an encoder context cut to the window's length (a 4 s
//! answer costs a 4 s encode, not a padded 30 s one). Every segment's times
//! are mapped back to the channel's own timeline. The prompt (initial
//! prompt, hotwords, and the end of what was recognized so far in this
//! channel) is rebuilt for every window, so later windows stay in
//! simplified Mandarin and in context.

use std::path::Path;
use std::sync::Arc;

use whisper_rs::{
    DtwMode, DtwModelPreset, DtwParameters, FullParams, SamplingStrategy, WhisperContext,
    WhisperContextParameters, WhisperState, WhisperTokenId,
};

use crate::ggml::Hparams;
use crate::{AsrConfig, ThreadPlan};
use callscope_core::error::{Error, Result};
use callscope_core::model::{AsrSegment, SpeechRegion};
use callscope_core::text::Normalizer;

/// Whisper's input rate.
pub const SAMPLE_RATE: usize = 16_000;
/// Samples per encoder position (whisper: 1500 positions per 30 s).
const SAMPLES_PER_AUDIO_CTX: usize = 320;
/// Seconds per timestamp token.
const TIMESTAMP_SECONDS: f64 = 0.02;
/// Seconds per unit of whisper.cpp's aligned token times.
const DTW_SECONDS: f64 = 0.01;
/// An aligned token's time lags the start of its sound by about this on
/// packed windows: tokens are placed, and sentences start, this much
/// before their times.
const ALIGNMENT_LAG_SECONDS: f64 = 0.2;
/// Characters a sentence needs to become a segment of its own.
const MIN_SENTENCE_CHARS: usize = 2;
/// Shortest stretch worth decoding.
const MIN_REGION_SAMPLES: usize = SAMPLE_RATE / 10;
/// Windows shorter than this are padded with silence (whisper is unsure
/// of very short inputs).
const MIN_WINDOW_SAMPLES: usize = SAMPLE_RATE;
/// Silence after the last region of a window, so the final timestamp fits.
const TAIL_SAMPLES: usize = SAMPLE_RATE / 5;
/// Encoder positions (20 ms each) added after the window's own length: a
/// second of silence lets the decoder see the speech end and close it with
/// a timestamp instead of repeating itself.
const AUDIO_CTX_MARGIN: usize = 50;
/// The encoder context is rounded up to a multiple of this: ggml's tinyBLAS
/// f16 kernels (the attention products) need the inner dimension to be a
/// multiple of 16 (AVX-512; 8 with AVX2), else attention-times-values
/// falls back to slower dot products.
const AUDIO_CTX_ALIGN: usize = 32;
/// Prompt budget in tokens: whisper keeps at most n_text_ctx / 2 - 1 (223).
const MAX_PROMPT_TOKENS: usize = 200;
/// Tokens of the channel's previous text carried into the next window.
const CONTEXT_TOKENS: usize = 64;
/// Decoded tokens allowed per second of speech (Mandarin runs at about 5
/// characters a second, rarely more than 2 tokens each), plus a margin: a
/// decoder caught in a repetition loop stops there instead of at 220.
const TOKENS_PER_SECOND: f64 = 12.0;
const TOKENS_MARGIN: usize = 16;

/// A loaded Whisper model, shared by all workers.
pub struct AsrEngine {
    context: Arc<WhisperContext>,
    settings: Arc<Settings>,
}

impl std::fmt::Debug for AsrEngine {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("AsrEngine")
            .field("model", &self.settings.model_name)
            .field("threads_per_worker", &self.settings.threads)
            .finish()
    }
}

/// What every worker needs from the configuration, resolved once.
#[derive(Debug)]
struct Settings {
    config: AsrConfig,
    model_name: String,
    threads: usize,
    /// Initial prompt and hotwords, tokenized.
    prompt_tokens: Vec<WhisperTokenId>,
    /// The prompt's text in matching form (to drop prompt echoes).
    prompt_normalized: String,
    n_audio_ctx: usize,
    /// The smallest encoder context a window gets.
    min_audio_ctx: usize,
    token_eot: WhisperTokenId,
    token_beg: WhisperTokenId,
    /// Tokens carry times from dynamic time warping.
    aligned: bool,
}

impl AsrEngine {
    /// Loads the model in `config.model` (a whisper.cpp ggml file).
    pub fn load(config: &AsrConfig) -> Result<AsrEngine> {
        config.validate()?;
        let path = &config.model;
        let hparams = check_model_file(path)?;
        whisper_rs::install_logging_hooks();
        let mut parameters = WhisperContextParameters::default();
        parameters.use_gpu(cfg!(feature = "cuda"));
        // Flash attention measured worse here (q8_0, 1 thread, asr-dev
        // channels: CER 29.1% vs 23.8%, and slower): keep it off (it would
        // also turn token alignment off).
        parameters.flash_attn(false);
        let alignment = config
            .align_tokens
            .then(|| alignment_heads(&hparams))
            .flatten();
        let aligned = alignment.is_some();
        if let Some((preset, heads)) = alignment {
            parameters.dtw_parameters(DtwParameters {
                mode: DtwMode::ModelPreset {
                    model_preset: preset,
                },
                dtw_mem_size: alignment_memory(&hparams, heads),
            });
        }
        let chinese_only = config.vocabulary.is_chinese_only(&config.language);
        let allowed = if chinese_only {
            crate::vocabulary::chinese_text_tokens(&crate::ggml::read_vocabulary(path)?)
        } else {
            Vec::new()
        };
        let context = {
            let _allowed = LogitTokens::set(&allowed);
            WhisperContext::new_with_params(path, parameters)
        }
        .map_err(|error| {
            Error::Model(format!(
                "{}: whisper.cpp could not load it ({error}); the file is damaged or not a \
                 whisper.cpp model: run `callscope model fetch --force` or pick another with \
                 --model",
                path.display()
            ))
        })?;
        let plan: ThreadPlan = config.thread_plan();
        let (prompt_tokens, prompt_text) = build_prompt(&context, config)?;
        let settings = Settings {
            model_name: model_name(path),
            threads: plan.threads_per_worker,
            prompt_normalized: Normalizer::shared().normalize_str(&prompt_text),
            prompt_tokens,
            n_audio_ctx: context.n_audio_ctx().max(1) as usize,
            min_audio_ctx: min_audio_ctx(config),
            token_eot: context.token_eot(),
            token_beg: context.token_beg(),
            aligned,
            config: config.clone(),
        };
        Ok(AsrEngine {
            context: Arc::new(context),
            settings: Arc::new(settings),
        })
    }

    /// The model's name for the transcript's `asr_model` field (the model
    /// file's name without `.bin`, e.g. `ggml-base-q8_0`).
    pub fn model_name(&self) -> &str {
        &self.settings.model_name
    }

    /// whisper threads each worker uses.
    pub fn threads_per_worker(&self) -> usize {
        self.settings.threads
    }

    /// The configuration the engine was loaded with.
    pub fn config(&self) -> &AsrConfig {
        &self.settings.config
    }

    /// A worker with its own whisper state (one per rayon worker).
    pub fn worker(&self) -> Result<AsrWorker> {
        let state = self.context.create_state().map_err(|error| {
            Error::Model(format!(
                "could not create a whisper state ({error}): memory may be short; use fewer workers"
            ))
        })?;
        Ok(AsrWorker {
            state,
            context: Arc::clone(&self.context),
            settings: Arc::clone(&self.settings),
        })
    }
}

/// whisper.cpp's alignment heads for the model's size (the cross-attention
/// heads that follow the audio, as OpenAI published them per model) and
/// how many there are, or none for a shape no preset fits. A large model on
/// 80 mel bands is taken as large-v2 (v1 has the same shape).
fn alignment_heads(hparams: &Hparams) -> Option<(DtwModelPreset, usize)> {
    let english = hparams.n_vocab < 51865;
    Some(match (hparams.size_name(), english) {
        ("tiny", true) => (DtwModelPreset::TinyEn, 8),
        ("tiny", false) => (DtwModelPreset::Tiny, 6),
        ("base", true) => (DtwModelPreset::BaseEn, 5),
        ("base", false) => (DtwModelPreset::Base, 8),
        ("small", true) => (DtwModelPreset::SmallEn, 19),
        ("small", false) => (DtwModelPreset::Small, 10),
        ("medium", true) => (DtwModelPreset::MediumEn, 18),
        ("medium", false) => (DtwModelPreset::Medium, 6),
        ("large", _) => (DtwModelPreset::LargeV2, 23),
        ("large-v3", _) => (DtwModelPreset::LargeV3, 10),
        ("large-v3-turbo", _) => (DtwModelPreset::LargeV3Turbo, 6),
        _ => return None,
    })
}

/// Working memory of whisper.cpp's alignment (it aborts when short): the
/// cross-attention weights of the alignment heads for a full decoder
/// context against a full encoder context, four times over for the
/// normalized, filtered and averaged copies, plus room for the warping
/// matrices. Reserved, not touched: a window uses what its tokens and
/// length need.
fn alignment_memory(hparams: &Hparams, heads: usize) -> usize {
    let weights = hparams.n_text_ctx.max(1) as usize
        * hparams.n_audio_ctx.max(1) as usize
        * heads
        * std::mem::size_of::<f32>();
    4 * weights + (16 << 20)
}

/// The model file's hyper-parameters, or why it cannot be used.
fn check_model_file(path: &Path) -> Result<Hparams> {
    match std::fs::metadata(path) {
        Ok(metadata) if metadata.is_file() => Hparams::read_file(path),
        Ok(_) => Err(Error::Model(format!(
            "{} is not a file: give a whisper.cpp ggml model with --model",
            path.display()
        ))),
        Err(_) => Err(Error::Model(format!(
            "{} not found: run `callscope model fetch` (Whisper base into models/), or give a \
             whisper.cpp ggml model with --model or `[asr] model` in the workspace config",
            path.display()
        ))),
    }
}

/// The text tokens the models loaded on this thread may write while it
/// lives (whisper.cpp patch 12); none named: every token. Dropping it
/// names none again, so a later load is not limited by accident.
struct LogitTokens;

impl LogitTokens {
    fn set(tokens: &[WhisperTokenId]) -> LogitTokens {
        set_logit_tokens(tokens);
        LogitTokens
    }
}

impl Drop for LogitTokens {
    fn drop(&mut self) {
        set_logit_tokens(&[]);
    }
}

#[allow(unsafe_code)]
fn set_logit_tokens(tokens: &[WhisperTokenId]) {
    let count = i32::try_from(tokens.len()).unwrap_or(i32::MAX);
    // SAFETY: whisper.cpp copies `count` ids from the pointer, which points
    // at that many (or at none, for 0) for the duration of the call, into
    // a thread-local list read by the loads that follow on this thread.
    unsafe {
        whisper_rs::whisper_rs_sys::whisper_callscope_set_logit_tokens(tokens.as_ptr(), count);
    }
}

/// The model file's name without `.bin`.
pub fn model_name(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    name.strip_suffix(".bin").unwrap_or(&name).to_string()
}

fn tokenize(context: &WhisperContext, text: &str) -> Result<Vec<WhisperTokenId>> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    // whisper-rs needs room for every token: allow one per byte.
    context
        .tokenize(text, text.len() + 8)
        .map_err(|error| Error::Model(format!("could not tokenize the prompt: {error}")))
}

/// The initial prompt with the hotwords appended, within the prompt budget
/// (hotwords that do not fit are left out, the first ones kept).
fn build_prompt(
    context: &WhisperContext,
    config: &AsrConfig,
) -> Result<(Vec<WhisperTokenId>, String)> {
    let mut text = config.initial_prompt.clone();
    let budget = MAX_PROMPT_TOKENS - CONTEXT_TOKENS;
    let dictionary = if config.dictionary_hotwords {
        crate::dictionary_hotwords()
    } else {
        Vec::new()
    };
    let mut hotwords: Vec<&str> = Vec::new();
    for word in config.hotwords.iter().chain(&dictionary) {
        let word = word.trim();
        if !word.is_empty() && !hotwords.contains(&word) {
            hotwords.push(word);
        }
    }
    let mut tokens = tokenize(context, &text)?;
    if tokens.len() > budget {
        return Err(Error::Config {
            file: "[asr]".to_string(),
            reason: format!(
                "initial_prompt is {} tokens long; keep it under {budget}",
                tokens.len()
            ),
        });
    }
    for count in (1..=hotwords.len()).rev() {
        let candidate = format!(
            "{}{}。",
            config.initial_prompt,
            hotwords[..count].join("、")
        );
        let candidate_tokens = tokenize(context, &candidate)?;
        if candidate_tokens.len() <= budget {
            text = candidate;
            tokens = candidate_tokens;
            break;
        }
    }
    Ok((tokens, text))
}

/// One worker's whisper state. Not shared: give each thread its own.
pub struct AsrWorker {
    state: WhisperState,
    context: Arc<WhisperContext>,
    settings: Arc<Settings>,
}

impl std::fmt::Debug for AsrWorker {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("AsrWorker")
            .field("model", &self.settings.model_name)
            .finish()
    }
}

/// A stretch of the channel copied into a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Piece {
    /// First sample in the channel.
    pub source_start: usize,
    /// One past the last sample in the channel.
    pub source_end: usize,
    /// Where the piece starts in the window.
    pub window_start: usize,
}

impl Piece {
    fn len(&self) -> usize {
        self.source_end - self.source_start
    }

    fn window_end(&self) -> usize {
        self.window_start + self.len()
    }
}

/// Pieces decoded together, separated by silence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Window {
    pub pieces: Vec<Piece>,
    /// Samples in the window, silence included.
    pub length: usize,
}

impl Window {
    /// Maps a time in the window (samples) to the channel, inside `piece`.
    fn to_source(&self, piece: usize, window_sample: f64) -> f64 {
        let piece = &self.pieces[piece];
        let offset = (window_sample - piece.window_start as f64).clamp(0.0, piece.len() as f64);
        piece.source_start as f64 + offset
    }

    /// The piece that holds (or is nearest to) a window time in samples.
    fn piece_at(&self, window_sample: f64) -> usize {
        let mut best = 0;
        let mut best_distance = f64::MAX;
        for (index, piece) in self.pieces.iter().enumerate() {
            let distance = if window_sample < piece.window_start as f64 {
                piece.window_start as f64 - window_sample
            } else if window_sample > piece.window_end() as f64 {
                window_sample - piece.window_end() as f64
            } else {
                0.0
            };
            if distance < best_distance {
                best = index;
                best_distance = distance;
            }
        }
        best
    }

    /// Copies the pieces out of the channel, with silence between them.
    fn audio(&self, samples: &[f32]) -> Vec<f32> {
        let mut audio = vec![0.0f32; self.length.max(MIN_WINDOW_SAMPLES)];
        for piece in &self.pieces {
            audio[piece.window_start..piece.window_end()]
                .copy_from_slice(&samples[piece.source_start..piece.source_end]);
        }
        audio
    }
}

/// [`AsrConfig::min_context_seconds`] in encoder positions.
fn min_audio_ctx(config: &AsrConfig) -> usize {
    (config.min_context_seconds * SAMPLE_RATE as f64 / SAMPLES_PER_AUDIO_CTX as f64).round()
        as usize
}

/// Plans the windows for `regions` of a channel of `total` samples: regions
/// are clamped, sorted and merged (those closer than `gap` become one
/// piece, the audio between them kept; those that merely touch stay two),
/// regions longer than a window are split at their quietest point, and
/// pieces are packed in order, `gap` samples of silence apart, into as few
/// windows of at most `max_window` samples as greedy packing allows, as
/// even in length as it allows.
pub(crate) fn plan_windows(
    samples: &[f32],
    regions: &[SpeechRegion],
    max_window: usize,
    gap: usize,
) -> Vec<Window> {
    let total = samples.len();
    let mut ranges: Vec<(usize, usize)> = regions
        .iter()
        .filter(|region| region.end.is_finite() && region.start.is_finite())
        .map(|region| {
            let start = (region.start.max(0.0) * SAMPLE_RATE as f64).floor() as usize;
            let end = (region.end.max(0.0) * SAMPLE_RATE as f64).ceil() as usize;
            (start.min(total), end.min(total))
        })
        .filter(|(start, end)| end > start)
        .collect();
    ranges.sort_unstable();
    let mut merged: Vec<(usize, usize)> = Vec::with_capacity(ranges.len());
    for (start, end) in ranges {
        match merged.last_mut() {
            // Regions that merely touch (to the sample) were cut there on
            // purpose, at a speaker change: they stay apart, so the decoder
            // gets a gap there and no segment runs across the cut.
            Some(last) if start <= last.1 && last.1 - start <= 1 && end > last.1 => {
                let from = last.1;
                merged.push((from, end));
            }
            Some(last) if start <= last.1 + gap => last.1 = last.1.max(end),
            _ => merged.push((start, end)),
        }
    }
    let longest = max_window - TAIL_SAMPLES;
    let mut pieces = Vec::new();
    for (start, end) in merged {
        split_long(samples, start, end, longest, &mut pieces);
    }
    pieces.retain(|(start, end)| end - start >= MIN_REGION_SAMPLES);
    // As few windows as the limit allows, and among the ways to fill that
    // many, the one with the shortest longest window: 24 s of speech
    // becomes two windows of ~12 s, not 20 s and a 4 s remainder that
    // the encoder pays for as a padded 10 s. The limit for which the
    // greedy packing still needs that many windows is found by bisection
    // (the count only falls as the limit grows).
    let count = pack(&pieces, max_window, gap).len();
    let mut low = pieces
        .iter()
        .map(|(start, end)| end - start + TAIL_SAMPLES)
        .max()
        .unwrap_or(0)
        .min(max_window);
    let mut high = max_window;
    while low < high {
        let middle = low + (high - low) / 2;
        if pack(&pieces, middle, gap).len() <= count {
            high = middle;
        } else {
            low = middle + 1;
        }
    }
    pack(&pieces, high, gap)
}

/// Packs `pieces` greedily in order, `gap` samples of silence apart, into
/// windows of at most `limit` samples (tail included); a piece longer
/// than the limit gets a window of its own.
fn pack(pieces: &[(usize, usize)], limit: usize, gap: usize) -> Vec<Window> {
    let mut windows: Vec<Window> = Vec::new();
    for &(start, end) in pieces {
        let length = end - start;
        let fits = windows
            .last()
            .is_some_and(|window| window.length + gap + length + TAIL_SAMPLES <= limit);
        if fits {
            let window = windows.last_mut().expect("checked above");
            let window_start = window.length + gap;
            window.pieces.push(Piece {
                source_start: start,
                source_end: end,
                window_start,
            });
            window.length = window_start + length;
        } else {
            windows.push(Window {
                pieces: vec![Piece {
                    source_start: start,
                    source_end: end,
                    window_start: 0,
                }],
                length,
            });
        }
    }
    for window in &mut windows {
        window.length += TAIL_SAMPLES;
    }
    windows
}

/// Splits `start..end` into pieces of at most `longest` samples, each cut
/// at the quietest 20 ms in the last third of the allowed length.
fn split_long(
    samples: &[f32],
    start: usize,
    end: usize,
    longest: usize,
    out: &mut Vec<(usize, usize)>,
) {
    let frame = SAMPLE_RATE / 50;
    let mut cursor = start;
    while end - cursor > longest {
        let search_from = cursor + longest * 2 / 3;
        let search_to = cursor + longest - frame;
        let mut best = search_to;
        let mut best_energy = f32::MAX;
        let mut position = search_from;
        while position + frame <= search_to {
            let energy: f32 = samples[position..position + frame]
                .iter()
                .map(|sample| sample * sample)
                .sum();
            if energy < best_energy {
                best_energy = energy;
                best = position + frame / 2;
            }
            position += frame / 2;
        }
        out.push((cursor, best));
        cursor = best;
    }
    if end > cursor {
        out.push((cursor, end));
    }
}

/// Text between two timestamp tokens of a decoded window.
#[derive(Debug, Clone)]
struct Span {
    /// Seconds in the window.
    start: f64,
    /// Seconds in the window.
    end: f64,
    tokens: Vec<DecodedToken>,
}

/// Whether a token's bytes start something said: a character or the
/// first bytes of one; not punctuation, a space, or the rest of a
/// character split over tokens.
fn starts_word(bytes: &[u8]) -> bool {
    match bytes.first() {
        None => false,
        Some(first) if (0x80..0xC0).contains(first) => false,
        Some(_) => {
            let text = String::from_utf8_lossy(bytes);
            text.contains('\u{FFFD}') || text.chars().any(char::is_alphanumeric)
        }
    }
}

/// The piece of `window` each token was heard in, from its aligned time
/// (seconds in the window) and whether it starts a word ([`starts_word`]):
/// the piece holding (or nearest to) the time less the alignment's lag;
/// punctuation, spaces and the rest of a character stay with the token
/// before.
fn pieces_by_time(window: &Window, tokens: &[(f64, bool)]) -> Vec<usize> {
    let rate = SAMPLE_RATE as f64;
    let mut pieces: Vec<usize> = Vec::with_capacity(tokens.len());
    for &(time, starts) in tokens {
        let piece = match pieces.last() {
            Some(&previous) if !starts => previous,
            _ => window.piece_at((time - ALIGNMENT_LAG_SECONDS) * rate),
        };
        pieces.push(piece);
    }
    pieces
}

/// Where aligned tokens (their bytes) are cut into sentences: the index of
/// the first token of every sentence after the first. A sentence ends at
/// 。？！?! and needs [`MIN_SENTENCE_CHARS`] characters, as does what
/// follows it.
fn sentence_starts(tokens: &[&[u8]]) -> Vec<usize> {
    let mut text = Vec::new();
    let mut chars_before = Vec::with_capacity(tokens.len() + 1);
    let count = |bytes: &[u8]| {
        String::from_utf8_lossy(bytes)
            .chars()
            .filter(|character| character.is_alphanumeric())
            .count()
    };
    chars_before.push(0);
    for bytes in tokens {
        text.extend_from_slice(bytes);
        chars_before.push(count(&text));
    }
    let total = *chars_before.last().unwrap_or(&0);
    let mut starts = Vec::new();
    let mut sentence_from = 0;
    for (index, bytes) in tokens.iter().enumerate() {
        let ends = String::from_utf8_lossy(bytes)
            .trim_end()
            .ends_with(['。', '？', '！', '?', '!']);
        let said = chars_before[index + 1] - chars_before[sentence_from];
        let rest = total - chars_before[index + 1];
        if ends && said >= MIN_SENTENCE_CHARS && rest >= MIN_SENTENCE_CHARS {
            starts.push(index + 1);
            sentence_from = index + 1;
        }
    }
    starts
}

/// What [`skipped_pieces`] needs of a span: where it lies in the window
/// (seconds) and how much text it holds (characters, punctuation left
/// out).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct SpanSummary {
    pub start: f64,
    pub end: f64,
    pub chars: usize,
}

/// Pieces of a packed window the decoder passed over.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Skipped {
    /// Pieces to decode again on their own, in window order.
    pub pieces: Vec<usize>,
    /// Spans whose text is replaced by those decodes.
    pub sparse_spans: Vec<usize>,
}

/// Pieces shorter than this are not worth a decode of their own.
const MIN_REDECODE_SAMPLES: usize = SAMPLE_RATE * 4 / 5;
/// A piece is passed over when spans cover less than this share of it.
const MIN_COVERED_SHARE: f64 = 0.3;
/// A piece a sparse span touches is left to the other spans when they
/// cover at least this share of it.
const MOSTLY_COVERED_SHARE: f64 = 0.5;
/// A span over two or more pieces holding fewer characters than this per
/// second of their speech lost a sentence (Mandarin runs at 3-6 a second;
/// a span that swallowed one of two sentences holds about half).
const MIN_CHARS_PER_SECOND: f64 = 2.2;

/// Finds the pieces of a packed window whose speech the decoder skipped:
/// whisper sometimes jumps its timestamps over a short sentence between
/// others, or stretches one sentence's span over the next one's audio.
/// A piece that no span covers enough of is decoded again alone; so are
/// all pieces of a span over several pieces whose text is too short for
/// their speech (that span's text is then replaced).
pub(crate) fn skipped_pieces(window: &Window, spans: &[SpanSummary]) -> Skipped {
    let rate = SAMPLE_RATE as f64;
    let bounds: Vec<(f64, f64)> = window
        .pieces
        .iter()
        .map(|piece| {
            (
                piece.window_start as f64 / rate,
                piece.window_end() as f64 / rate,
            )
        })
        .collect();
    let overlap = |(from, to): (f64, f64), span: &SpanSummary| {
        (to.min(span.end) - from.max(span.start)).max(0.0)
    };
    let mut skipped = Skipped::default();
    let mut wanted = vec![false; bounds.len()];
    for (index, span) in spans.iter().enumerate() {
        let touched: Vec<usize> = (0..bounds.len())
            .filter(|&piece| overlap(bounds[piece], span) > 0.1)
            .collect();
        if touched.len() < 2 {
            continue;
        }
        let speech: f64 = touched
            .iter()
            .map(|&piece| overlap(bounds[piece], span))
            .sum();
        if (span.chars as f64) < MIN_CHARS_PER_SECOND * speech {
            skipped.sparse_spans.push(index);
            for piece in touched {
                wanted[piece] = true;
            }
        }
    }
    for (piece, &(from, to)) in bounds.iter().enumerate() {
        let covered: f64 = spans
            .iter()
            .enumerate()
            .filter(|(index, _)| !skipped.sparse_spans.contains(index))
            .map(|(_, span)| overlap((from, to), span))
            .sum();
        let length = to - from;
        wanted[piece] = if wanted[piece] {
            // A piece of a sparse span (whose text is dropped) is decoded
            // again unless kept spans already hold most of it: decoding it
            // again would write their text twice.
            covered < MOSTLY_COVERED_SHARE * length
        } else {
            // An uncovered piece, when it is long enough.
            covered < MIN_COVERED_SHARE * length
                && window.pieces[piece].len() >= MIN_REDECODE_SAMPLES
        };
    }
    skipped.pieces = (0..bounds.len()).filter(|&piece| wanted[piece]).collect();
    skipped
}

/// A token of the decoded window.
#[derive(Debug, Clone, Copy)]
struct DecodedToken {
    id: WhisperTokenId,
    probability: f32,
    /// Where the token was heard (seconds in the window), when aligned.
    time: Option<f64>,
}

impl AsrWorker {
    /// Recognizes the speech `regions` (seconds in this signal) of one
    /// channel sampled at 16 kHz; segments come back sorted, with times in
    /// the signal's own timeline, in simplified characters.
    pub fn transcribe(
        &mut self,
        samples_16k: &[f32],
        regions: &[SpeechRegion],
    ) -> Result<Vec<AsrSegment>> {
        let config = &self.settings.config;
        let max_window = (config.max_window_seconds * SAMPLE_RATE as f64) as usize;
        let gap = (config.gap_seconds * SAMPLE_RATE as f64) as usize;
        let windows = plan_windows(samples_16k, regions, max_window, gap);
        let mut segments = Vec::new();
        let mut history = String::new();
        for window in &windows {
            let context = self.context_tokens(&history)?;
            let mut found = self.recognize_window(samples_16k, window, &context)?;
            found.sort_by(|left, right| left.start.total_cmp(&right.start));
            for segment in &found {
                history.push_str(&segment.text);
            }
            segments.extend(found);
        }
        segments.sort_by(|left, right| left.start.total_cmp(&right.start));
        Ok(segments)
    }

    /// Decodes one window; pieces the decoder passed over are decoded
    /// again on their own.
    fn recognize_window(
        &mut self,
        samples: &[f32],
        window: &Window,
        context: &[WhisperTokenId],
    ) -> Result<Vec<AsrSegment>> {
        let audio = window.audio(samples);
        let tokens = self.decode(&audio, window, context)?;
        let spans = self.spans(window, &tokens);
        if !self.settings.config.redecode_skipped || window.pieces.len() < 2 {
            return Ok(self.segments(window, spans));
        }
        let summary: Vec<SpanSummary> = spans
            .iter()
            .map(|span| SpanSummary {
                start: span.start,
                end: span.end,
                chars: self.span_chars(span),
            })
            .collect();
        let skipped = skipped_pieces(window, &summary);
        if skipped.pieces.is_empty() {
            return Ok(self.segments(window, spans));
        }
        let kept: Vec<Span> = spans
            .into_iter()
            .enumerate()
            .filter(|(index, _)| !skipped.sparse_spans.contains(index))
            .map(|(_, span)| span)
            .collect();
        let mut found = self.segments(window, kept);
        for &index in &skipped.pieces {
            let piece = window.pieces[index];
            let alone = Window {
                pieces: vec![Piece {
                    window_start: 0,
                    ..piece
                }],
                length: piece.len() + TAIL_SAMPLES,
            };
            let audio = alone.audio(samples);
            let tokens = self.decode(&audio, &alone, context)?;
            let spans = self.spans(&alone, &tokens);
            found.extend(self.segments(&alone, spans));
        }
        Ok(found)
    }

    /// The prompt: initial prompt and hotwords, then the end of this
    /// channel's text so far.
    fn context_tokens(&self, history: &str) -> Result<Vec<WhisperTokenId>> {
        let mut tokens = self.settings.prompt_tokens.clone();
        if !history.is_empty() {
            let tail: String = {
                let chars: Vec<char> = history.chars().collect();
                chars[chars.len().saturating_sub(CONTEXT_TOKENS)..]
                    .iter()
                    .collect()
            };
            let history_tokens = tokenize(&self.context, &tail)?;
            let keep = history_tokens.len().min(CONTEXT_TOKENS);
            tokens.extend_from_slice(&history_tokens[history_tokens.len() - keep..]);
        }
        Ok(tokens)
    }

    /// Runs whisper on one window; returns its tokens (special ones kept).
    fn decode(
        &mut self,
        audio: &[f32],
        window: &Window,
        prompt: &[WhisperTokenId],
    ) -> Result<Vec<DecodedToken>> {
        let settings = &*self.settings;
        let length = window.length;
        let speech_seconds =
            window.pieces.iter().map(Piece::len).sum::<usize>() as f64 / SAMPLE_RATE as f64;
        let config = &settings.config;
        let strategy = if config.beam_size > 1 {
            SamplingStrategy::BeamSearch {
                beam_size: config.beam_size as i32,
                patience: -1.0,
            }
        } else {
            SamplingStrategy::Greedy { best_of: 1 }
        };
        let mut params = FullParams::new(strategy);
        params.set_n_threads(settings.threads as i32);
        params.set_language(Some(&config.language));
        params.set_translate(false);
        params.set_no_context(true);
        params.set_single_segment(true);
        params.set_token_timestamps(false);
        params.set_suppress_blank(true);
        params.set_suppress_nst(true);
        params.set_print_special(false);
        params.set_print_progress(false);
        params.set_print_realtime(false);
        params.set_print_timestamps(false);
        params.set_temperature(0.0);
        params.set_temperature_inc(if config.temperature_fallback {
            0.2
        } else {
            0.0
        });
        params.set_tokens(prompt);
        let max_tokens = (speech_seconds * TOKENS_PER_SECOND) as usize + TOKENS_MARGIN;
        params.set_max_tokens(max_tokens as i32);
        if config.reduce_audio_ctx {
            let needed = (length.div_ceil(SAMPLES_PER_AUDIO_CTX) + AUDIO_CTX_MARGIN)
                .max(settings.min_audio_ctx);
            let audio_ctx = needed
                .next_multiple_of(AUDIO_CTX_ALIGN)
                .min(settings.n_audio_ctx);
            params.set_audio_ctx(audio_ctx as i32);
        }
        self.state.full(params, audio).map_err(|error| {
            Error::Model(format!(
                "whisper failed on a window of {:.1} s: {error}",
                length as f64 / SAMPLE_RATE as f64
            ))
        })?;
        let mut tokens = Vec::new();
        for segment in self.state.as_iter() {
            for index in 0..segment.n_tokens() {
                let Some(token) = segment.get_token(index) else {
                    continue;
                };
                let data = token.token_data();
                tokens.push(DecodedToken {
                    id: data.id,
                    probability: data.p,
                    time: (settings.aligned && data.t_dtw >= 0)
                        .then_some(data.t_dtw as f64 * DTW_SECONDS),
                });
            }
        }
        if tokens.len() + 1 >= max_tokens {
            // The decoder ran to the cap: cut a repetition loop at its
            // first full turn.
            let text_positions: Vec<usize> = (0..tokens.len())
                .filter(|&index| tokens[index].id < settings.token_eot)
                .collect();
            let ids: Vec<WhisperTokenId> = text_positions
                .iter()
                .map(|&index| tokens[index].id)
                .collect();
            if let Some(cut) = loop_cut(&ids) {
                tokens.truncate(text_positions[cut]);
            }
        }
        Ok(tokens)
    }

    /// Splits the window's tokens at timestamp tokens into spans (seconds
    /// in the window); text "heard" after the last sample is dropped as a
    /// hallucination.
    fn spans(&self, window: &Window, tokens: &[DecodedToken]) -> Vec<Span> {
        let settings = &*self.settings;
        let mut spans: Vec<Span> = Vec::new();
        let mut start = 0.0;
        let mut current: Vec<DecodedToken> = Vec::new();
        for token in tokens {
            if token.id >= settings.token_beg {
                let time = (token.id - settings.token_beg) as f64 * TIMESTAMP_SECONDS;
                if !current.is_empty() {
                    spans.push(Span {
                        start,
                        end: time,
                        tokens: std::mem::take(&mut current),
                    });
                }
                start = time;
            } else if token.id < settings.token_eot {
                current.push(*token);
            }
        }
        let audio_end =
            window.pieces.last().map_or(0, Piece::window_end) as f64 / SAMPLE_RATE as f64;
        if !current.is_empty() {
            // No closing timestamp: the text runs to the end of the speech.
            spans.push(Span {
                start,
                end: audio_end.max(start + 0.1),
                tokens: current,
            });
        }
        spans.retain(|span| span.start < audio_end);
        spans
    }

    /// Characters of a span's text, punctuation and spaces left out.
    fn span_chars(&self, span: &Span) -> usize {
        self.token_text(&span.tokens)
            .chars()
            .filter(|character| character.is_alphanumeric())
            .count()
    }

    /// The tokens' text as whisper wrote it: their bytes joined before
    /// decoding (a character can be split across tokens).
    fn token_text(&self, tokens: &[DecodedToken]) -> String {
        let mut bytes = Vec::new();
        for token in tokens {
            if let Ok(token_bytes) = self.context.token_to_bytes(token.id) {
                bytes.extend_from_slice(token_bytes);
            }
        }
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// Splits spans into segments at piece boundaries and maps them to the
    /// channel's timeline.
    fn segments(&self, window: &Window, spans: Vec<Span>) -> Vec<AsrSegment> {
        let rate = SAMPLE_RATE as f64;
        let mut segments = Vec::new();
        for Span {
            start: span_start,
            end: span_end,
            tokens: span_tokens,
        } in spans
        {
            let groups = self.split_at_pieces(window, span_start, span_end, span_tokens);
            let group_count = groups.len();
            for (index, (piece, group)) in groups.into_iter().enumerate() {
                let piece_bounds = &window.pieces[piece];
                let piece_start = piece_bounds.window_start as f64 / rate;
                let piece_end = piece_bounds.window_end() as f64 / rate;
                // The span's own ends where they fall in the piece, else
                // the piece's (aligned tokens may put a span's words in a
                // piece its timestamps do not reach).
                let group_start = if index == 0 && span_start < piece_end {
                    span_start.max(piece_start)
                } else {
                    piece_start
                };
                let group_end = if index + 1 == group_count && span_end > group_start {
                    span_end.min(piece_end)
                } else {
                    piece_end
                };
                let parts = self.sentences(&group);
                let mut part_start = group_start;
                for (number, part) in parts.iter().enumerate() {
                    let part_end = parts
                        .get(number + 1)
                        .and_then(|next| next.iter().find_map(|token| token.time))
                        .map_or(group_end, |time| {
                            (time - ALIGNMENT_LAG_SECONDS).clamp(part_start, group_end)
                        });
                    let start = window.to_source(piece, part_start * rate) / rate;
                    let end = window.to_source(piece, part_end * rate) / rate;
                    if let Some(segment) = self.finish_segment(start, end, part) {
                        segments.push(segment);
                    }
                    part_start = part_end;
                }
            }
        }
        segments
    }

    /// Cuts aligned tokens into sentences ([`sentence_starts`]); tokens
    /// without times stay whole.
    fn sentences(&self, tokens: &[DecodedToken]) -> Vec<Vec<DecodedToken>> {
        if tokens.iter().any(|token| token.time.is_none()) {
            return vec![tokens.to_vec()];
        }
        let bytes: Vec<&[u8]> = tokens
            .iter()
            .map(|token| self.context.token_to_bytes(token.id).unwrap_or(b""))
            .collect();
        let mut parts = Vec::new();
        let mut from = 0;
        for start in sentence_starts(&bytes).into_iter().chain([tokens.len()]) {
            parts.push(tokens[from..start].to_vec());
            from = start;
        }
        parts
    }

    /// Shares a span's tokens out to the pieces they were heard in
    /// ([`pieces_by_time`]). None when a token has no time.
    fn split_by_times(
        &self,
        window: &Window,
        tokens: &[DecodedToken],
    ) -> Option<Vec<(usize, Vec<DecodedToken>)>> {
        let heard: Vec<(f64, bool)> = tokens
            .iter()
            .map(|token| {
                let bytes = self.context.token_to_bytes(token.id).unwrap_or(b"");
                token.time.map(|time| (time, starts_word(bytes)))
            })
            .collect::<Option<_>>()?;
        let mut groups: Vec<(usize, Vec<DecodedToken>)> = Vec::new();
        for (token, piece) in tokens.iter().zip(pieces_by_time(window, &heard)) {
            match groups.last_mut() {
                Some((current, group)) if *current == piece => group.push(*token),
                _ => groups.push((piece, vec![*token])),
            }
        }
        Some(groups)
    }

    /// Splits a span's tokens where it crosses from one piece to the next:
    /// by the tokens' aligned times when they have them
    /// ([`Self::split_by_times`]); else (whisper.cpp's own token times are
    /// unreliable) in proportion to each piece's share of the span's audio,
    /// each cut moved to the nearest sentence punctuation close by.
    fn split_at_pieces(
        &self,
        window: &Window,
        span_start: f64,
        span_end: f64,
        tokens: Vec<DecodedToken>,
    ) -> Vec<(usize, Vec<DecodedToken>)> {
        if let Some(groups) = self.split_by_times(window, &tokens) {
            return groups;
        }
        let rate = SAMPLE_RATE as f64;
        let first = window.piece_at(span_start * rate);
        let last = window.piece_at(span_end * rate).max(first);
        if first == last || tokens.len() < 2 {
            return vec![(first, tokens)];
        }
        let ends_sentence: Vec<bool> = tokens
            .iter()
            .map(|token| {
                let bytes = self.context.token_to_bytes(token.id).unwrap_or(b"");
                String::from_utf8_lossy(bytes)
                    .trim_end()
                    .ends_with(['。', '？', '！', '，', '?', '!', ',', '.'])
            })
            .collect();
        // Seconds of each piece inside the span.
        let seconds: Vec<f64> = (first..=last)
            .map(|index| {
                let piece = &window.pieces[index];
                let from = (piece.window_start as f64 / rate).max(span_start);
                let to = (piece.window_end() as f64 / rate).min(span_end);
                (to - from).max(0.0)
            })
            .collect();
        let total: f64 = seconds.iter().sum::<f64>().max(1e-9);
        let count = tokens.len();
        let reach = (count * 3 / 10).max(3);
        let mut cuts = Vec::new();
        let mut covered = 0.0;
        for share in &seconds[..seconds.len() - 1] {
            covered += share;
            let from = cuts.last().copied().unwrap_or(0);
            let expected = ((covered / total) * count as f64).round() as usize;
            let by_punctuation = (from..count)
                .filter(|&index| ends_sentence[index])
                .map(|index| index + 1)
                .filter(|&cut| cut.abs_diff(expected) <= reach)
                .min_by_key(|&cut| cut.abs_diff(expected));
            cuts.push(by_punctuation.unwrap_or(expected).clamp(from, count));
        }
        let mut groups = Vec::new();
        let mut from = 0;
        for (offset, &cut) in cuts.iter().chain(std::iter::once(&count)).enumerate() {
            if cut > from {
                groups.push((first + offset, tokens[from..cut].to_vec()));
            }
            from = cut.max(from);
        }
        groups
    }

    /// Joins the tokens' bytes, decodes, simplifies; drops empty text and
    /// echoes of the prompt.
    fn finish_segment(&self, start: f64, end: f64, tokens: &[DecodedToken]) -> Option<AsrSegment> {
        let raw = self.token_text(tokens);
        let normalizer = Normalizer::shared();
        let text = collapse_repeats(&normalizer.to_simplified(raw.trim()).replace('\u{FFFD}', ""));
        let normalized = normalizer.normalize_str(&text);
        if normalized.is_empty() {
            return None;
        }
        let prompt = &self.settings.prompt_normalized;
        if normalized.chars().count() >= 4 && prompt.contains(&normalized) {
            return None;
        }
        let confidence = tokens
            .iter()
            .map(|token| token.probability as f64)
            .sum::<f64>()
            / tokens.len() as f64;
        Some(AsrSegment {
            start,
            end: end.max(start),
            text: text.trim().to_string(),
            confidence: confidence.clamp(0.0, 1.0),
        })
    }
}

/// Where a sequence that ends in a loop should be cut: the earliest `p`
/// from which the rest (6 items or more) repeats with some period `L` ≥ 2
/// (the last turn may be partial) for at least one and a half turns; the
/// cut keeps one turn.
pub(crate) fn loop_cut<T: PartialEq>(items: &[T]) -> Option<usize> {
    let length = items.len();
    for start in 0..length {
        let rest = length - start;
        if rest < 6 {
            break;
        }
        for period in 2..=rest * 2 / 3 {
            if (start + period..length).all(|index| items[index] == items[index - period]) {
                return Some(start + period);
            }
        }
    }
    None
}

/// Collapses a phrase the decoder repeated in a loop to one occurrence:
/// 3 or more repeats of 3+ characters, 4+ of 2, 6+ of 1.
pub(crate) fn collapse_repeats(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let threshold = |unit: usize| match unit {
        1 => 6,
        2 => 4,
        _ => 3,
    };
    let mut out = String::with_capacity(text.len());
    let mut index = 0;
    'outer: while index < chars.len() {
        let longest = (chars.len() - index) / 3;
        for unit in 1..=longest.min(60) {
            let pattern = &chars[index..index + unit];
            let mut repeats = 1;
            while index + (repeats + 1) * unit <= chars.len()
                && &chars[index + repeats * unit..index + (repeats + 1) * unit] == pattern
            {
                repeats += 1;
            }
            if repeats >= threshold(unit) {
                out.extend(pattern);
                index += repeats * unit;
                continue 'outer;
            }
        }
        out.push(chars[index]);
        index += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn repetition_loops_collapse() {
        let looped = "推动该公司利润增长。".repeat(12);
        assert_eq!(collapse_repeats(&looped), "推动该公司利润增长。");
        assert_eq!(
            collapse_repeats(&format!("好的，{}谢谢", "我知道了".repeat(3))),
            "好的，我知道了谢谢"
        );
        // Ordinary speech repeats a little: kept.
        for kept in [
            "好的好的",
            "喂喂喂",
            "谢谢谢谢",
            "对对对对",
            "一二三四五六",
            "",
        ] {
            assert_eq!(collapse_repeats(kept), kept);
        }
        assert_eq!(collapse_repeats("啊啊啊啊啊啊啊"), "啊");
    }

    #[test]
    fn loops_cut_at_the_first_turn() {
        let chars = |text: &str| text.chars().collect::<Vec<_>>();
        let looped = chars("推动该公司利润增长。推动该公司利");
        assert_eq!(loop_cut(&looped), Some(10));
        assert_eq!(loop_cut(&chars("我说的是这个这个这个这")), Some(6));
        assert_eq!(loop_cut(&chars("一二三四五六七八")), None);
        assert_eq!(loop_cut(&chars("你说是不是")), None);
        assert_eq!(loop_cut::<char>(&[]), None);
    }

    #[test]
    fn engine_and_worker_cross_threads() {
        fn shared<T: Send + Sync>() {}
        fn movable<T: Send>() {}
        shared::<AsrEngine>();
        movable::<AsrWorker>();
    }

    use super::*;

    fn region(start: f64, end: f64) -> SpeechRegion {
        SpeechRegion { start, end }
    }

    const S: usize = SAMPLE_RATE;

    /// `count` regions of `length` seconds, one every `every` seconds.
    fn spaced_regions(count: usize, every: f64, length: f64) -> Vec<SpeechRegion> {
        (0..count)
            .map(|index| region(index as f64 * every, index as f64 * every + length))
            .collect()
    }

    #[test]
    fn short_regions_pack_into_one_window_with_gaps() {
        let samples = vec![0.1f32; 60 * S];
        let windows = plan_windows(
            &samples,
            &[region(1.0, 4.0), region(10.0, 14.0), region(20.0, 22.0)],
            30 * S,
            S / 2,
        );
        assert_eq!(windows.len(), 1);
        let pieces = &windows[0].pieces;
        assert_eq!(pieces.len(), 3);
        assert_eq!(
            pieces[0],
            Piece {
                source_start: S,
                source_end: 4 * S,
                window_start: 0
            }
        );
        assert_eq!(pieces[1].window_start, 3 * S + S / 2);
        assert_eq!(pieces[2].window_start, 7 * S + S);
        assert_eq!(windows[0].length, 9 * S + S + TAIL_SAMPLES);
        // Times map back into each piece.
        let window = &windows[0];
        assert_eq!(
            window.to_source(1, (3 * S + S / 2) as f64 + 0.5 * S as f64),
            10.5 * S as f64
        );
        assert_eq!(window.piece_at((3 * S + S / 4) as f64 + 1.0), 1);
        assert_eq!(window.piece_at(0.0), 0);
    }

    #[test]
    fn min_context_converts_to_encoder_positions_and_is_checked() {
        assert_eq!(min_audio_ctx(&AsrConfig::default()), 500);
        let longer = AsrConfig {
            min_context_seconds: 15.0,
            ..AsrConfig::default()
        };
        assert_eq!(min_audio_ctx(&longer), 750);
        longer.validate().unwrap();
        let error = AsrConfig {
            min_context_seconds: 0.5,
            ..AsrConfig::default()
        }
        .validate()
        .unwrap_err()
        .to_string();
        assert!(error.contains("min_context_seconds = 0.5"), "{error}");
    }

    #[test]
    fn windows_are_balanced_not_a_full_one_and_a_remainder() {
        // Six 3.5 s regions (24 s of speech with the gaps): greedy filling
        // to 20 s would leave a 4 s remainder; two even windows instead.
        let samples = vec![0.1f32; 60 * S];
        let regions = spaced_regions(6, 8.0, 3.5);
        let windows = plan_windows(&samples, &regions, 20 * S, S / 2);
        assert_eq!(windows.len(), 2);
        assert_eq!(windows[0].pieces.len(), 3);
        assert_eq!(windows[1].pieces.len(), 3);
        assert_eq!(windows[0].length, windows[1].length);
        assert!(windows[0].length <= 12 * S, "{}", windows[0].length);
        // One region alone: one window, as before.
        let windows = plan_windows(&samples, &regions[..1], 20 * S, S / 2);
        assert_eq!(windows.len(), 1);
        assert_eq!(windows[0].length, 3 * S + S / 2 + TAIL_SAMPLES);
    }

    #[test]
    fn windows_never_exceed_the_limit_and_keep_every_sample() {
        let samples = vec![0.1f32; 200 * S];
        let regions = spaced_regions(40, 5.0, 3.7);
        let windows = plan_windows(&samples, &regions, 30 * S, S / 2);
        let covered: usize = windows
            .iter()
            .flat_map(|window| &window.pieces)
            .map(Piece::len)
            .sum();
        assert_eq!(covered, (40.0 * 3.7 * S as f64).round() as usize);
        assert!(windows.iter().all(|window| window.length <= 30 * S));
        assert!(
            windows.len() >= 6 && windows.len() <= 7,
            "{}",
            windows.len()
        );
    }

    #[test]
    fn close_regions_merge_and_long_ones_split_at_quiet_points() {
        let mut samples = vec![0.5f32; 100 * S];
        // A quiet moment at 25 s.
        for sample in &mut samples[25 * S..25 * S + S / 10] {
            *sample = 0.0;
        }
        let windows = plan_windows(
            &samples,
            &[region(0.0, 10.0), region(10.2, 70.0)],
            30 * S,
            S / 2,
        );
        let pieces: Vec<Piece> = windows
            .iter()
            .flat_map(|window| window.pieces.clone())
            .collect();
        assert_eq!(pieces[0].source_start, 0);
        let cut = pieces[0].source_end;
        assert!(
            (25 * S..25 * S + S / 10).contains(&cut),
            "cut at {}",
            cut as f64 / S as f64
        );
        assert_eq!(pieces.last().unwrap().source_end, 70 * S);
        for pair in pieces.windows(2) {
            assert_eq!(pair[0].source_end, pair[1].source_start);
        }
    }

    #[test]
    fn touching_regions_stay_apart_as_cut() {
        // Speech cut at 4.3 s (a speaker change) and a region 0.2 s after
        // the second one's end: the cut stays, the close region merges.
        let samples = vec![0.5f32; 20 * S];
        let windows = plan_windows(
            &samples,
            &[region(1.0, 4.3), region(4.3, 7.0), region(7.2, 9.0)],
            20 * S,
            S / 2,
        );
        assert_eq!(windows.len(), 1);
        let pieces = &windows[0].pieces;
        assert_eq!(pieces.len(), 2, "{pieces:?}");
        assert_eq!(pieces[0].source_end, (4.3 * S as f64).ceil() as usize);
        assert_eq!(pieces[1].source_start, pieces[0].source_end);
        assert_eq!(pieces[1].source_end, 9 * S);
        // The decoder hears a gap between the two sides of the cut.
        assert_eq!(pieces[1].window_start, pieces[0].window_end() + S / 2);
        // Overlapping regions are the same speech: one piece.
        let windows = plan_windows(
            &samples,
            &[region(1.0, 4.3), region(4.0, 7.0)],
            20 * S,
            S / 2,
        );
        assert_eq!(windows[0].pieces.len(), 1);
    }

    fn span(start: f64, end: f64, chars: usize) -> SpanSummary {
        SpanSummary { start, end, chars }
    }

    /// Three 3 s pieces packed with 0.5 s gaps: at 0-3, 3.5-6.5, 7-10 s.
    fn three_pieces() -> Window {
        let samples = vec![0.1f32; 60 * S];
        let mut windows = plan_windows(
            &samples,
            &[region(1.0, 4.0), region(10.0, 13.0), region(20.0, 23.0)],
            20 * S,
            S / 2,
        );
        assert_eq!(windows.len(), 1);
        windows.remove(0)
    }

    #[test]
    fn aligned_tokens_go_to_the_piece_they_were_heard_in() {
        // Pieces at 0-3, 3.5-6.5 and 7-10 s of the window; times lag the
        // sound by ~0.2 s.
        let window = three_pieces();
        let tokens = [
            (0.3, true),  // 我们
            (2.9, true),  // 吧: 2.7 s, the end of the first piece
            (3.2, false), // 。 stays with 吧, though after the piece
            (3.8, true),  // 您: 3.6 s, the second piece
            (4.0, true),  // first bytes of a character
            (4.0, false), // the rest of it
            (7.05, true), // 6.85 s in the gap, nearer the third piece
            (12.0, true), // after the last piece: the last piece
        ];
        assert_eq!(
            pieces_by_time(&window, &tokens),
            vec![0, 0, 0, 1, 1, 1, 2, 2]
        );
    }

    #[test]
    fn words_start_at_characters_not_at_punctuation_or_split_bytes() {
        assert!(starts_word("你好".as_bytes()));
        assert!(starts_word(" OK".as_bytes()));
        // The first two bytes of 您 (E6 82 A8) start it; the last does not.
        assert!(starts_word(&[0xE6, 0x82]));
        assert!(!starts_word(&[0xA8]));
        assert!(!starts_word("。".as_bytes()));
        assert!(!starts_word(",".as_bytes()));
        assert!(!starts_word(b""));
    }

    #[test]
    fn sentences_end_at_full_stops_with_enough_on_both_sides() {
        let tokens: Vec<&[u8]> = ["你好", "。", "我想", "退款", "？", "好", "。"]
            .iter()
            .map(|token| token.as_bytes())
            .collect();
        // "好。" alone is one character: it stays with the sentence before.
        assert_eq!(sentence_starts(&tokens), vec![2]);
        // Commas do not end a sentence; a character split over two tokens
        // counts once it is whole.
        let tokens: Vec<&[u8]> = vec![
            "好的".as_bytes(),
            "，".as_bytes(),
            &[0xE6, 0x82],
            &[0xA8],
            "好".as_bytes(),
            "！".as_bytes(),
            "再见".as_bytes(),
        ];
        assert_eq!(sentence_starts(&tokens), vec![6]);
        assert!(sentence_starts(&[]).is_empty());
    }

    #[test]
    fn alignment_heads_follow_the_models_shape() {
        let base = Hparams {
            n_vocab: 51865,
            n_audio_ctx: 1500,
            n_audio_state: 512,
            n_audio_head: 8,
            n_audio_layer: 6,
            n_text_ctx: 448,
            n_text_state: 512,
            n_text_head: 8,
            n_text_layer: 6,
            n_mels: 80,
            ftype: 7,
        };
        assert!(matches!(
            alignment_heads(&base),
            Some((DtwModelPreset::Base, 8))
        ));
        let english = Hparams {
            n_vocab: 51864,
            ..base
        };
        assert!(matches!(
            alignment_heads(&english),
            Some((DtwModelPreset::BaseEn, 5))
        ));
        let turbo = Hparams {
            n_vocab: 51866,
            n_audio_layer: 32,
            n_text_layer: 4,
            n_mels: 128,
            ..base
        };
        assert!(matches!(
            alignment_heads(&turbo),
            Some((DtwModelPreset::LargeV3Turbo, 6))
        ));
        let odd = Hparams {
            n_audio_layer: 5,
            ..base
        };
        assert!(alignment_heads(&odd).is_none());
        // Room for 448 tokens against 1500 positions in every head.
        assert!(alignment_memory(&base, 8) >= 448 * 1500 * 8 * 4 * 3);
    }

    #[test]
    fn pieces_the_decoder_covered_are_kept() {
        let window = three_pieces();
        let spans = [span(0.0, 3.1, 14), span(3.4, 6.6, 15), span(6.9, 10.0, 12)];
        assert_eq!(skipped_pieces(&window, &spans), Skipped::default());
        // One span over two pieces with text for both is fine too.
        let spans = [span(0.0, 6.6, 28), span(6.9, 10.0, 12)];
        assert_eq!(skipped_pieces(&window, &spans), Skipped::default());
    }

    #[test]
    fn a_piece_the_timestamps_jump_over_is_decoded_again() {
        let window = three_pieces();
        let spans = [span(0.0, 3.1, 14), span(6.9, 10.0, 12)];
        assert_eq!(
            skipped_pieces(&window, &spans),
            Skipped {
                pieces: vec![1],
                sparse_spans: Vec::new(),
            }
        );
        // Nothing decoded at all: every piece again.
        assert_eq!(skipped_pieces(&window, &[]).pieces, vec![0, 1, 2]);
    }

    #[test]
    fn a_span_stretched_over_a_lost_sentence_is_replaced() {
        let window = three_pieces();
        // 10 characters for 6 s of speech: one sentence of two.
        let spans = [span(0.0, 6.6, 10), span(6.9, 10.0, 12)];
        assert_eq!(
            skipped_pieces(&window, &spans),
            Skipped {
                pieces: vec![0, 1],
                sparse_spans: vec![0],
            }
        );
    }

    /// A lost sentence's span that reaches into a piece another span
    /// covers: only the lost sentence's piece is decoded again, so the
    /// covered piece's text is not written twice.
    #[test]
    fn a_sparse_span_leaves_a_covered_neighbour_alone() {
        let window = three_pieces();
        let spans = [span(0.0, 3.1, 14), span(2.8, 6.6, 5), span(6.9, 10.0, 12)];
        assert_eq!(
            skipped_pieces(&window, &spans),
            Skipped {
                pieces: vec![1],
                sparse_spans: vec![1],
            }
        );
    }

    #[test]
    fn short_uncovered_pieces_are_not_worth_a_decode() {
        let samples = vec![0.1f32; 60 * S];
        let windows = plan_windows(
            &samples,
            &[region(1.0, 4.0), region(10.0, 10.5)],
            20 * S,
            S / 2,
        );
        let spans = [span(0.0, 3.0, 14)];
        assert_eq!(skipped_pieces(&windows[0], &spans), Skipped::default());
    }

    #[test]
    fn bad_regions_are_ignored_or_clamped() {
        let samples = vec![0.1f32; 10 * S];
        let windows = plan_windows(
            &samples,
            &[
                region(f64::NAN, 2.0),
                region(5.0, 4.0),
                region(9.0, 50.0),
                region(3.0, 3.05),
            ],
            30 * S,
            S / 2,
        );
        assert_eq!(windows.len(), 1);
        assert_eq!(
            windows[0].pieces,
            vec![Piece {
                source_start: 9 * S,
                source_end: 10 * S,
                window_start: 0
            }]
        );
        assert!(plan_windows(&samples, &[], 30 * S, S / 2).is_empty());
    }
}
