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
    /// Audio stage: VAD accuracy, speaker separation, speed and memory on
    /// calls composed from the shared clips.
    Audio {
        /// The shared data folder (holds asr-dev and callcenter-tts).
        #[arg(long, default_value = "../shared")]
        shared: std::path::PathBuf,
        /// Composed calls per measurement.
        #[arg(long, default_value_t = 20)]
        calls: usize,
        /// Hours of the long recording for speed and memory (0 skips it).
        #[arg(long, default_value_t = 3.0)]
        long_hours: f64,
        /// Seed of the composed calls.
        #[arg(long, default_value_t = 7)]
        seed: u64,
    },
}
