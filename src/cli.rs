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
    /// Personal data: audit the workspace (--check), mask it in place
    /// (--apply), or make a seal key (keygen).
    ///
    /// `callscope import` masks phone, landline, ID and bank card numbers and
    /// emails as the `[redaction]` policy says; with a seal key
    /// (CALLSCOPE_SEAL_KEY_FILE) the originals are kept encrypted for QA,
    /// without one they are not kept at all.
    Redact(RedactArgs),
    /// Export a call's recording as WAV, optionally with personal data
    /// silenced (--silence-pii).
    ExportAudio(ExportAudioArgs),
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

/// `callscope redact`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct RedactArgs {
    /// What to do besides --check and --apply.
    #[command(subcommand)]
    pub action: Option<RedactCommand>,
    /// Report unmasked personal data anywhere in the workspace (store, QA
    /// results, report and log files, database free pages); exit 1 when
    /// some is found.
    #[arg(long, conflicts_with = "apply")]
    pub check: bool,
    /// Mask calls and QA results already in the store (stored before the
    /// policy, or by a stage that wrote clear text), then vacuum the store.
    #[arg(long)]
    pub apply: bool,
}

/// `callscope redact` subcommands.
#[derive(Debug, Subcommand)]
pub enum RedactCommand {
    /// Write a new random seal key (keep it outside the workspace).
    Keygen {
        /// The key file to create (refused inside the workspace, never overwritten).
        #[arg(long)]
        out: PathBuf,
    },
}

/// `callscope export-audio`.
#[derive(Debug, Args)]
pub struct ExportAudioArgs {
    /// The call's id.
    pub call_id: String,
    /// The WAV file to write.
    #[arg(long)]
    pub out: PathBuf,
    /// Zero the audio where personal data was said (estimated from the
    /// masked characters' position in their segment, plus --margin).
    #[arg(long)]
    pub silence_pii: bool,
    /// The recording (default: the call's audio_path).
    #[arg(long)]
    pub audio: Option<PathBuf>,
    /// Seconds of extra silence on each side of a span.
    #[arg(long, default_value_t = 0.25)]
    pub margin: f64,
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
    /// Redaction throughput: detect, mask and seal synthetic calls with
    /// planted personal data.
    Redact {
        /// How many calls.
        #[arg(long, default_value_t = 20_000)]
        calls: usize,
        /// Random seed for the generator.
        #[arg(long, default_value_t = 7)]
        seed: u64,
    },
}
