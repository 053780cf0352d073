//! The index's partitions: one tantivy index per month of the calls'
//! `started_at` (`index/YYYY-MM/`, the month in the call's own offset) and
//! `index/undated/` for calls without one.
//!
//! A month's partition is rewritten only when one of its calls changes
//! (re-imported, re-scored, forgotten): old months stay as they are, and a
//! copy of their folders can be searched anywhere. A partition appears
//! whole: it is created in a hidden folder and renamed into place, so a
//! reader scanning the folder never opens one half made.

use std::path::{Path, PathBuf};

use tantivy::directory::error::{LockError, OpenReadError};
use tantivy::schema::Schema;
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, Searcher, TantivyError, Term};

use super::analyzer::EncodedTokenizer;
use super::schema::{call_dates, TOKENIZER};
use callscope_core::error::{Error, Result};
use callscope_core::model::Call;
use callscope_store::parse_timestamp;

/// The partition of calls without a start time.
pub const UNDATED: &str = "undated";

/// Indexing memory per writer thread.
const WRITER_MEMORY_PER_THREAD: usize = 96 << 20;

/// One month's tantivy index.
pub(crate) struct Partition {
    /// `YYYY-MM` or [`UNDATED`].
    pub name: String,
    /// Its folder.
    pub path: PathBuf,
    pub index: Index,
    pub reader: IndexReader,
}

/// Why a partition could not be opened.
pub(crate) enum OpenFailure {
    /// Damaged, of another schema, or half gone: the index must be rebuilt.
    Damaged,
    /// Something else (permissions, ...): reported as is.
    Error(Error),
}

impl OpenFailure {
    fn of(error: TantivyError, directory: &Path) -> OpenFailure {
        match error {
            TantivyError::DataCorruption(_)
            | TantivyError::IncompatibleIndex(_)
            | TantivyError::SchemaError(_)
            | TantivyError::OpenReadError(OpenReadError::FileDoesNotExist(_)) => {
                OpenFailure::Damaged
            }
            error => OpenFailure::Error(Error::Index(format!(
                "cannot open {}: {error}; check the folder's permissions, or run `callscope \
                 index --rebuild`",
                directory.display()
            ))),
        }
    }
}

impl Partition {
    /// Opens the partition in `directory` (named `name`).
    pub fn open(
        directory: &Path,
        name: &str,
        schema: &Schema,
    ) -> std::result::Result<Partition, OpenFailure> {
        let opened = Index::open_in_dir(directory).and_then(|index| {
            if index.schema() == *schema {
                Partition::ready(index, name, directory).map(Some)
            } else {
                // A schema of another build of callscope: rebuild.
                Ok(None)
            }
        });
        match opened {
            Ok(Some(partition)) => Ok(partition),
            Ok(None) => Err(OpenFailure::Damaged),
            Err(error) => Err(OpenFailure::of(error, directory)),
        }
    }

    /// Reloads the reader (what was committed since).
    pub fn reload(&self) -> std::result::Result<(), OpenFailure> {
        self.reader
            .reload()
            .map_err(|error| OpenFailure::of(error, &self.path))
    }

    /// Creates the partition `name` in `parent` (empty): built in a hidden
    /// folder, then renamed into place.
    pub fn create(parent: &Path, name: &str, schema: &Schema) -> Result<Partition> {
        let building = parent.join(format!(".new-{name}"));
        if building.exists() {
            std::fs::remove_dir_all(&building).map_err(|error| Error::io(&building, error))?;
        }
        std::fs::create_dir_all(&building).map_err(|error| Error::io(&building, error))?;
        drop(Index::create_in_dir(&building, schema.clone())?);
        let path = parent.join(name);
        std::fs::rename(&building, &path).map_err(|error| Error::io(&path, error))?;
        let index = Index::open_in_dir(&path)?;
        Ok(Partition::ready(index, name, &path)?)
    }

    fn ready(index: Index, name: &str, path: &Path) -> tantivy::Result<Partition> {
        index
            .tokenizers()
            .register(TOKENIZER, EncodedTokenizer::default());
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(Partition {
            name: name.to_string(),
            path: path.to_path_buf(),
            index,
            reader,
        })
    }

    /// The partition's one writer. Files that a process killed in a commit
    /// left behind (listed as managed, named by no meta: a delete file
    /// `SEGMENT.OPSTAMP.del`, a half-written segment) are collected first:
    /// this process reaches the same operation stamps and would otherwise
    /// fail to create a file of the same name at every commit.
    pub fn writer(&self) -> Result<IndexWriter> {
        let threads = std::thread::available_parallelism().map_or(1, |count| count.get().min(4));
        let writer = self
            .index
            .writer_with_num_threads(threads, threads * WRITER_MEMORY_PER_THREAD)
            .map_err(|error| match error {
                TantivyError::LockFailure(LockError::LockBusy, _) => busy(),
                other => Error::from(other),
            })?;
        writer.garbage_collect_files().wait()?;
        Ok(writer)
    }

    /// The searcher as of the last reload.
    pub fn searcher(&self) -> Searcher {
        self.reader.searcher()
    }
}

/// Removes what a process killed while creating or removing a partition
/// left: the hidden `.new-*` and `.old-*` folders.
pub(crate) fn remove_leftovers(directory: &Path) -> Result<()> {
    let entries = std::fs::read_dir(directory).map_err(|error| Error::io(directory, error))?;
    for entry in entries {
        let path = entry.map_err(|error| Error::io(directory, error))?.path();
        let name = path
            .file_name()
            .and_then(|name| name.to_str())
            .unwrap_or("");
        if (name.starts_with(".new-") || name.starts_with(".old-")) && path.is_dir() {
            std::fs::remove_dir_all(&path).map_err(|error| Error::io(&path, error))?;
        }
    }
    Ok(())
}

/// Removes a partition's folder: renamed aside first (at once), so a
/// process killed midway leaves no half partition under its name.
pub(crate) fn remove(directory: &Path, name: &str) -> Result<()> {
    let path = directory.join(name);
    let aside = directory.join(format!(".old-{name}"));
    if aside.exists() {
        std::fs::remove_dir_all(&aside).map_err(|error| Error::io(&aside, error))?;
    }
    std::fs::rename(&path, &aside).map_err(|error| Error::io(&path, error))?;
    std::fs::remove_dir_all(&aside).map_err(|error| Error::io(&aside, error))
}

/// The error of a second writer.
pub(crate) fn busy() -> Error {
    Error::Index(
        "another callscope process is updating the search index; wait for it to finish and \
         try again"
            .to_string(),
    )
}

/// The partition a call belongs in: the month of its `started_at` as
/// written (in the call's own offset), or [`UNDATED`].
pub fn partition_of(call: &Call) -> String {
    if call_dates(call).is_none() {
        return UNDATED.to_string();
    }
    let month = call
        .started_at
        .as_deref()
        .and_then(parse_timestamp)
        .map(|started| started.format("%Y-%m").to_string());
    match month {
        Some(month) if is_partition_name(&month) => month,
        _ => UNDATED.to_string(),
    }
}

/// Whether a folder name is a partition's: `YYYY-MM` or [`UNDATED`].
pub fn is_partition_name(name: &str) -> bool {
    if name == UNDATED {
        return true;
    }
    let bytes = name.as_bytes();
    bytes.len() == 7
        && bytes[4] == b'-'
        && bytes
            .iter()
            .enumerate()
            .all(|(at, byte)| at == 4 || byte.is_ascii_digit())
        && name[5..]
            .parse::<u8>()
            .is_ok_and(|month| (1..=12).contains(&month))
}

/// The partition folders in `directory` that hold an index (`meta.json`),
/// sorted by name.
pub(crate) fn partition_folders(directory: &Path) -> Result<Vec<(String, PathBuf)>> {
    let entries = match std::fs::read_dir(directory) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(Error::io(directory, error)),
    };
    let mut folders = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|error| Error::io(directory, error))?;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        let path = entry.path();
        if is_partition_name(&name) && path.join("meta.json").is_file() {
            folders.push((name, path));
        }
    }
    folders.sort();
    Ok(folders)
}

/// Whether `searcher` holds a live (not deleted) document with `term`.
pub(crate) fn holds_live(searcher: &Searcher, term: &Term) -> Result<bool> {
    use tantivy::{DocSet, TERMINATED};
    for segment in searcher.segment_readers() {
        let inverted = segment.inverted_index(term.field())?;
        let Some(info) = inverted
            .get_term_info(term)
            .map_err(|error| Error::Index(format!("reading the index: {error}")))?
        else {
            continue;
        };
        let Some(alive) = segment.alive_bitset() else {
            return Ok(true);
        };
        let mut postings = inverted
            .read_postings_from_terminfo(&info, tantivy::schema::IndexRecordOption::Basic)
            .map_err(|error| Error::Index(format!("reading the index: {error}")))?;
        while postings.doc() != TERMINATED {
            if alive.is_alive(postings.doc()) {
                return Ok(true);
            }
            postings.advance();
        }
    }
    Ok(false)
}

/// Whether `searcher` holds `term` at all, in deleted documents not yet
/// merged away included (what is still on disk).
pub(crate) fn holds_on_disk(searcher: &Searcher, term: &Term) -> Result<bool> {
    Ok(searcher.doc_freq(term)? > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_names() {
        for name in ["2026-01", "1999-12", UNDATED] {
            assert!(is_partition_name(name), "{name}");
        }
        for name in [
            "2026-13",
            "2026-00",
            "2026-1",
            "20261-01",
            ".new-2026-01",
            "meta.json",
        ] {
            assert!(!is_partition_name(name), "{name}");
        }
    }

    #[test]
    fn a_call_goes_to_the_month_of_its_own_offset() {
        let call = |started: Option<&str>| {
            serde_json::from_value::<Call>(serde_json::json!({
                "call_id": "C",
                "started_at": started,
                "segments": [],
            }))
            .unwrap()
        };
        // 23:30 on Oct 31 in Beijing is Oct 31 there, Nov 1 nowhere else.
        assert_eq!(
            partition_of(&call(Some("2026-10-31T23:30:00+08:00"))),
            "2026-10"
        );
        assert_eq!(partition_of(&call(Some("2026-11-01T00:10:00Z"))), "2026-11");
        assert_eq!(partition_of(&call(None)), UNDATED);
        assert_eq!(partition_of(&call(Some("yesterday"))), UNDATED);
    }
}
