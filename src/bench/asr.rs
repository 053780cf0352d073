//! `callscope bench asr` (temporary).
use super::Row;
use crate::cli::BenchAsrArgs;
use crate::error::{Error, Result};
use crate::output::Output;
/// Runs the ASR benchmark.
pub fn run(_args: &BenchAsrArgs, _output: Output) -> Result<Vec<Row>> {
    Err(Error::Usage("wip".into()))
}
