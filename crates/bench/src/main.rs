//! `callscope-bench`: runs one benchmark and prints its table.

use callscope::output::Output;
use callscope_bench::args::{BenchCli, BenchCommand};
use callscope_core::error::Result;
use clap::Parser;

fn main() {
    let cli = BenchCli::parse();
    let output = Output {
        json: cli.json,
        quiet: cli.quiet,
    };
    if let Err(error) = run(&cli.which, output) {
        eprintln!("error: {error}");
        std::process::exit(2);
    }
}

fn run(which: &BenchCommand, output: Output) -> Result<()> {
    use callscope_bench as bench;
    let (title, rows) = match which {
        BenchCommand::Import { calls, seed, store } => (
            "import",
            bench::import::run(*calls as u64, *seed, store.as_deref())?,
        ),
        BenchCommand::Redact { calls, seed } => {
            ("redact", bench::redact::run(*calls as u64, *seed)?)
        }
        BenchCommand::Qa {
            calls,
            seed,
            texts,
            store,
        } => (
            "qa",
            bench::qa::run(*calls as u64, *seed, texts, store.as_deref(), output)?,
        ),
        BenchCommand::Asr(asr) => ("asr", bench::asr::run(asr, output)?),
        BenchCommand::Digest { calls, seed } => ("digest", bench::digest::run(*calls, *seed)?),
        BenchCommand::Serve {
            calls,
            seed,
            clients,
            seconds,
            keep,
        } => (
            "serve",
            bench::serve::run(&bench::serve::ServeBenchOptions {
                calls: *calls,
                seed: *seed,
                clients: *clients,
                seconds: *seconds,
                keep: keep.clone(),
                output,
            })?,
        ),
        BenchCommand::Audio {
            shared,
            calls,
            long_hours,
            seed,
            vad_model,
            no_silero,
        } => (
            "audio",
            bench::audio::run(&bench::audio::AudioBenchOptions {
                shared: shared.clone(),
                calls: *calls,
                long_hours: *long_hours,
                seed: *seed,
                vad_model: bench::audio::silero_model(vad_model.as_deref(), *no_silero),
            })?,
        ),
        BenchCommand::Search {
            calls,
            seed,
            runs,
            no_fts5,
            no_ripgrep,
            keep,
        } => (
            "search",
            bench::search::run(&bench::search::SearchBenchOptions {
                calls: *calls,
                seed: *seed,
                runs: *runs,
                fts5: !*no_fts5,
                ripgrep: !*no_ripgrep,
                keep: keep.clone(),
                output,
            })?,
        ),
        BenchCommand::Workers {
            jobs,
            nats,
            store,
            workers,
            sqlite_workers,
            model,
        } => (
            "workers",
            bench::workers::run(&bench::workers::WorkersBenchOptions {
                jobs: *jobs,
                nats: nats.clone(),
                store: store.clone(),
                workers: workers.clone(),
                sqlite_workers: sqlite_workers.clone(),
                model: model.clone(),
                output,
            })?,
        ),
    };
    if output.json {
        output.json_line(&serde_json::json!({ "bench": title, "rows": rows }));
    } else {
        bench::print_table(title, &rows);
    }
    Ok(())
}
