//! `callscope index`: brings the search index up to date with the store
//! (or rebuilds it), and the helpers other commands use to open the index
//! and let it follow the store.

use std::path::PathBuf;

use serde::Deserialize;

use crate::cli::IndexArgs;
use crate::output::{Outcome, Output};
use callscope_core::dictionary::Dictionary;
use callscope_core::error::Result;
use callscope_index::{SearchIndex, SyncReport};
use callscope_store::workspace::Workspace;
use callscope_store::Store;

/// The `[dictionary]` section of the workspace config.
#[derive(Debug, Default, Deserialize)]
struct DictionarySection {
    /// A user dictionary in jieba's format (`word [frequency] [tag]` per
    /// line), relative to the config file.
    user: Option<PathBuf>,
}

/// The workspace's segmenter: jieba, the call-center words and the user
/// dictionary named in `[dictionary] user = "..."`.
pub(super) fn dictionary(workspace: &Workspace) -> Result<Dictionary> {
    let config = workspace.config()?;
    let section: DictionarySection = config.section("dictionary")?;
    let user = section.user.map(|path| match config.base_dir() {
        Some(base) if path.is_relative() => base.join(path),
        _ => path,
    });
    Dictionary::load(user.as_deref())
}

/// Opens the workspace's search index.
pub(super) fn open_index(workspace: &Workspace) -> Result<SearchIndex> {
    SearchIndex::open(&workspace.index_dir(), dictionary(workspace)?)
}

/// Syncs the index with a progress bar.
pub(super) fn sync(
    index: &mut SearchIndex,
    store: &mut Store,
    output: Output,
) -> Result<SyncReport> {
    let bar = output.progress(0, "calls indexed");
    let report = index.sync(store, |done, total| {
        bar.set_length(total);
        bar.set_position(done);
    });
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
            eprintln!(
                "warning: the search index is not up to date ({error}); \
                 `callscope index` brings it up to date"
            );
            None
        }
    }
}

/// Rebuilds the index from the store (after the store was masked in
/// place); a failure is a warning naming the command that fixes it.
pub(super) fn rebuild_quietly(workspace: &Workspace, store: &mut Store, output: Output) {
    let result = open_index(workspace).and_then(|mut index| {
        let bar = output.progress(0, "calls indexed");
        let report = index.rebuild(store, |done, total| {
            bar.set_length(total);
            bar.set_position(done);
        });
        bar.finish_and_clear();
        report
    });
    if let Err(error) = result {
        eprintln!(
            "warning: the search index was not rebuilt ({error}); run `callscope index --rebuild`"
        );
    }
}

pub(super) fn run(workspace: &Workspace, args: &IndexArgs, output: Output) -> Result<Outcome> {
    let mut store = workspace.open_existing_store()?;
    let mut index = open_index(workspace)?;
    let report = if args.rebuild {
        let bar = output.progress(0, "calls indexed");
        let report = index.rebuild(&mut store, |done, total| {
            bar.set_length(total);
            bar.set_position(done);
        });
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
    println!(
        "{verb}{} calls indexed in {:.1} s; the index holds {} calls",
        report.indexed, report.seconds, report.documents
    );
    Ok(Outcome::ok())
}
