//! The `callscope` binary: parse, dispatch, set the exit code.

use clap::Parser;

fn main() {
    let cli = callscope::cli::Cli::parse();
    let code = match callscope::commands::dispatch(cli) {
        Ok(outcome) => outcome.exit_code(),
        Err(error) => {
            callscope::errln!("error: {error}");
            2
        }
    };
    std::process::exit(code);
}
