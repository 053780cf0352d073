//! The benchmarks' command line: one subcommand per benchmark.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// callscope-bench: measure callscope's speed, memory and accuracy side by
/// side with the alternative a user would pick. Each benchmark prints a
/// Markdown table (`--json`: one JSON object); docs/benchmarks.md lists the
/// command behind every figure.
#[derive(Debug, Parser)]
#[command(
    name = "callscope-bench",
    version,
    about,
    long_about,
    max_term_width = 100
)]
pub struct BenchCli {
    /// Print the rows as JSON instead of a table.
    #[arg(long, global = true)]
    pub json: bool,
    /// No progress bars.
    #[arg(long, short, global = true)]
    pub quiet: bool,
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
        /// Import into a fresh schema of this PostgreSQL database
        /// (postgres://...) instead of an embedded store.
        #[arg(long, value_name = "URL")]
        store: Option<String>,
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
    /// QA scoring throughput: synthetic calls in a temporary store, scored
    /// against a 20-rule scorecard; plus the homophone false-positive rate.
    Qa {
        /// How many calls.
        #[arg(long, default_value_t = 100_000)]
        calls: usize,
        /// Random seed for the generator.
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// Clean reference texts (`id<TAB>text` lines, e.g. the callcenter-tts
        /// and asr-dev transcripts.tsv) to measure homophone false positives on.
        #[arg(long = "texts", value_name = "FILE.tsv")]
        texts: Vec<PathBuf>,
        /// Store the calls and results in a fresh schema of this PostgreSQL
        /// database (postgres://...) instead of an embedded store.
        #[arg(long, value_name = "URL")]
        store: Option<String>,
    },
    /// ASR: CER, real-time factor and memory per model on shared/asr-dev
    /// (16 kHz and 8 kHz mu-law), side by side with faster-whisper.
    Asr(BenchAsrArgs),
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
        /// Silero VAD's model: the VAD rows again with Silero inside the
        /// energy VAD's regions (default: models/ggml-silero-vad.bin when
        /// `callscope model fetch` built it).
        #[arg(long)]
        vad_model: Option<std::path::PathBuf>,
        /// Only the energy VAD.
        #[arg(long)]
        no_silero: bool,
    },
    /// The web workspace under load: N keep-alive clients on `GET
    /// /api/search` (a query mix) and then `GET /calls/{id}` for a fixed
    /// time each; requests/s and p50/p99 latency per endpoint.
    Serve {
        /// Calls in the workspace (stored and indexed once, then reused).
        #[arg(long, default_value_t = 100_000)]
        calls: u64,
        /// Random seed for the generator.
        #[arg(long, default_value_t = 11)]
        seed: u64,
        /// Concurrent clients.
        #[arg(long, default_value_t = 50)]
        clients: usize,
        /// Seconds of load per endpoint.
        #[arg(long, default_value_t = 20.0)]
        seconds: f64,
        /// Keep the workspace in this folder (default:
        /// $CALLSCOPE_CACHE/bench-serve-CALLS-SEED).
        #[arg(long)]
        keep: Option<PathBuf>,
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
    /// Scale-out on one machine: jobs/s and audio hours per hour of N
    /// recordings through `callscope worker`s on the NATS queue writing to
    /// a shared store, against the local batch (`callscope transcribe`) on
    /// the same recordings; the queue's and the shared store's overhead per
    /// call. Runs the built `callscope` binary (next to this one, or
    /// `CALLSCOPE_BIN`).
    Workers {
        /// Recordings, one job each: stereo 8 kHz mu-law calls composed as
        /// the ASR benchmark's stereo batch.
        #[arg(long, default_value_t = 50)]
        jobs: usize,
        /// The NATS server with JetStream (each run gets a queue of its
        /// own, deleted afterwards).
        #[arg(long, default_value = "nats://127.0.0.1:4222", value_name = "URL")]
        nats: String,
        /// The PostgreSQL database the workers share (each run gets a
        /// fresh schema, dropped afterwards).
        #[arg(
            long,
            default_value = "postgres://callscope:callscope@127.0.0.1:5432/callscope_test",
            value_name = "URL"
        )]
        store: String,
        /// Worker counts measured against PostgreSQL (each worker gets
        /// cores / count whisper threads; the local batch runs at the same
        /// plans).
        #[arg(
            long,
            value_delimiter = ',',
            default_value = "1,2",
            value_name = "N,.."
        )]
        workers: Vec<usize>,
        /// Worker counts measured against one SQLite file (0: none).
        #[arg(long, value_delimiter = ',', default_value = "1", value_name = "N,..")]
        sqlite_workers: Vec<usize>,
        /// The whisper.cpp model (default: models/ggml-base-q8_0.bin).
        #[arg(long, value_name = "FILE.bin")]
        model: Option<PathBuf>,
    },
}

/// `callscope-bench asr`.
#[derive(Debug, Args)]
pub struct BenchAsrArgs {
    /// ggml model files to measure (default: the fetched f16, q8_0 and iq4_nl;
    /// the stereo batch runs the quantized two).
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
    /// Which parts to run: clips, mulaw, channel, hotwords, batch, roles
    /// (default: all).
    #[arg(long = "only")]
    pub only: Vec<String>,
    /// Stereo calls in the batch part.
    #[arg(long, default_value_t = 12)]
    pub batch_calls: usize,
    /// The stereo batch's thread plans, WORKERSxTHREADS (default: one
    /// worker on every core, then one single-threaded worker per core).
    #[arg(long = "plan", value_name = "WxT", value_parser = parse_plan)]
    pub plans: Vec<(usize, usize)>,
    /// Runs of the stereo batch, each engine's runs alternating: the wall
    /// row is their median, its note lists them all (one run on a busy or
    /// shared machine can be 15% off).
    #[arg(long, default_value_t = 1)]
    pub repeat: usize,
    /// Mono calls in the roles part (who is the agent, end to end).
    #[arg(long, default_value_t = 12)]
    pub role_calls: usize,
    /// Encode every window as a padded 30 s (whisper's default) instead of
    /// cutting the encoder context to the window (for comparison).
    #[arg(long)]
    pub full_audio_ctx: bool,
    /// Do not decode again, alone, the pieces a packed window skipped
    /// (`[asr] redecode_skipped = false`, for comparison).
    #[arg(long)]
    pub no_redecode: bool,
    /// Longest packed window in seconds (`[asr] max_window_seconds`).
    #[arg(long, default_value_t = 20.0)]
    pub max_window: f64,
    /// Silence between packed regions in seconds (`[asr] gap_seconds`).
    #[arg(long, default_value_t = 0.5)]
    pub gap: f64,
    /// Shortest encoder input in seconds (`[asr] min_context_seconds`).
    #[arg(long, default_value_t = 10.0)]
    pub min_context: f64,
    /// Share a packed window's text out by piece length instead of aligning
    /// tokens to the audio (`[asr] align_tokens = false`, for comparison).
    #[arg(long)]
    pub no_align: bool,
    /// Print every clip's reference and transcript (stderr).
    #[arg(long)]
    pub show: bool,
    /// Also the 320 clips of asr-dev-more (FLAC): 400 clips in all, the set
    /// defaults are chosen on.
    #[arg(long)]
    pub more: bool,
    /// callscope's voice activity detector on the product path (`[asr] vad`;
    /// default: the product's default).
    #[arg(long, value_name = "auto|energy|silero")]
    pub vad: Option<callscope_asr::VadKind>,
    /// Silero's padding around speech in seconds (`[asr] vad_pad_seconds`).
    #[arg(long)]
    pub vad_pad: Option<f64>,
    /// Silero's shortest pause that ends speech in seconds (`[asr]
    /// vad_min_silence_seconds`).
    #[arg(long)]
    pub vad_min_silence: Option<f64>,
    /// Which tokens callscope's Whisper may write (`[asr] vocabulary`;
    /// default: the product's default).
    #[arg(long, value_name = "auto|full")]
    pub vocabulary: Option<callscope_asr::Vocabulary>,
    /// Skip the diagnostic rows (whole clips without VAD, the channels'
    /// true speech regions) and measure only the product path.
    #[arg(long)]
    pub no_diagnostics: bool,
    /// faster-whisper's compute types on the clips (default: int8 and
    /// float32).
    #[arg(long = "fw-compute-type", value_name = "TYPE")]
    pub fw_compute_types: Vec<String>,
}

/// A thread plan written WORKERSxTHREADS (`2x1`).
fn parse_plan(text: &str) -> Result<(usize, usize), String> {
    let problem = || format!("`{text}`: write a plan as WORKERSxTHREADS, e.g. 2x1");
    let (workers, threads) = text.split_once('x').ok_or_else(problem)?;
    let workers: usize = workers.trim().parse().map_err(|_| problem())?;
    let threads: usize = threads.trim().parse().map_err(|_| problem())?;
    if workers == 0 || threads == 0 {
        return Err(problem());
    }
    Ok((workers, threads))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_read_as_workers_by_threads() {
        assert_eq!(parse_plan("2x1"), Ok((2, 1)));
        assert_eq!(parse_plan("1x16"), Ok((1, 16)));
        for bad in ["2", "0x1", "2x", "axb", "2*1"] {
            assert!(
                parse_plan(bad).unwrap_err().contains("WORKERSxTHREADS"),
                "{bad}"
            );
        }
    }
}
