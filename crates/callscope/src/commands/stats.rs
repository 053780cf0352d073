//! `callscope stats`: workspace totals.

use crate::output::{Outcome, Output};
use callscope_core::error::Result;
use callscope_store::workspace::Workspace;

pub(super) fn run(workspace: &Workspace, output: Output) -> Result<Outcome> {
    let store = workspace.open_existing_store()?;
    let stats = store.stats()?;
    if output.json {
        output.json_line(&stats);
        return Ok(Outcome::ok());
    }
    let dash = || "-".to_string();
    println!("workspace  {}", workspace.root().display());
    println!("calls      {}", stats.calls);
    println!("hours      {:.2}", stats.hours);
    println!("agents     {}", stats.agents);
    println!("teams      {}", stats.teams);
    println!("queues     {}", stats.queues);
    println!("segments   {}", stats.segments);
    println!("from       {}", stats.from.clone().unwrap_or_else(dash));
    println!("to         {}", stats.to.clone().unwrap_or_else(dash));
    println!("QA scored  {}", stats.scored_calls);
    println!("indexed    {}", stats.indexed_calls);
    Ok(Outcome::ok())
}
