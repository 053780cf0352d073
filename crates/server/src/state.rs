//! What every request shares: the workspace, its search index (opened once:
//! loading the dictionary is the slow part) and its redaction policy.

use std::collections::HashSet;
use std::sync::Mutex;

use callscope_core::error::{Error, Result};
use callscope_index::SearchIndex;
use callscope_redact::Redactor;
use callscope_store::users::UserRole;
use callscope_store::workspace::Workspace;
use serde::Deserialize;

use crate::audio::AudioCache;
use crate::auth::{Access, LoginLimiter};

/// The state shared by the handlers.
pub struct AppState {
    /// The workspace folder (`--data`).
    pub workspace: Workspace,
    /// The search index; searches take turns (a search first brings the
    /// index up to date with the store, which needs the writer, or reloads
    /// it while `callscope index --follow` keeps it).
    pub index: Mutex<SearchIndex>,
    /// The workspace's policy, for masking at display time (no key).
    pub redactor: Redactor,
    /// The last recordings prepared for playing.
    pub audio: AudioCache,
    /// The `[serve]` section of `callscope.toml`.
    pub serve: ServeConfig,
    /// Who may connect (loopback, `--token`) and the local admin's CSRF
    /// token.
    pub access: Access,
    /// Failed sign-ins, for the rate limit.
    pub limiter: LoginLimiter,
    /// The (session, call, silenced) recordings already played, so playing
    /// is written to the audit log once per call and session.
    played: Mutex<HashSet<(String, String, bool)>>,
}

/// The `[serve]` section of `callscope.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServeConfig {
    /// The roles that may play a recording with personal data audible
    /// (`/api/calls/{id}/audio?unmasked=1`); default `["admin"]`.
    pub unmasked_audio_roles: Vec<UserRole>,
}

impl Default for ServeConfig {
    fn default() -> ServeConfig {
        ServeConfig {
            unmasked_audio_roles: vec![UserRole::Admin],
        }
    }
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "AppState({})", self.workspace.root().display())
    }
}

impl AppState {
    /// Opens the workspace for a server on loopback without `--token`
    /// ([`AppState::open_with`]).
    pub fn open(workspace: Workspace) -> Result<AppState> {
        let access = Access {
            loopback: true,
            token_hash: None,
            local_csrf: crate::auth::random_hex(32)?,
        };
        AppState::open_with(workspace, access)
    }

    /// Opens the workspace: the store must exist (checked here, so a wrong
    /// `--data` fails at start), the index is opened or created.
    pub fn open_with(workspace: Workspace, access: Access) -> Result<AppState> {
        drop(workspace.open_existing_store()?);
        let index = callscope_pipeline::indexing::open_index(&workspace)?;
        let redactor = Redactor::for_display(&workspace)?;
        let serve = workspace.config()?.section("serve")?;
        Ok(AppState {
            workspace,
            index: Mutex::new(index),
            redactor,
            audio: AudioCache::default(),
            serve,
            access,
            limiter: LoginLimiter::default(),
            played: Mutex::new(HashSet::new()),
        })
    }

    /// True the first time `session` plays `call_id` (silenced or not).
    pub(crate) fn first_play(&self, session: &str, call_id: &str, silenced: bool) -> bool {
        match self.played.lock() {
            Ok(mut played) => {
                // Bounded: past this many, a play may be recorded again.
                if played.len() >= 100_000 {
                    played.clear();
                }
                played.insert((session.to_string(), call_id.to_string(), silenced))
            }
            Err(_) => true,
        }
    }

    /// The search index, for one search at a time.
    pub(crate) fn lock_index(&self) -> Result<std::sync::MutexGuard<'_, SearchIndex>> {
        self.index
            .lock()
            .map_err(|_| Error::Index("a previous search failed midway: restart the server".into()))
    }
}

/// Before a search: the index syncs with the store (calls written since, or
/// left stale by a crash), unless `callscope index --follow` keeps it:
/// then the follower is the only writer, and the index is only reloaded
/// (new commits, new months) without touching the store's marks. A failure
/// is a warning: the search runs on what is indexed.
pub fn bring_up_to_date(index: &mut SearchIndex, store: &mut callscope_store::Store) {
    if index.followed_by().is_some() {
        if let Err(error) = index.reload() {
            eprintln!("warning: the search index could not be reloaded ({error})");
        }
        return;
    }
    if let Err(error) = index.sync(store, |_, _| {}) {
        let stale = store.count_unindexed().unwrap_or(0);
        eprintln!("warning: {stale} calls are not searchable yet ({error})");
    }
}
