//! What every request shares: the workspace, its search index (opened once:
//! loading the dictionary is the slow part) and its redaction policy.

use std::sync::Mutex;

use callscope_core::error::{Error, Result};
use callscope_index::SearchIndex;
use callscope_redact::Redactor;
use callscope_store::workspace::Workspace;

use crate::audio::AudioCache;

/// The state shared by the handlers.
pub struct AppState {
    /// The workspace folder (`--data`).
    pub workspace: Workspace,
    /// The search index; searches take turns (a search first brings the
    /// index up to date with the store, which needs the writer).
    pub index: Mutex<SearchIndex>,
    /// The workspace's policy, for masking at display time (no key).
    pub redactor: Redactor,
    /// The last recordings prepared for playing.
    pub audio: AudioCache,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "AppState({})", self.workspace.root().display())
    }
}

impl AppState {
    /// Opens the workspace: the store must exist (checked here, so a wrong
    /// `--data` fails at start), the index is opened or created.
    pub fn open(workspace: Workspace) -> Result<AppState> {
        drop(workspace.open_existing_store()?);
        let index = callscope_pipeline::indexing::open_index(&workspace)?;
        let redactor = Redactor::for_display(&workspace)?;
        Ok(AppState {
            workspace,
            index: Mutex::new(index),
            redactor,
            audio: AudioCache::default(),
        })
    }

    /// The search index, for one search at a time.
    pub(crate) fn lock_index(&self) -> Result<std::sync::MutexGuard<'_, SearchIndex>> {
        self.index
            .lock()
            .map_err(|_| Error::Index("a previous search failed midway: restart the server".into()))
    }
}
