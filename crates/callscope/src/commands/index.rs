//! `callscope index`: brings the search index up to date with the store
//! (or rebuilds it, or follows it: `--follow`), and the helpers other
//! commands use to open the index and let it follow the store.

use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use crate::cli::IndexArgs;
use crate::output::{Outcome, Output};
use callscope_core::error::{Error, Result};
use callscope_index::{FollowLease, SearchIndex, SyncReport};
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
/// a warning, and the next `callscope index` or search catches up. While
/// `callscope index --follow` keeps the index, it is left to it.
pub(super) fn follow_store(
    workspace: &Workspace,
    store: &mut Store,
    output: Output,
) -> Option<SyncReport> {
    let result = open_index(workspace).and_then(|mut index| {
        if index.followed_by().is_some() {
            return Ok(SyncReport {
                documents: index.documents(),
                ..SyncReport::default()
            });
        }
        sync(&mut index, store, output)
    });
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
    if args.follow {
        let directory = workspace.index_dir();
        return follow(&mut index, &mut store, &directory, args.interval, output);
    }
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

/// `callscope index --follow`: a sync, then one every `interval` seconds,
/// until SIGTERM or Ctrl-C (the sync in progress is finished first). The
/// lease `index/follow.json` beats meanwhile (at every round, and during a
/// long sync), so readers leave the writing to this process; it is removed
/// at the end.
fn follow(
    index: &mut SearchIndex,
    store: &mut Store,
    directory: &std::path::Path,
    interval: f64,
    output: Output,
) -> Result<Outcome> {
    let interval = Duration::from_secs_f64(interval);
    if let Some(lease) = index.followed_by().filter(FollowLease::is_live) {
        return Err(Error::Usage(format!(
            "`callscope index --follow` already keeps this index (pid {} on {}); one \
             follower per index",
            lease.pid, lease.host
        )));
    }
    let stop = stop_on_signals()?;
    index.write_follow_lease(interval, 0)?;
    if !output.quiet {
        crate::errln!(
            "following the store: a sync every {} s (SIGTERM or Ctrl-C stops)",
            interval.as_secs_f64()
        );
    }
    let result = follow_rounds(index, store, directory, interval, &stop, output);
    let removed = index.remove_follow_lease();
    result?;
    removed?;
    Ok(Outcome::ok())
}

fn follow_rounds(
    index: &mut SearchIndex,
    store: &mut Store,
    directory: &std::path::Path,
    interval: Duration,
    stop: &Receiver<()>,
    output: Output,
) -> Result<()> {
    let mut rounds = 0u64;
    loop {
        let bar = output.progress(0, "calls indexed");
        let mut beat = Instant::now();
        let mut heartbeat_failed = None;
        let synced = index.sync(store, |done, total| {
            bar.set_length(total);
            bar.set_position(done);
            if beat.elapsed() >= Duration::from_secs(1) {
                beat = Instant::now();
                // A long sync (the first, a rebuild) keeps the lease live.
                heartbeat_failed = FollowLease::now(interval, rounds).write(directory).err();
            }
        });
        bar.finish_and_clear();
        match synced {
            Ok(report) if report.indexed > 0 => {
                if output.json {
                    output.json_line(&report);
                } else {
                    crate::outln!(
                        "{} {} calls indexed into {} in {:.1} s; the index holds {} calls",
                        chrono::Local::now().format("%Y-%m-%d %H:%M:%S"),
                        report.indexed,
                        report.partitions.join(", "),
                        report.seconds,
                        report.documents
                    );
                }
            }
            Ok(_) => {}
            // A store out of reach, another writer: said, and tried again
            // at the next round.
            Err(error) => crate::errln!("warning: this round's sync failed ({error}); retrying"),
        }
        if let Some(error) = heartbeat_failed {
            crate::errln!("warning: cannot write the follow lease ({error})");
        }
        rounds += 1;
        if let Err(error) = index.write_follow_lease(interval, rounds) {
            crate::errln!("warning: cannot write the follow lease ({error})");
        }
        match stop.recv_timeout(interval) {
            Err(RecvTimeoutError::Timeout) => continue,
            Ok(()) | Err(RecvTimeoutError::Disconnected) => return Ok(()),
        }
    }
}

/// A channel that receives once SIGTERM or Ctrl-C arrives (tokio's signal
/// handling, as `callscope worker` stops). The handlers are in place when
/// this returns.
fn stop_on_signals() -> Result<Receiver<()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| Error::Index(format!("cannot listen for signals: {error}")))?;
    let (mut terminate, mut interrupt) = {
        let _context = runtime.enter();
        let listen = |kind| {
            signal(kind)
                .map_err(|error| Error::Index(format!("cannot listen for signals: {error}")))
        };
        (
            listen(SignalKind::terminate())?,
            listen(SignalKind::interrupt())?,
        )
    };
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        runtime.block_on(async {
            tokio::select! {
                _ = terminate.recv() => {}
                _ = interrupt.recv() => {}
            }
        });
        let _ = sender.send(());
    });
    Ok(receiver)
}
