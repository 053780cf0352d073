//! `callscope index`: brings the search index up to date with the store
//! (or rebuilds it), and the helpers other commands use to open the index
//! and let it follow the store.

use crate::cli::IndexArgs;
use crate::output::{Outcome, Output};
use callscope_core::error::{Error, Result};
use callscope_index::{SearchIndex, SyncReport};
use callscope_pipeline::indexing;
use callscope_store::workspace::Workspace;
use callscope_store::Store;

/// Opens the workspace's search index.
pub(super) fn open_index(workspace: &Workspace) -> Result<SearchIndex> {
    indexing::open_index(workspace)
}

/// Syncs the index with a progress bar.
pub(super) fn sync(
    index: &mut SearchIndex,
    store: &mut Store,
    output: Output,
) -> Result<SyncReport> {
    let bar = output.progress(0, "calls indexed");
    let report = indexing::sync(index, store, &bar);
    bar.finish_and_clear();
    report
}

/// Brings the index up to date after a command changed the store. The
/// command's own work is done and kept whatever happens here: a failure is
/// a warning, and the next `callscope index` or search catches up.
pub(super) fn follow_store(
    workspace: &Workspace,
    store: &mut Store,
    output: Output,
) -> Option<SyncReport> {
    let result = open_index(workspace).and_then(|mut index| sync(&mut index, store, output));
    match result {
        Ok(report) => Some(report),
        Err(error) => {
            crate::errln!(
                "warning: the search index is not up to date ({error}); \
                 `callscope index` brings it up to date"
            );
            None
        }
    }
}

/// Rebuilds the index from the store after the store was masked in place:
/// the old index still holds the clear text, so a failure here fails the
/// command, saying how to finish (the store's masking is kept; running
/// `redact --apply` again rebuilds the index again).
pub(super) fn rebuild_after_masking(
    workspace: &Workspace,
    store: &mut Store,
    output: Output,
) -> Result<()> {
    let rebuilt = open_index(workspace).and_then(|mut index| {
        let bar = output.progress(0, "calls indexed");
        let report = indexing::rebuild(&mut index, store, &bar);
        bar.finish_and_clear();
        report
    });
    rebuilt.map(|_| ()).map_err(|error| {
        Error::Index(format!(
            "the store is masked, but the search index could not be rebuilt ({error}) and \
             still holds the text it had: close what holds it and run `callscope redact \
             --apply` again (or `callscope index --rebuild`)"
        ))
    })
}

pub(super) fn run(workspace: &Workspace, args: &IndexArgs, output: Output) -> Result<Outcome> {
    let mut store = workspace.open_existing_store()?;
    let mut index = open_index(workspace)?;
    let report = if args.rebuild {
        let bar = output.progress(0, "calls indexed");
        let report = indexing::rebuild(&mut index, &mut store, &bar);
        bar.finish_and_clear();
        report?
    } else {
        sync(&mut index, &mut store, output)?
    };
    if output.json {
        output.json_line(&report);
        return Ok(Outcome::ok());
    }
    let verb = if report.rebuilt {
        "rebuilt the index: "
    } else {
        ""
    };
    crate::outln!(
        "{verb}{} calls indexed in {:.1} s; the index holds {} calls",
        report.indexed,
        report.seconds,
        report.documents
    );
    Ok(Outcome::ok())
}
