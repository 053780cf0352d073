//! Scorecards kept in the store, on PostgreSQL (`crate::scorecards`).

use callscope_core::error::Result;

use super::{now_epoch, pg, PgStore};
use crate::scorecards::StoredScorecard;

/// Schema 4 -> 5.
pub(super) const MIGRATION: &str = "CREATE TABLE scorecards (
        name        TEXT PRIMARY KEY,
        source      TEXT NOT NULL,
        updated_at  BIGINT NOT NULL
     );";

impl PgStore {
    pub fn put_scorecard(&mut self, name: &str, source: &str) -> Result<bool> {
        let now = now_epoch();
        self.in_transaction(|transaction| {
            let existed = transaction
                .query_opt(
                    "SELECT 1 FROM scorecards WHERE name = $1 FOR UPDATE",
                    &[&name],
                )
                .map_err(pg)?
                .is_some();
            transaction
                .execute(
                    "INSERT INTO scorecards (name, source, updated_at) VALUES ($1, $2, $3)
                     ON CONFLICT (name) DO UPDATE SET source = excluded.source,
                                                       updated_at = excluded.updated_at",
                    &[&name, &source, &now],
                )
                .map_err(pg)?;
            Ok(existed)
        })
    }

    pub fn scorecards(&mut self) -> Result<Vec<StoredScorecard>> {
        let rows = self
            .client()?
            .query(
                "SELECT name, source, updated_at FROM scorecards ORDER BY name COLLATE \"C\"",
                &[],
            )
            .map_err(pg)?;
        Ok(rows
            .iter()
            .map(|row| StoredScorecard {
                name: row.get(0),
                source: row.get(1),
                updated_at: row.get(2),
            })
            .collect())
    }

    pub fn remove_scorecard(&mut self, name: &str) -> Result<bool> {
        let deleted = self
            .client()?
            .execute("DELETE FROM scorecards WHERE name = $1", &[&name])
            .map_err(pg)?;
        Ok(deleted > 0)
    }
}
