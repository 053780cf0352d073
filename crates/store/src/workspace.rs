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

use std::path::{Path, PathBuf};

use crate::Store;
use callscope_core::error::{Error, Result};

/// A resolved workspace folder.
#[derive(Debug, Clone)]
pub struct Workspace {
    root: PathBuf,
}

impl Workspace {
    /// The workspace at `root` (created on first write).
    pub fn new(root: impl Into<PathBuf>) -> Workspace {
        Workspace { root: root.into() }
    }

    /// The workspace folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The store's database file.
    pub fn store_path(&self) -> PathBuf {
        self.root.join("callscope.db")
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
        Store::open(&self.store_path())
    }

    /// Opens the store of an existing workspace; a missing workspace is an
    /// error that says how to make one.
    pub fn open_existing_store(&self) -> Result<Store> {
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
