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
    crate::outln!("workspace  {}", workspace.root().display());
    crate::outln!("calls      {}", stats.calls);
    crate::outln!("hours      {:.2}", stats.hours);
    crate::outln!("agents     {}", stats.agents);
    crate::outln!("teams      {}", stats.teams);
    crate::outln!("queues     {}", stats.queues);
    crate::outln!("segments   {}", stats.segments);
    crate::outln!("from       {}", stats.from.clone().unwrap_or_else(dash));
    crate::outln!("to         {}", stats.to.clone().unwrap_or_else(dash));
    crate::outln!("QA scored  {}", stats.scored_calls);
    crate::outln!("indexed    {}", stats.indexed_calls);
    Ok(Outcome::ok())
}
