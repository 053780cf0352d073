//! Command handlers: each turns parsed arguments into calls of the library's
//! stages and the store, and prints the result. [`dispatch`] is the only
//! place that maps commands to handlers.

mod bench;
mod import;
mod index;
mod search;
mod show;
mod stats;

use crate::cli::{Cli, Command};
use crate::error::Result;
use crate::output::{Outcome, Output};
use crate::workspace::Workspace;

/// Runs the parsed command line.
pub fn dispatch(cli: Cli) -> Result<Outcome> {
    let workspace = Workspace::new(&cli.global.data);
    let output = Output {
        json: cli.global.json,
        quiet: cli.global.quiet,
    };
    match cli.command {
        Command::Import(args) => import::run(&workspace, &args, output),
        Command::Show(args) => show::run(&workspace, &args, output),
        Command::Stats => stats::run(&workspace, output),
        Command::Bench(args) => bench::run(&args, output),
        Command::Search(args) => search::run(&workspace, &args, output),
        Command::Index(args) => index::run(&workspace, &args, output),
    }
}
