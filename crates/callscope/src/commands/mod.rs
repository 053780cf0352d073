//! Command handlers: each turns parsed arguments into calls of the library's
//! stages and the store, and prints the result. [`dispatch`] is the only
//! place that maps commands to handlers.

mod audit;
mod digest;
mod forget;
mod import;
mod index;
mod model;
mod qa;
mod redact;
mod review;
mod scale;
mod scorecard;
mod search;
mod serve;
mod show;
mod stats;
mod transcribe;
mod user;

use crate::cli::{Cli, Command};
use crate::output::{Outcome, Output};
use callscope_core::error::Result;
use callscope_store::workspace::Workspace;

/// Runs the parsed command line.
pub fn dispatch(cli: Cli) -> Result<Outcome> {
    let workspace = Workspace::new(&cli.global.data).with_store(cli.global.store.clone());
    let output = Output {
        json: cli.global.json,
        quiet: cli.global.quiet,
    };
    match cli.command {
        Command::Import(args) => import::run(&workspace, &args, output),
        Command::Show(args) => show::run(&workspace, &args, output),
        Command::Stats => stats::run(&workspace, output),
        Command::Transcribe(args) => {
            transcribe::run(&workspace, &args, output, transcribe::Steps::Transcribe)
        }
        Command::Run(args) => transcribe::run(&workspace, &args, output, transcribe::Steps::Run),
        Command::Redact(args) => redact::run(&workspace, &args, output),
        Command::ExportAudio(args) => redact::export_audio(&workspace, &args, output),
        Command::Forget(args) => forget::forget(&workspace, &args, output),
        Command::Purge(args) => forget::purge(&workspace, &args, output),
        Command::Qa(args) => qa::run(&workspace, &args, output),
        Command::Model(args) => model::run(&workspace, &args, output),
        Command::Digest(args) => digest::run(&workspace, &args, output),
        Command::Search(args) => search::run(&workspace, &args, output),
        Command::Index(args) => index::run(&workspace, &args, output),
        Command::Serve(args) => serve::run(&workspace, &args, output),
        Command::Submit(args) => scale::submit(&workspace, &args, output),
        Command::Worker(args) => scale::worker(&workspace, &args, output),
        Command::Jobs(args) => scale::jobs(&args, output),
        Command::User(args) => user::run(&workspace, &args, output),
        Command::Review(args) => review::run(&workspace, &args, output),
        Command::Audit(args) => audit::run(&workspace, &args, output),
        Command::Scorecard(args) => scorecard::run(&workspace, &args, output),
    }
}

/// Brings the search index up to date after a command wrote calls or QA
/// results; returns how many calls were (re)indexed.
fn index_after_write(
    workspace: &Workspace,
    store: &mut callscope_store::Store,
    output: Output,
) -> Result<Option<u64>> {
    Ok(index::follow_store(workspace, store, output).map(|report| report.indexed))
}

/// Writes `DATA/failures.jsonl`, one JSON object per failed input (removes
/// the file when nothing failed, so it always describes the last batch).
fn write_failures<T: serde::Serialize>(workspace: &Workspace, failures: &[T]) -> Result<()> {
    use std::io::Write;
    let path = workspace.failures_path();
    if failures.is_empty() {
        if path.exists() {
            std::fs::remove_file(&path)
                .map_err(|error| callscope_core::error::Error::io(&path, error))?;
        }
        return Ok(());
    }
    let io_error = |error| callscope_core::error::Error::io(&path, error);
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).map_err(io_error)?);
    for failure in failures {
        serde_json::to_writer(&mut file, failure).map_err(|error| io_error(error.into()))?;
        file.write_all(b"\n").map_err(io_error)?;
    }
    file.flush().map_err(io_error)
}
