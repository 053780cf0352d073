//! `callscope bench`: runs a benchmark and prints its table.

use crate::bench;
use crate::cli::{BenchArgs, BenchCommand};
use crate::error::Result;
use crate::output::{Outcome, Output};

pub(super) fn run(args: &BenchArgs, output: Output) -> Result<Outcome> {
    let (title, rows) = match &args.which {
        BenchCommand::Import { calls, seed } => {
            ("import", bench::import::run(*calls as u64, *seed)?)
        }
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
    };
    if output.json {
        output.json_line(&serde_json::json!({ "bench": title, "rows": rows }));
    } else {
        bench::print_table(title, &rows);
    }
    Ok(Outcome::ok())
}
