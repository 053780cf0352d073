//! Scorecards kept in the store (`callscope scorecard push`), so that every
//! machine scoring calls (workers, `run`, `qa`, the web workspace) uses the
//! same versions without copying files: a change reaches workers at their
//! next job. Each is kept as its TOML text under its name; the store does
//! not parse it (the qa crate does, on push and on use).

use callscope_core::error::Result;
use rusqlite::OptionalExtension;

use crate::{now_epoch, SqliteStore};

/// Schema 7 -> 8.
pub(crate) const MIGRATION: &str = "CREATE TABLE scorecards (
        name        TEXT PRIMARY KEY,
        source      TEXT NOT NULL,
        updated_at  INTEGER NOT NULL
     );";

/// A scorecard as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredScorecard {
    /// The scorecard's name (`[scorecard] name`).
    pub name: String,
    /// Its TOML text, as pushed.
    pub source: String,
    /// When it was pushed (Unix seconds).
    pub updated_at: i64,
}

impl SqliteStore {
    pub fn put_scorecard(&mut self, name: &str, source: &str) -> Result<bool> {
        let existed = self
            .connection
            .query_row("SELECT 1 FROM scorecards WHERE name = ?1", [name], |_| {
                Ok(())
            })
            .optional()?
            .is_some();
        self.connection.execute(
            "INSERT INTO scorecards (name, source, updated_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (name) DO UPDATE SET source = excluded.source,
                                               updated_at = excluded.updated_at",
            rusqlite::params![name, source, now_epoch()],
        )?;
        Ok(existed)
    }

    pub fn scorecards(&self) -> Result<Vec<StoredScorecard>> {
        let mut statement = self
            .connection
            .prepare("SELECT name, source, updated_at FROM scorecards ORDER BY name")?;
        let rows = statement.query_map([], |row| {
            Ok(StoredScorecard {
                name: row.get(0)?,
                source: row.get(1)?,
                updated_at: row.get(2)?,
            })
        })?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    pub fn remove_scorecard(&mut self, name: &str) -> Result<bool> {
        Ok(self
            .connection
            .execute("DELETE FROM scorecards WHERE name = ?1", [name])?
            > 0)
    }
}
