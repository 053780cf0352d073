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
    /// Voice of the customer: what customers talk about, what is rising or
    /// falling, topic trends, before/after comparisons and QA alerts.
    ///
    /// Compares a window (default: the last 7 days with calls) with a
    /// baseline (default: the 4 weeks before it). Prints a summary; --json
    /// prints the digest object (formats.md §5); --markdown and --html write
    /// reports. Each call's customer-side terms are computed once and cached
    /// in the workspace, so later digests only segment new or changed calls.
    Digest(Box<DigestArgs>),
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
    /// VOC digest over a synthetic corpus with planted bursts: term-cache
    /// precompute (cold and incremental) and digest time, separately.
    Digest {
        /// How many calls.
        #[arg(long, default_value_t = 1_000_000)]
        calls: u64,
        /// Random seed for the generator.
        #[arg(long, default_value_t = 11)]
        seed: u64,
    },
}

/// `callscope digest`.
#[derive(Debug, Args)]
pub struct DigestArgs {
    /// First day of the window, YYYY-MM-DD (inclusive, the calls' own time
    /// zone; default: 6 days before --to).
    #[arg(long)]
    pub from: Option<String>,
    /// Last day of the window (default: the last day with calls).
    #[arg(long)]
    pub to: Option<String>,
    /// First day of the baseline (default: 27 days before --baseline-to).
    #[arg(long)]
    pub baseline_from: Option<String>,
    /// Last day of the baseline (default: the day before --from).
    #[arg(long)]
    pub baseline_to: Option<String>,
    /// Only calls of this queue.
    #[arg(long)]
    pub queue: Option<String>,
    /// Topics to count (TOML, see corpora/topics/example.toml); default:
    /// `topics` in the [digest] section of DATA/callscope.toml.
    #[arg(long, value_name = "FILE")]
    pub topics: Option<PathBuf>,
    /// Compare --term's share of calls in two periods, each FROM..TO, e.g.
    /// `--compare 2026-09-01..2026-09-14 2026-09-15..2026-09-28`.
    #[arg(long, num_args = 2, value_names = ["BEFORE", "AFTER"], requires = "term")]
    pub compare: Option<Vec<String>>,
    /// The term (按钮位置) or topic name that --compare compares.
    #[arg(long, requires = "compare")]
    pub term: Option<String>,
    /// List the terms customers say in the same sentence as this one (PMI).
    #[arg(long, value_name = "TERM")]
    pub focus: Option<String>,
    /// Top terms listed.
    #[arg(long, default_value_t = 30)]
    pub top: usize,
    /// Fewest calls a rising or falling term needs.
    #[arg(long, default_value_t = 10)]
    pub min_calls: u64,
    /// Smallest change of a term's share, as a ratio, that counts.
    #[arg(long, default_value_t = 1.5)]
    pub min_lift: f64,
    /// Fewest scored calls an agent or team needs in each period for alerts.
    #[arg(long, default_value_t = 30)]
    pub alert_min_calls: u64,
    /// Also write the digest as Markdown to FILE.
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
    /// Also write the digest as one self-contained HTML page to FILE.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Recompute every call's terms (after editing the stop words or the
    /// dictionary outside callscope).
    #[arg(long)]
    pub rebuild_cache: bool,
}
