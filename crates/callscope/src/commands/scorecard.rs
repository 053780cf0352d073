//! `callscope scorecard push|list|remove`: scorecards kept in the store, so
//! that every machine scoring calls uses the same versions.

use crate::cli::{ScorecardArgs, ScorecardCommand};
use crate::output::{Outcome, Output};
use callscope_core::error::{Error, Result};
use callscope_qa::Scorecard;
use callscope_store::workspace::Workspace;

pub(super) fn run(workspace: &Workspace, args: &ScorecardArgs, output: Output) -> Result<Outcome> {
    match &args.which {
        ScorecardCommand::Push { files } => {
            // Every file is checked before any is stored.
            let mut checked = Vec::with_capacity(files.len());
            for file in files {
                let source =
                    std::fs::read_to_string(file).map_err(|error| Error::io(file, error))?;
                let scorecard = Scorecard::parse(&source, &file.display().to_string())?;
                checked.push((scorecard.name, source));
            }
            let mut store = workspace.open_store()?;
            for (name, source) in &checked {
                let replaced = store.put_scorecard(name, source)?;
                if output.json {
                    output.json_line(&serde_json::json!({ "name": name, "replaced": replaced }));
                } else {
                    let verb = if replaced { "replaced" } else { "added" };
                    crate::outln!("{verb} scorecard '{name}' in {}", store.place());
                }
            }
        }
        ScorecardCommand::List => {
            let store = workspace.open_existing_store()?;
            let stored = store.scorecards()?;
            for scorecard in &stored {
                if output.json {
                    output.json_line(&serde_json::json!({
                        "name": scorecard.name,
                        "updated_at": scorecard.updated_at,
                        "bytes": scorecard.source.len(),
                    }));
                } else {
                    crate::outln!("{}", scorecard.name);
                }
            }
            if stored.is_empty() && !output.json {
                crate::outln!(
                    "no scorecards in the store: new calls are scored with [qa] scorecards of \
                     callscope.toml (`callscope scorecard push FILE` keeps one here)"
                );
            }
        }
        ScorecardCommand::Remove { name } => {
            let mut store = workspace.open_existing_store()?;
            if !store.remove_scorecard(name)? {
                return Err(Error::Usage(format!(
                    "no scorecard '{name}' in the store: `callscope scorecard list` shows them"
                )));
            }
            crate::outln!("removed scorecard '{name}'");
        }
    }
    Ok(Outcome::ok())
}
