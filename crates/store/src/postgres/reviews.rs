//! Reviews, appeals, the review queue's assignments and reviewed scores on
//! PostgreSQL, with the embedded store's meaning (`crate::reviews`).
//!
//! As there, these tables have no foreign key to `calls`: `put_call_batch`
//! re-writes a call by deleting and inserting its row, and the call's
//! reviews, appeals and assignments must survive that (a re-import);
//! `forget_calls` deletes them through [`forget_call`].
//!
//! Text is ordered with `COLLATE "C"` (byte order), as SQLite orders it,
//! whatever the database's own collation is.

use postgres::types::ToSql;
use postgres::Row;

use callscope_core::error::{Error, Result};

use crate::reviews::{
    Appeal, AppealFilter, AppealStatus, Assignment, Decision, NewAppeal, NewAssignment, NewReview,
    ResultVersion, Review, ReviewedRow, ReviewedScore,
};
use crate::CallFilter;

use super::{filter_sql, now_epoch, params, pg, PgStore};

/// Schema version 2 -> 3: users, sessions, the audit log, reviews,
/// appeals, review assignments and reviewed scores (the embedded store's
/// schemas 6 and 7).
pub(super) const MIGRATION: &str = "CREATE TABLE users (
        name           TEXT PRIMARY KEY,
        role           TEXT NOT NULL,
        agent_id       TEXT,
        password_hash  TEXT NOT NULL,
        created_at     BIGINT NOT NULL
     );
     CREATE TABLE sessions (
        token_hash  TEXT PRIMARY KEY,
        user_name   TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
        csrf_token  TEXT NOT NULL,
        created_at  BIGINT NOT NULL,
        expires_at  BIGINT NOT NULL
     );
     CREATE INDEX sessions_user ON sessions(user_name);
     CREATE TABLE audit_log (
        id         BIGSERIAL PRIMARY KEY,
        at         BIGINT NOT NULL,
        user_name  TEXT NOT NULL,
        action     TEXT NOT NULL,
        target     TEXT,
        detail     TEXT
     );
     CREATE INDEX audit_log_at ON audit_log(at);
     CREATE INDEX audit_log_user ON audit_log(user_name, at);
     CREATE TABLE reviews (
        id                 BIGSERIAL PRIMARY KEY,
        call_id            TEXT NOT NULL,
        scorecard          TEXT NOT NULL,
        rule_id            TEXT NOT NULL,
        reviewer           TEXT NOT NULL,
        decision           TEXT NOT NULL,
        machine_violated   BOOLEAN NOT NULL,
        evidence           TEXT NOT NULL,
        comment            TEXT NOT NULL,
        call_change        BIGINT NOT NULL,
        scored_at          BIGINT NOT NULL,
        created_at         BIGINT NOT NULL
     );
     CREATE INDEX reviews_call ON reviews(call_id, scorecard, rule_id);
     CREATE INDEX reviews_reviewer ON reviews(reviewer, call_id);
     CREATE TABLE appeals (
        id                 BIGSERIAL PRIMARY KEY,
        call_id            TEXT NOT NULL,
        scorecard          TEXT NOT NULL,
        rule_id            TEXT NOT NULL,
        appellant          TEXT NOT NULL,
        agent_id           TEXT,
        machine_violated   BOOLEAN NOT NULL,
        appealed_violated  BOOLEAN NOT NULL,
        reason             TEXT NOT NULL,
        status             TEXT NOT NULL,
        decided_by         TEXT,
        decided_at         BIGINT,
        decision_comment   TEXT,
        created_at         BIGINT NOT NULL
     );
     CREATE INDEX appeals_call ON appeals(call_id);
     CREATE INDEX appeals_status ON appeals(status, created_at);
     CREATE TABLE review_assignments (
        call_id      TEXT NOT NULL,
        reviewer     TEXT NOT NULL,
        reason       TEXT NOT NULL,
        week         TEXT NOT NULL,
        assigned_at  BIGINT NOT NULL,
        PRIMARY KEY (call_id, reviewer)
     );
     CREATE INDEX review_assignments_reviewer ON review_assignments(reviewer, week);
     CREATE TABLE reviewed_scores (
        call_id     TEXT NOT NULL,
        scorecard   TEXT NOT NULL,
        score       DOUBLE PRECISION NOT NULL,
        passed      BOOLEAN NOT NULL,
        fatal       BOOLEAN NOT NULL,
        updated_at  BIGINT NOT NULL,
        PRIMARY KEY (call_id, scorecard)
     );
";

/// Deletes the reviews, appeals, assignments and reviewed scores of one
/// call and counts the first three into `forgotten` (inside
/// `forget_calls`' transaction).
pub(super) fn forget_call(
    transaction: &mut postgres::Transaction<'_>,
    call_id: &str,
    forgotten: &mut crate::Forgotten,
) -> Result<()> {
    let mut delete = |table: &str| -> Result<u64> {
        transaction
            .execute(
                &format!("DELETE FROM {table} WHERE call_id = $1"),
                &[&call_id],
            )
            .map_err(pg)
    };
    forgotten.reviews += delete("reviews")?;
    forgotten.appeals += delete("appeals")?;
    forgotten.review_assignments += delete("review_assignments")?;
    // Derived from the reviews: goes with them.
    delete("reviewed_scores")?;
    Ok(())
}

const REVIEW_COLUMNS: &str = "r.id, r.call_id, r.scorecard, r.rule_id, r.reviewer, r.decision, \
     r.machine_violated, r.evidence, r.comment, r.call_change, r.scored_at, r.created_at";

fn review_of(row: &Row) -> Result<Review> {
    let decision = if row.get::<_, &str>(5) == "overturn" {
        Decision::Overturn
    } else {
        Decision::Confirm
    };
    let id: i64 = row.get(0);
    let machine_violated: bool = row.get(6);
    let evidence = serde_json::from_str(row.get(7)).map_err(|error| {
        Error::Store(format!(
            "review {id} holds evidence that does not decode ({error})"
        ))
    })?;
    Ok(Review {
        id,
        call_id: row.get(1),
        scorecard: row.get(2),
        rule_id: row.get(3),
        reviewer: row.get(4),
        decision,
        machine_violated,
        reviewed_violated: decision.applied_to(machine_violated),
        evidence,
        comment: row.get(8),
        call_change: row.get(9),
        scored_at: row.get(10),
        created_at: row.get(11),
    })
}

const APPEAL_COLUMNS: &str = "id, call_id, scorecard, rule_id, appellant, agent_id, \
     machine_violated, appealed_violated, reason, status, decided_by, decided_at, \
     decision_comment, created_at";

fn appeal_of(row: &Row) -> Appeal {
    let status = match row.get::<_, &str>(9) {
        "accepted" => AppealStatus::Accepted,
        "rejected" => AppealStatus::Rejected,
        _ => AppealStatus::Open,
    };
    Appeal {
        id: row.get(0),
        call_id: row.get(1),
        scorecard: row.get(2),
        rule_id: row.get(3),
        appellant: row.get(4),
        agent_id: row.get(5),
        machine_violated: row.get(6),
        appealed_violated: row.get(7),
        reason: row.get(8),
        status,
        decided_by: row.get(10),
        decided_at: row.get(11),
        decision_comment: row.get(12),
        created_at: row.get(13),
    }
}

impl PgStore {
    pub fn qa_result_version(
        &mut self,
        call_id: &str,
        scorecard: &str,
    ) -> Result<Option<ResultVersion>> {
        let row = self
            .client()?
            .query_opt(
                "SELECT c.content_seq, q.scored_at FROM qa_results q
                 JOIN calls c ON c.call_id = q.call_id
                 WHERE q.call_id = $1 AND q.scorecard = $2",
                &[&call_id, &scorecard],
            )
            .map_err(pg)?;
        Ok(row.map(|row| ResultVersion {
            call_change: row.get(0),
            scored_at: row.get(1),
        }))
    }

    pub fn add_review(&mut self, review: &NewReview) -> Result<i64> {
        let evidence = serde_json::to_string(&review.evidence)
            .map_err(|error| Error::Store(format!("call {}: {error}", review.call_id)))?;
        let row = self
            .client()?
            .query_one(
                "INSERT INTO reviews (call_id, scorecard, rule_id, reviewer, decision,
                    machine_violated, evidence, comment, call_change, scored_at, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                 RETURNING id",
                &[
                    &review.call_id,
                    &review.scorecard,
                    &review.rule_id,
                    &review.reviewer,
                    &review.decision.as_str(),
                    &review.machine_violated,
                    &evidence,
                    &review.comment,
                    &review.call_change,
                    &review.scored_at,
                    &now_epoch(),
                ],
            )
            .map_err(pg)?;
        Ok(row.get(0))
    }

    pub fn reviews_of(&mut self, call_id: &str) -> Result<Vec<Review>> {
        let rows = self
            .client()?
            .query(
                &format!(
                    "SELECT {REVIEW_COLUMNS} FROM reviews r WHERE r.call_id = $1 ORDER BY r.id"
                ),
                &[&call_id],
            )
            .map_err(pg)?;
        rows.iter().map(review_of).collect()
    }

    pub fn for_each_review(
        &mut self,
        filter: &CallFilter,
        mut visit: impl FnMut(ReviewedRow) -> Result<()>,
    ) -> Result<u64> {
        let (where_clause, values) = filter_sql(filter, "c.");
        let sql = format!(
            "SELECT {REVIEW_COLUMNS}, c.local_date::TEXT FROM reviews r
             JOIN calls c ON c.call_id = r.call_id {where_clause}
             ORDER BY r.call_id COLLATE \"C\", r.id"
        );
        // A portal in one transaction: rows come in batches, all from one
        // snapshot.
        self.in_transaction(|transaction| {
            let portal = transaction.bind(&sql, &params(&values)).map_err(pg)?;
            let mut count = 0;
            loop {
                let rows = transaction.query_portal(&portal, 1000).map_err(pg)?;
                if rows.is_empty() {
                    break;
                }
                for row in &rows {
                    visit(ReviewedRow {
                        review: review_of(row)?,
                        local_date: row.get(12),
                    })?;
                    count += 1;
                }
            }
            Ok(count)
        })
    }

    pub fn add_appeal(&mut self, appeal: &NewAppeal) -> Result<i64> {
        let row = self
            .client()?
            .query_one(
                "INSERT INTO appeals (call_id, scorecard, rule_id, appellant, agent_id,
                    machine_violated, appealed_violated, reason, status, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'open', $9)
                 RETURNING id",
                &[
                    &appeal.call_id,
                    &appeal.scorecard,
                    &appeal.rule_id,
                    &appeal.appellant,
                    &appeal.agent_id,
                    &appeal.machine_violated,
                    &appeal.appealed_violated,
                    &appeal.reason,
                    &now_epoch(),
                ],
            )
            .map_err(pg)?;
        Ok(row.get(0))
    }

    pub fn appeal(&mut self, id: i64) -> Result<Option<Appeal>> {
        let row = self
            .client()?
            .query_opt(
                &format!("SELECT {APPEAL_COLUMNS} FROM appeals WHERE id = $1"),
                &[&id],
            )
            .map_err(pg)?;
        Ok(row.as_ref().map(appeal_of))
    }

    pub fn appeals(&mut self, filter: &AppealFilter) -> Result<Vec<Appeal>> {
        let status = filter.status.map(AppealStatus::as_str);
        let wanted = [
            ("status", status),
            ("agent_id", filter.agent_id.as_deref()),
            ("call_id", filter.call_id.as_deref()),
        ];
        let mut clauses = Vec::new();
        let mut values: Vec<&(dyn ToSql + Sync)> = Vec::new();
        for (column, value) in &wanted {
            if let Some(value) = value {
                values.push(value);
                clauses.push(format!("{column} = ${}", values.len()));
            }
        }
        let where_clause = if clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", clauses.join(" AND "))
        };
        let rows = self
            .client()?
            .query(
                &format!("SELECT {APPEAL_COLUMNS} FROM appeals {where_clause} ORDER BY id DESC"),
                &values,
            )
            .map_err(pg)?;
        Ok(rows.iter().map(appeal_of).collect())
    }

    pub fn decide_appeal(
        &mut self,
        id: i64,
        decided_by: &str,
        accepted: bool,
        comment: &str,
    ) -> Result<Appeal> {
        let status = if accepted {
            AppealStatus::Accepted
        } else {
            AppealStatus::Rejected
        };
        // Only an open appeal changes: of two leads deciding together, the
        // second waits for the first's row lock, then finds it decided.
        let decided = self
            .client()?
            .query_opt(
                &format!(
                    "UPDATE appeals SET status = $2, decided_by = $3, decided_at = $4,
                        decision_comment = $5
                     WHERE id = $1 AND status = 'open'
                     RETURNING {APPEAL_COLUMNS}"
                ),
                &[&id, &status.as_str(), &decided_by, &now_epoch(), &comment],
            )
            .map_err(pg)?;
        if let Some(row) = decided {
            return Ok(appeal_of(&row));
        }
        let appeal = self
            .appeal(id)?
            .ok_or_else(|| Error::Usage(format!("there is no appeal {id}: check the id")))?;
        Err(Error::Usage(format!(
            "appeal {id} was already {} by {}: an appeal is decided once",
            appeal.status.as_str(),
            appeal.decided_by.as_deref().unwrap_or("someone")
        )))
    }

    pub fn add_assignments(&mut self, assignments: &[NewAssignment]) -> Result<usize> {
        let now = now_epoch();
        self.in_transaction(|transaction| {
            let insert = transaction
                .prepare(
                    "INSERT INTO review_assignments (call_id, reviewer, reason, week,
                        assigned_at)
                     VALUES ($1, $2, $3, $4, $5)
                     ON CONFLICT (call_id, reviewer) DO NOTHING",
                )
                .map_err(pg)?;
            let mut added = 0;
            for assignment in assignments {
                added += transaction
                    .execute(
                        &insert,
                        &[
                            &assignment.call_id,
                            &assignment.reviewer,
                            &assignment.reason,
                            &assignment.week,
                            &now,
                        ],
                    )
                    .map_err(pg)? as usize;
            }
            Ok(added)
        })
    }

    pub fn assignments(&mut self, reviewer: Option<&str>) -> Result<Vec<Assignment>> {
        let rows = self
            .client()?
            .query(
                "SELECT a.call_id, a.reviewer, a.reason, a.week, a.assigned_at,
                        EXISTS (SELECT 1 FROM reviews r
                                WHERE r.call_id = a.call_id AND r.reviewer = a.reviewer)
                 FROM review_assignments a
                 WHERE $1::TEXT IS NULL OR a.reviewer = $1::TEXT
                 ORDER BY a.week COLLATE \"C\" DESC, a.call_id COLLATE \"C\",
                    a.reviewer COLLATE \"C\"",
                &[&reviewer],
            )
            .map_err(pg)?;
        Ok(rows
            .iter()
            .map(|row| Assignment {
                call_id: row.get(0),
                reviewer: row.get(1),
                reason: row.get(2),
                week: row.get(3),
                assigned_at: row.get(4),
                done: row.get(5),
            })
            .collect())
    }

    pub fn put_reviewed_score(
        &mut self,
        call_id: &str,
        scorecard: &str,
        reviewed: Option<ReviewedScore>,
    ) -> Result<()> {
        let client = self.client()?;
        match reviewed {
            Some(reviewed) => client.execute(
                "INSERT INTO reviewed_scores (call_id, scorecard, score, passed, fatal,
                    updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (call_id, scorecard) DO UPDATE SET score = EXCLUDED.score,
                    passed = EXCLUDED.passed, fatal = EXCLUDED.fatal,
                    updated_at = EXCLUDED.updated_at",
                &[
                    &call_id,
                    &scorecard,
                    &reviewed.score,
                    &reviewed.passed,
                    &reviewed.fatal,
                    &now_epoch(),
                ],
            ),
            None => client.execute(
                "DELETE FROM reviewed_scores WHERE call_id = $1 AND scorecard = $2",
                &[&call_id, &scorecard],
            ),
        }
        .map_err(pg)?;
        Ok(())
    }

    pub fn reviewed_scores_of(&mut self, call_id: &str) -> Result<Vec<(String, ReviewedScore)>> {
        let rows = self
            .client()?
            .query(
                "SELECT scorecard, score, passed, fatal FROM reviewed_scores WHERE call_id = $1
                 ORDER BY scorecard COLLATE \"C\"",
                &[&call_id],
            )
            .map_err(pg)?;
        Ok(rows
            .iter()
            .map(|row| {
                (
                    row.get(0),
                    ReviewedScore {
                        score: row.get(1),
                        passed: row.get(2),
                        fatal: row.get(3),
                    },
                )
            })
            .collect())
    }

    pub fn reviewers(&mut self) -> Result<Vec<String>> {
        let rows = self
            .client()?
            .query(
                "SELECT name FROM users WHERE role IN ('analyst', 'lead')
                 ORDER BY name COLLATE \"C\"",
                &[],
            )
            .map_err(pg)?;
        Ok(rows.iter().map(|row| row.get(0)).collect())
    }
}
