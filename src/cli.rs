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
    /// Search transcripts: words, "phrases", "proximity"~N, OR, -NOT, fields.
    ///
    /// All words are required. Chinese is matched exactly (a word is found
    /// inside any sentence, traditional or simplified); a quoted phrase may
    /// have particles (的 了 ...) between its words. Fields: agent:, customer:,
    /// agent_id:, team:, queue:, violated:, meta:key=value, date:FROM..TO.
    /// Example: callscope search 'customer:"投诉 退款"~10 -到账' --team T2 --from 2026-09-01
    Search(SearchArgs),
    /// Bring the search index up to date with the workspace (`--rebuild`: from scratch).
    Index(IndexArgs),
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
    /// Search: index build time and size, query latency (p50/p99), side by
    /// side with SQLite FTS5 (trigram) and ripgrep over the JSONL.
    Search {
        /// How many synthetic calls.
        #[arg(long, default_value_t = 1_000_000)]
        calls: u64,
        /// Random seed for the generator.
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// Timed runs of each query kind per engine (slow engines stop
        /// early after 20 s per kind).
        #[arg(long, default_value_t = 200)]
        runs: usize,
        /// Skip the SQLite FTS5 comparison.
        #[arg(long)]
        no_fts5: bool,
        /// Skip the ripgrep comparison.
        #[arg(long)]
        no_ripgrep: bool,
        /// Keep the generated workspace in this folder (default: a temp dir).
        #[arg(long)]
        keep: Option<PathBuf>,
    },
    /// Import throughput: synthetic calls of ~30 segments into a fresh store.
    Import {
        /// How many calls.
        #[arg(long, default_value_t = 100_000)]
        calls: usize,
        /// Random seed for the generator.
        #[arg(long, default_value_t = 7)]
        seed: u64,
    },
}

/// Whose words `--role` searches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RoleArg {
    /// The agent's segments.
    Agent,
    /// The customer's segments.
    Customer,
}

/// The order of search results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SortArg {
    /// Best match first.
    Relevance,
    /// Newest call first.
    Time,
    /// Lowest QA score first (unscored calls last).
    Score,
}

/// `callscope search`.
#[derive(Debug, Args)]
pub struct SearchArgs {
    /// The query, e.g. '退款 -到账', '"按钮位置"', '"投诉 退款"~5', 'customer:投诉 OR 差评'.
    #[arg(allow_hyphen_values = true)]
    pub query: String,
    /// Only words said by the agent or by the customer.
    #[arg(long, value_enum)]
    pub role: Option<RoleArg>,
    /// Only calls of this agent id.
    #[arg(long)]
    pub agent: Option<String>,
    /// Only calls of this team.
    #[arg(long)]
    pub team: Option<String>,
    /// Only calls of this queue.
    #[arg(long)]
    pub queue: Option<String>,
    /// First day, YYYY-MM-DD, inclusive, in each call's own time zone.
    #[arg(long, value_parser = parse_search_date)]
    pub from: Option<chrono::NaiveDate>,
    /// Last day, YYYY-MM-DD, inclusive, in each call's own time zone.
    #[arg(long, value_parser = parse_search_date)]
    pub to: Option<chrono::NaiveDate>,
    /// Only calls whose QA score (the lowest over their scorecards) is at least this.
    #[arg(long)]
    pub min_score: Option<f64>,
    /// Only calls whose QA score is at most this.
    #[arg(long)]
    pub max_score: Option<f64>,
    /// Only calls that violated this rule id.
    #[arg(long)]
    pub violated: Option<String>,
    /// Only calls that passed every scorecard.
    #[arg(long, conflicts_with = "failed")]
    pub passed: bool,
    /// Only calls that failed a scorecard.
    #[arg(long)]
    pub failed: bool,
    /// Show at most this many calls.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    /// Order of the results.
    #[arg(long, value_enum, default_value = "relevance")]
    pub sort: SortArg,
    /// Also count matching calls per agent, team, queue and violated rule
    /// (`--json`: a last line `{"facets": {...}, "total": N}`).
    #[arg(long)]
    pub facets: bool,
}

/// `callscope index`.
#[derive(Debug, Args)]
pub struct IndexArgs {
    /// Rebuild the whole index from the store (after changing the user
    /// dictionary, or if the index was damaged).
    #[arg(long)]
    pub rebuild: bool,
}

/// Parses a `--from`/`--to` date of `callscope search`.
pub fn parse_search_date(text: &str) -> Result<chrono::NaiveDate, String> {
    chrono::NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map_err(|_| "not a date; write YYYY-MM-DD, e.g. 2026-09-01".to_string())
}
