//! The workspace: one folder (`--data`) that holds the store, the search
//! index, the workspace config and the reports of failed inputs.
//!
//! ```text
//! callscope-data/
//!   callscope.db        the store (calls, transcripts, QA results)
//!   callscope.toml      workspace config (optional; defaults otherwise)
//!   index/              the search index
//!   failures.jsonl      inputs that failed in the last batch
//! ```
//!
//! The store can instead be a shared PostgreSQL database: `[store] url =
//! "postgres://..."` in `callscope.toml`, or `--store URL` on any command
//! ([`Workspace::with_store`]), which wins over the file. The folder then
//! still holds the config, the search index and the reports.

use std::path::{Path, PathBuf};

use crate::Store;
use callscope_core::error::{Error, Result};

/// A resolved workspace folder.
#[derive(Debug, Clone)]
pub struct Workspace {
    root: PathBuf,
    /// The store's location given on the command line, over the config's.
    store: Option<String>,
}

/// The config's `[store]` section.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct StoreSection {
    /// `postgres://USER:PASSWORD@HOST:PORT/DATABASE` for the shared store.
    url: Option<String>,
}

impl Workspace {
    /// The workspace at `root` (created on first write).
    pub fn new(root: impl Into<PathBuf>) -> Workspace {
        Workspace {
            root: root.into(),
            store: None,
        }
    }

    /// This workspace with its store at `location` (a `postgres://` URL or
    /// a database file's path) instead of the config's or the folder's.
    pub fn with_store(mut self, location: Option<String>) -> Workspace {
        self.store = location.filter(|location| !location.is_empty());
        self
    }

    /// The shared store's URL when the store is on PostgreSQL (from
    /// [`Workspace::with_store`] or the config's `[store] url`), `None` for
    /// the embedded store.
    pub fn store_url(&self) -> Result<Option<String>> {
        let location = match &self.store {
            Some(location) => Some(location.clone()),
            None => self.config()?.section::<StoreSection>("store")?.url,
        };
        Ok(location.filter(|location| crate::is_postgres_url(location)))
    }

    /// The store's location for messages: the database file, or the
    /// PostgreSQL URL without its password.
    pub fn store_place(&self) -> String {
        match self.store_url() {
            Ok(Some(url)) => crate::postgres::describe_url(&url),
            _ => self.store_path().display().to_string(),
        }
    }

    /// The workspace folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The embedded store's database file (a path given with
    /// [`Workspace::with_store`], or `callscope.db` in the folder).
    pub fn store_path(&self) -> PathBuf {
        match &self.store {
            Some(location) if !crate::is_postgres_url(location) => PathBuf::from(location),
            _ => self.root.join("callscope.db"),
        }
    }

    /// The search index folder.
    pub fn index_dir(&self) -> PathBuf {
        self.root.join("index")
    }

    /// The workspace config file.
    pub fn config_path(&self) -> PathBuf {
        self.root.join("callscope.toml")
    }

    /// Where a batch lists the inputs that failed.
    pub fn failures_path(&self) -> PathBuf {
        self.root.join("failures.jsonl")
    }

    /// Creates the folder if needed.
    pub fn ensure(&self) -> Result<()> {
        std::fs::create_dir_all(&self.root).map_err(|error| Error::io(&self.root, error))
    }

    /// Opens the store, creating the workspace if needed.
    pub fn open_store(&self) -> Result<Store> {
        self.ensure()?;
        match self.store_url()? {
            Some(url) => Store::connect(&url),
            None => Store::open(&self.store_path()),
        }
    }

    /// Opens the store of an existing workspace; a missing workspace is an
    /// error that says how to make one.
    pub fn open_existing_store(&self) -> Result<Store> {
        if let Some(url) = self.store_url()? {
            return Store::connect(&url);
        }
        if !self.store_path().exists() {
            return Err(Error::Usage(format!(
                "no workspace at {}: import transcripts (`callscope import FILE`) or \
                 transcribe audio (`callscope run DIR`) first, or pass --data",
                self.root.display()
            )));
        }
        Store::open(&self.store_path())
    }
}

impl Workspace {
    /// Reads the workspace config (defaults when the file is missing).
    pub fn config(&self) -> Result<callscope_core::config::WorkspaceConfig> {
        callscope_core::config::WorkspaceConfig::load(&self.config_path())
    }
}
