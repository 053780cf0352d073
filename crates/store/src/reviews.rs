//! Reviews (复核) of the machine's QA verdicts, appeals (申诉) against them,
//! and the review queue's assignments (docs/design/web.md, "Reviews").
//!
//! A review judges one rule of one stored QA result: the reviewer confirms
//! or overturns the machine's verdict (violated or passed). The row keeps
//! the verdict and evidence it judged and the result's version (the call's
//! change number and the time the result was scored), never the result
//! itself: a call scored again keeps its reviews, and a review whose
//! judged verdict differs from the current one is *outdated* (decided by
//! the reader, which knows the current result). Reviews, appeals and
//! assignments have no foreign key to `calls`: re-importing a call (a
//! `REPLACE` of its row) keeps them; `SqliteStore::forget_calls` deletes them.

/// The tables of schema version 7.
pub(crate) const MIGRATION: &str = "CREATE TABLE reviews (
        id                 INTEGER PRIMARY KEY,
        call_id            TEXT NOT NULL,
        scorecard          TEXT NOT NULL,
        rule_id            TEXT NOT NULL,
        reviewer           TEXT NOT NULL,
        decision           TEXT NOT NULL,
        machine_violated   INTEGER NOT NULL,
        evidence           TEXT NOT NULL,
        comment            TEXT NOT NULL,
        call_change        INTEGER NOT NULL,
        scored_at          INTEGER NOT NULL,
        created_at         INTEGER NOT NULL
     );
     CREATE INDEX reviews_call ON reviews(call_id, scorecard, rule_id);
     CREATE INDEX reviews_reviewer ON reviews(reviewer, call_id);
     CREATE TABLE appeals (
        id                 INTEGER PRIMARY KEY,
        call_id            TEXT NOT NULL,
        scorecard          TEXT NOT NULL,
        rule_id            TEXT NOT NULL,
        appellant          TEXT NOT NULL,
        agent_id           TEXT,
        machine_violated   INTEGER NOT NULL,
        appealed_violated  INTEGER NOT NULL,
        reason             TEXT NOT NULL,
        status             TEXT NOT NULL,
        decided_by         TEXT,
        decided_at         INTEGER,
        decision_comment   TEXT,
        created_at         INTEGER NOT NULL
     );
     CREATE INDEX appeals_call ON appeals(call_id);
     CREATE INDEX appeals_status ON appeals(status, created_at);
     CREATE TABLE review_assignments (
        call_id      TEXT NOT NULL,
        reviewer     TEXT NOT NULL,
        reason       TEXT NOT NULL,
        week         TEXT NOT NULL,
        assigned_at  INTEGER NOT NULL,
        PRIMARY KEY (call_id, reviewer)
     );
     CREATE INDEX review_assignments_reviewer ON review_assignments(reviewer, week);
     CREATE TABLE reviewed_scores (
        call_id     TEXT NOT NULL,
        scorecard   TEXT NOT NULL,
        score       REAL NOT NULL,
        passed      INTEGER NOT NULL,
        fatal       INTEGER NOT NULL,
        updated_at  INTEGER NOT NULL,
        PRIMARY KEY (call_id, scorecard)
     );
";

use rusqlite::{params, OptionalExtension, Row};
use serde::Serialize;

use callscope_core::error::{Error, Result};
use callscope_core::model::Evidence;

use crate::{filter_sql, now_epoch, CallFilter, Forgotten, SqliteStore};

/// What a reviewer said of the machine's verdict on a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    /// The machine's verdict is right.
    Confirm,
    /// The machine's verdict is wrong: a violation that is none, or a passed
    /// rule that was violated (a miss).
    Overturn,
}

impl Decision {
    /// `confirm` or `overturn`.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Confirm => "confirm",
            Decision::Overturn => "overturn",
        }
    }

    /// Parses `confirm` or `overturn`.
    pub fn parse(text: &str) -> Result<Decision> {
        match text {
            "confirm" => Ok(Decision::Confirm),
            "overturn" => Ok(Decision::Overturn),
            other => Err(Error::Usage(format!(
                "decision '{other}': write confirm or overturn"
            ))),
        }
    }

    /// The verdict (violated or not) after this decision on `machine`.
    pub fn applied_to(self, machine_violated: bool) -> bool {
        match self {
            Decision::Confirm => machine_violated,
            Decision::Overturn => !machine_violated,
        }
    }
}

/// A review to store. Comments must already be masked.
#[derive(Debug, Clone, PartialEq)]
pub struct NewReview {
    /// The call reviewed.
    pub call_id: String,
    /// The scorecard of the result reviewed.
    pub scorecard: String,
    /// The rule judged.
    pub rule_id: String,
    /// Who reviewed (a user name).
    pub reviewer: String,
    /// Confirm or overturn.
    pub decision: Decision,
    /// The machine's verdict judged: whether the rule was violated.
    pub machine_violated: bool,
    /// The evidence judged (as stored: masked).
    pub evidence: Vec<Evidence>,
    /// The reviewer's comment (masked).
    pub comment: String,
    /// The result's version: the call's change number when judged.
    pub call_change: i64,
    /// The result's version: when it was scored (epoch seconds).
    pub scored_at: i64,
}

/// A stored review.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Review {
    /// Its id.
    pub id: i64,
    /// The call reviewed.
    pub call_id: String,
    /// The scorecard of the result reviewed.
    pub scorecard: String,
    /// The rule judged.
    pub rule_id: String,
    /// Who reviewed.
    pub reviewer: String,
    /// Confirm or overturn.
    pub decision: Decision,
    /// The machine's verdict judged.
    pub machine_violated: bool,
    /// The verdict after the review.
    pub reviewed_violated: bool,
    /// The evidence judged.
    pub evidence: Vec<Evidence>,
    /// The comment.
    pub comment: String,
    /// The call's change number when judged.
    pub call_change: i64,
    /// When the judged result was scored (epoch seconds).
    pub scored_at: i64,
    /// When the review was made (epoch seconds).
    pub created_at: i64,
}

/// Where an appeal stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AppealStatus {
    /// Waiting for a lead's decision.
    Open,
    /// Accepted: the verdict appealed is reversed.
    Accepted,
    /// Rejected: the verdict stands.
    Rejected,
}

impl AppealStatus {
    /// `open`, `accepted` or `rejected`.
    pub fn as_str(self) -> &'static str {
        match self {
            AppealStatus::Open => "open",
            AppealStatus::Accepted => "accepted",
            AppealStatus::Rejected => "rejected",
        }
    }

    fn parse(text: &str) -> AppealStatus {
        match text {
            "accepted" => AppealStatus::Accepted,
            "rejected" => AppealStatus::Rejected,
            _ => AppealStatus::Open,
        }
    }
}

/// An appeal to store. The reason must already be masked.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAppeal {
    /// The call appealed.
    pub call_id: String,
    /// The scorecard of the result.
    pub scorecard: String,
    /// The rule whose verdict is appealed.
    pub rule_id: String,
    /// Who appealed (a user name).
    pub appellant: String,
    /// The call's agent.
    pub agent_id: Option<String>,
    /// The machine's verdict at the time.
    pub machine_violated: bool,
    /// The verdict appealed against (the reviewed one where reviewed).
    pub appealed_violated: bool,
    /// Why (masked).
    pub reason: String,
}

/// A stored appeal with its decision.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Appeal {
    /// Its id.
    pub id: i64,
    /// The call appealed.
    pub call_id: String,
    /// The scorecard of the result.
    pub scorecard: String,
    /// The rule whose verdict is appealed.
    pub rule_id: String,
    /// Who appealed.
    pub appellant: String,
    /// The call's agent.
    pub agent_id: Option<String>,
    /// The machine's verdict at the time.
    pub machine_violated: bool,
    /// The verdict appealed against.
    pub appealed_violated: bool,
    /// Why.
    pub reason: String,
    /// Open, accepted or rejected.
    pub status: AppealStatus,
    /// Who decided.
    pub decided_by: Option<String>,
    /// When (epoch seconds).
    pub decided_at: Option<i64>,
    /// The decision's comment.
    pub decision_comment: Option<String>,
    /// When the appeal was made (epoch seconds).
    pub created_at: i64,
}

/// Which appeals to list.
#[derive(Debug, Clone, Default)]
pub struct AppealFilter {
    /// Only appeals in this state.
    pub status: Option<AppealStatus>,
    /// Only appeals on calls of this agent.
    pub agent_id: Option<String>,
    /// Only appeals on this call.
    pub call_id: Option<String>,
}

/// A call given to a reviewer by the sampling plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewAssignment {
    /// The call.
    pub call_id: String,
    /// The reviewer (a user name).
    pub reviewer: String,
    /// Why it was picked (`sample`, `fatal`, `low_confidence`,
    /// `low_role_confidence`, `calibration`; several joined by `,`).
    pub reason: String,
    /// The ISO week of the call (`2026-W36`).
    pub week: String,
}

/// A stored assignment, with whether its reviewer has reviewed the call.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Assignment {
    /// The call.
    pub call_id: String,
    /// The reviewer.
    pub reviewer: String,
    /// Why it was picked.
    pub reason: String,
    /// The ISO week of the call.
    pub week: String,
    /// When it was assigned (epoch seconds).
    pub assigned_at: i64,
    /// Whether the reviewer has reviewed at least one rule of the call.
    pub done: bool,
}

/// A result's score with the reviewed verdicts, stored beside the machine's.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ReviewedScore {
    /// The score.
    pub score: f64,
    /// Whether it passes.
    pub passed: bool,
    /// Whether a fatal rule is violated.
    pub fatal: bool,
}

/// A review with the call's columns, for the rules page and backtests.
#[derive(Debug, Clone, PartialEq)]
pub struct ReviewedRow {
    /// The review.
    pub review: Review,
    /// The call's local date.
    pub local_date: Option<String>,
}

/// The version of a stored QA result: the call's change number and when the
/// result was scored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ResultVersion {
    /// The call's content change number.
    pub call_change: i64,
    /// When the result was scored (epoch seconds).
    pub scored_at: i64,
}

const REVIEW_COLUMNS: &str = "r.id, r.call_id, r.scorecard, r.rule_id, r.reviewer, r.decision, \
     r.machine_violated, r.evidence, r.comment, r.call_change, r.scored_at, r.created_at";

fn review_of(row: &Row<'_>) -> rusqlite::Result<(Review, String)> {
    let decision: String = row.get(5)?;
    let decision = if decision == "overturn" {
        Decision::Overturn
    } else {
        Decision::Confirm
    };
    let machine_violated: bool = row.get(6)?;
    Ok((
        Review {
            id: row.get(0)?,
            call_id: row.get(1)?,
            scorecard: row.get(2)?,
            rule_id: row.get(3)?,
            reviewer: row.get(4)?,
            decision,
            machine_violated,
            reviewed_violated: decision.applied_to(machine_violated),
            evidence: Vec::new(),
            comment: row.get(8)?,
            call_change: row.get(9)?,
            scored_at: row.get(10)?,
            created_at: row.get(11)?,
        },
        row.get(7)?,
    ))
}

fn with_evidence((mut review, evidence): (Review, String)) -> Result<Review> {
    review.evidence = serde_json::from_str(&evidence).map_err(|error| {
        Error::Store(format!(
            "review {} holds evidence that does not decode ({error})",
            review.id
        ))
    })?;
    Ok(review)
}

const APPEAL_COLUMNS: &str = "id, call_id, scorecard, rule_id, appellant, agent_id, \
     machine_violated, appealed_violated, reason, status, decided_by, decided_at, \
     decision_comment, created_at";

fn appeal_of(row: &Row<'_>) -> rusqlite::Result<Appeal> {
    let status: String = row.get(9)?;
    Ok(Appeal {
        id: row.get(0)?,
        call_id: row.get(1)?,
        scorecard: row.get(2)?,
        rule_id: row.get(3)?,
        appellant: row.get(4)?,
        agent_id: row.get(5)?,
        machine_violated: row.get(6)?,
        appealed_violated: row.get(7)?,
        reason: row.get(8)?,
        status: AppealStatus::parse(&status),
        decided_by: row.get(10)?,
        decided_at: row.get(11)?,
        decision_comment: row.get(12)?,
        created_at: row.get(13)?,
    })
}

/// Deletes the reviews, appeals and assignments of one call and counts
/// them (inside [`SqliteStore::forget_calls`]'s transaction).
pub(crate) fn forget_call(
    transaction: &rusqlite::Transaction<'_>,
    call_id: &str,
    forgotten: &mut Forgotten,
) -> Result<()> {
    forgotten.reviews +=
        transaction.execute("DELETE FROM reviews WHERE call_id = ?1", [call_id])? as u64;
    forgotten.appeals +=
        transaction.execute("DELETE FROM appeals WHERE call_id = ?1", [call_id])? as u64;
    forgotten.review_assignments += transaction.execute(
        "DELETE FROM review_assignments WHERE call_id = ?1",
        [call_id],
    )? as u64;
    // Derived from the reviews: goes with them.
    transaction.execute("DELETE FROM reviewed_scores WHERE call_id = ?1", [call_id])?;
    Ok(())
}

impl SqliteStore {
    pub fn qa_result_version(
        &self,
        call_id: &str,
        scorecard: &str,
    ) -> Result<Option<ResultVersion>> {
        Ok(self
            .connection
            .query_row(
                "SELECT c.content_seq, q.scored_at FROM qa_results q
                 JOIN calls c ON c.call_id = q.call_id
                 WHERE q.call_id = ?1 AND q.scorecard = ?2",
                [call_id, scorecard],
                |row| {
                    Ok(ResultVersion {
                        call_change: row.get(0)?,
                        scored_at: row.get(1)?,
                    })
                },
            )
            .optional()?)
    }

    pub fn add_review(&mut self, review: &NewReview) -> Result<i64> {
        let evidence = serde_json::to_string(&review.evidence)
            .map_err(|error| Error::Store(format!("call {}: {error}", review.call_id)))?;
        self.connection
            .prepare_cached(
                "INSERT INTO reviews (call_id, scorecard, rule_id, reviewer, decision,
                    machine_violated, evidence, comment, call_change, scored_at, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )?
            .execute(params![
                review.call_id,
                review.scorecard,
                review.rule_id,
                review.reviewer,
                review.decision.as_str(),
                review.machine_violated,
                evidence,
                review.comment,
                review.call_change,
                review.scored_at,
                now_epoch(),
            ])?;
        Ok(self.connection.last_insert_rowid())
    }

    pub fn reviews_of(&self, call_id: &str) -> Result<Vec<Review>> {
        let mut statement = self.connection.prepare_cached(&format!(
            "SELECT {REVIEW_COLUMNS} FROM reviews r WHERE r.call_id = ?1 ORDER BY r.id"
        ))?;
        let rows = statement.query_map([call_id], review_of)?;
        let mut reviews = Vec::new();
        for row in rows {
            reviews.push(with_evidence(row?)?);
        }
        Ok(reviews)
    }

    pub fn for_each_review(
        &self,
        filter: &CallFilter,
        mut visit: impl FnMut(ReviewedRow) -> Result<()>,
    ) -> Result<u64> {
        let (where_clause, values) = filter_sql(filter, "c.");
        let sql = format!(
            "SELECT {REVIEW_COLUMNS}, c.local_date FROM reviews r
             JOIN calls c ON c.call_id = r.call_id {where_clause}
             ORDER BY r.call_id, r.id"
        );
        let mut statement = self.connection.prepare(&sql)?;
        let mut rows = statement.query(rusqlite::params_from_iter(values.iter()))?;
        let mut count = 0;
        while let Some(row) = rows.next()? {
            let review = with_evidence(review_of(row)?)?;
            visit(ReviewedRow {
                review,
                local_date: row.get(12)?,
            })?;
            count += 1;
        }
        Ok(count)
    }

    pub fn add_appeal(&mut self, appeal: &NewAppeal) -> Result<i64> {
        self.connection
            .prepare_cached(
                "INSERT INTO appeals (call_id, scorecard, rule_id, appellant, agent_id,
                    machine_violated, appealed_violated, reason, status, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'open', ?9)",
            )?
            .execute(params![
                appeal.call_id,
                appeal.scorecard,
                appeal.rule_id,
                appeal.appellant,
                appeal.agent_id,
                appeal.machine_violated,
                appeal.appealed_violated,
                appeal.reason,
                now_epoch(),
            ])?;
        Ok(self.connection.last_insert_rowid())
    }

    pub fn appeal(&self, id: i64) -> Result<Option<Appeal>> {
        Ok(self
            .connection
            .query_row(
                &format!("SELECT {APPEAL_COLUMNS} FROM appeals WHERE id = ?1"),
                [id],
                appeal_of,
            )
            .optional()?)
    }

    pub fn appeals(&self, filter: &AppealFilter) -> Result<Vec<Appeal>> {
        let mut clauses = Vec::new();
        let mut values: Vec<String> = Vec::new();
        if let Some(status) = filter.status {
            values.push(status.as_str().to_string());
            clauses.push(format!("status = ?{}", values.len()));
        }
        if let Some(agent_id) = &filter.agent_id {
            values.push(agent_id.clone());
            clauses.push(format!("agent_id = ?{}", values.len()));
        }
        if let Some(call_id) = &filter.call_id {
            values.push(call_id.clone());
            clauses.push(format!("call_id = ?{}", values.len()));
        }
        let where_clause = if clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", clauses.join(" AND "))
        };
        let mut statement = self.connection.prepare(&format!(
            "SELECT {APPEAL_COLUMNS} FROM appeals {where_clause} ORDER BY id DESC"
        ))?;
        let rows = statement.query_map(rusqlite::params_from_iter(values.iter()), appeal_of)?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
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
        let changed = self.connection.execute(
            "UPDATE appeals SET status = ?2, decided_by = ?3, decided_at = ?4,
                decision_comment = ?5
             WHERE id = ?1 AND status = 'open'",
            params![id, status.as_str(), decided_by, now_epoch(), comment],
        )?;
        let appeal = self
            .appeal(id)?
            .ok_or_else(|| Error::Usage(format!("there is no appeal {id}: check the id")))?;
        if changed == 0 {
            return Err(Error::Usage(format!(
                "appeal {id} was already {} by {}: an appeal is decided once",
                appeal.status.as_str(),
                appeal.decided_by.as_deref().unwrap_or("someone")
            )));
        }
        Ok(appeal)
    }

    pub fn add_assignments(&mut self, assignments: &[NewAssignment]) -> Result<usize> {
        let now = now_epoch();
        let transaction = self.connection.transaction()?;
        let mut added = 0;
        {
            let mut insert = transaction.prepare_cached(
                "INSERT OR IGNORE INTO review_assignments (call_id, reviewer, reason, week,
                    assigned_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for assignment in assignments {
                added += insert.execute(params![
                    assignment.call_id,
                    assignment.reviewer,
                    assignment.reason,
                    assignment.week,
                    now
                ])?;
            }
        }
        transaction.commit()?;
        Ok(added)
    }

    pub fn assignments(&self, reviewer: Option<&str>) -> Result<Vec<Assignment>> {
        let mut statement = self.connection.prepare_cached(
            "SELECT a.call_id, a.reviewer, a.reason, a.week, a.assigned_at,
                    EXISTS (SELECT 1 FROM reviews r
                            WHERE r.call_id = a.call_id AND r.reviewer = a.reviewer)
             FROM review_assignments a
             WHERE ?1 IS NULL OR a.reviewer = ?1
             ORDER BY a.week DESC, a.call_id, a.reviewer",
        )?;
        let rows = statement.query_map([reviewer], |row| {
            Ok(Assignment {
                call_id: row.get(0)?,
                reviewer: row.get(1)?,
                reason: row.get(2)?,
                week: row.get(3)?,
                assigned_at: row.get(4)?,
                done: row.get(5)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    pub fn put_reviewed_score(
        &mut self,
        call_id: &str,
        scorecard: &str,
        reviewed: Option<ReviewedScore>,
    ) -> Result<()> {
        match reviewed {
            Some(reviewed) => self.connection.execute(
                "INSERT OR REPLACE INTO reviewed_scores (call_id, scorecard, score, passed,
                    fatal, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    call_id,
                    scorecard,
                    reviewed.score,
                    reviewed.passed,
                    reviewed.fatal,
                    now_epoch()
                ],
            )?,
            None => self.connection.execute(
                "DELETE FROM reviewed_scores WHERE call_id = ?1 AND scorecard = ?2",
                [call_id, scorecard],
            )?,
        };
        Ok(())
    }

    pub fn reviewed_scores_of(&self, call_id: &str) -> Result<Vec<(String, ReviewedScore)>> {
        let mut statement = self.connection.prepare_cached(
            "SELECT scorecard, score, passed, fatal FROM reviewed_scores WHERE call_id = ?1
             ORDER BY scorecard",
        )?;
        let rows = statement.query_map([call_id], |row| {
            Ok((
                row.get(0)?,
                ReviewedScore {
                    score: row.get(1)?,
                    passed: row.get(2)?,
                    fatal: row.get(3)?,
                },
            ))
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    pub fn reviewers(&self) -> Result<Vec<String>> {
        let mut statement = self.connection.prepare_cached(
            "SELECT name FROM users WHERE role IN ('analyst', 'lead') ORDER BY name",
        )?;
        let rows = statement.query_map([], |row| row.get(0))?;
        Ok(rows.collect::<rusqlite::Result<Vec<String>>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use callscope_core::model::{Call, QaResult, Role, Violation};

    fn call(call_id: &str) -> Call {
        serde_json::from_value(serde_json::json!({
            "call_id": call_id,
            "started_at": "2026-09-01T10:00:00+08:00",
            "agent_id": "A01",
            "segments": [{"start": 0.0, "end": 1.0, "role": "agent", "text": "您好"}]
        }))
        .unwrap()
    }

    fn result(call_id: &str, violated: bool) -> QaResult {
        QaResult {
            call_id: call_id.to_string(),
            scorecard: "card".to_string(),
            score: if violated { 90.0 } else { 100.0 },
            passed: true,
            fatal: false,
            violations: if violated {
                vec![Violation {
                    rule_id: "greeting".to_string(),
                    name: "开场白".to_string(),
                    points: 10.0,
                    fatal: false,
                    evidence: vec![Evidence {
                        segment: 0,
                        start: 0.0,
                        end: 1.0,
                        role: Role::Agent,
                        text: "您好".to_string(),
                        matched: "您好".to_string(),
                    }],
                }]
            } else {
                Vec::new()
            },
        }
    }

    fn review(call_id: &str, reviewer: &str, decision: Decision) -> NewReview {
        NewReview {
            call_id: call_id.to_string(),
            scorecard: "card".to_string(),
            rule_id: "greeting".to_string(),
            reviewer: reviewer.to_string(),
            decision,
            machine_violated: true,
            evidence: result(call_id, true).violations[0].evidence.clone(),
            comment: "ok".to_string(),
            call_change: 1,
            scored_at: 2,
        }
    }

    #[test]
    fn reviews_are_kept_with_what_they_judged_and_survive_a_reimport() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("store.db");
        let mut store = SqliteStore::open(&path).unwrap();
        store.put_calls(&[call("C1"), call("C2")]).unwrap();
        store.put_qa_results(&[result("C1", true)]).unwrap();
        let version = store.qa_result_version("C1", "card").unwrap().unwrap();
        assert!(version.call_change > 0 && version.scored_at > 0);
        assert_eq!(store.qa_result_version("C1", "other").unwrap(), None);
        let id = store
            .add_review(&review("C1", "ana", Decision::Overturn))
            .unwrap();
        store
            .add_review(&review("C1", "bob", Decision::Confirm))
            .unwrap();
        drop(store);
        let mut store = SqliteStore::open(&path).unwrap();
        // A re-import replaces the call's row: the reviews stay.
        store.put_calls(&[call("C1")]).unwrap();
        let reviews = store.reviews_of("C1").unwrap();
        assert_eq!(reviews.len(), 2);
        assert_eq!(reviews[0].id, id);
        assert_eq!(reviews[0].decision, Decision::Overturn);
        assert!(reviews[0].machine_violated && !reviews[0].reviewed_violated);
        assert_eq!(reviews[0].evidence[0].matched, "您好");
        assert!(reviews[1].reviewed_violated);
        let mut seen = Vec::new();
        store
            .for_each_review(&CallFilter::default(), |row| {
                seen.push((row.review.reviewer, row.local_date));
                Ok(())
            })
            .unwrap();
        assert_eq!(
            seen,
            vec![
                ("ana".to_string(), Some("2026-09-01".to_string())),
                ("bob".to_string(), Some("2026-09-01".to_string()))
            ]
        );
    }

    #[test]
    fn appeals_are_decided_once() {
        let mut store = SqliteStore::open_in_memory().unwrap();
        store.put_calls(&[call("C1")]).unwrap();
        let id = store
            .add_appeal(&NewAppeal {
                call_id: "C1".to_string(),
                scorecard: "card".to_string(),
                rule_id: "greeting".to_string(),
                appellant: "agent1".to_string(),
                agent_id: Some("A01".to_string()),
                machine_violated: true,
                appealed_violated: true,
                reason: "我说了您好".to_string(),
            })
            .unwrap();
        let open = AppealFilter {
            status: Some(AppealStatus::Open),
            ..AppealFilter::default()
        };
        assert_eq!(store.appeals(&open).unwrap().len(), 1);
        let decided = store.decide_appeal(id, "lead1", true, "同意").unwrap();
        assert_eq!(decided.status, AppealStatus::Accepted);
        assert_eq!(decided.decided_by.as_deref(), Some("lead1"));
        assert!(store.appeals(&open).unwrap().is_empty());
        let again = store.decide_appeal(id, "lead2", false, "no").unwrap_err();
        assert!(again.to_string().contains("already accepted"), "{again}");
        assert!(store.decide_appeal(99, "lead1", true, "").is_err());
        let mine = AppealFilter {
            agent_id: Some("A01".to_string()),
            ..AppealFilter::default()
        };
        assert_eq!(store.appeals(&mine).unwrap()[0].reason, "我说了您好");
    }

    #[test]
    fn assignments_are_idempotent_and_done_when_reviewed() {
        let mut store = SqliteStore::open_in_memory().unwrap();
        store.put_calls(&[call("C1"), call("C2")]).unwrap();
        store.put_qa_results(&[result("C1", true)]).unwrap();
        let assignments = vec![
            NewAssignment {
                call_id: "C1".to_string(),
                reviewer: "ana".to_string(),
                reason: "fatal".to_string(),
                week: "2026-W36".to_string(),
            },
            NewAssignment {
                call_id: "C2".to_string(),
                reviewer: "ana".to_string(),
                reason: "sample".to_string(),
                week: "2026-W36".to_string(),
            },
        ];
        assert_eq!(store.add_assignments(&assignments).unwrap(), 2);
        assert_eq!(store.add_assignments(&assignments).unwrap(), 0);
        store
            .add_review(&review("C1", "ana", Decision::Confirm))
            .unwrap();
        let queue = store.assignments(Some("ana")).unwrap();
        assert_eq!(queue.len(), 2);
        assert!(queue[0].done && !queue[1].done);
        assert!(store.assignments(Some("bob")).unwrap().is_empty());
        assert_eq!(store.assignments(None).unwrap().len(), 2);
        assert!(store.reviewers().unwrap().is_empty());
    }

    #[test]
    fn forgetting_a_call_deletes_its_reviews_appeals_and_assignments() {
        let mut store = SqliteStore::open_in_memory().unwrap();
        store.put_calls(&[call("C1"), call("C2")]).unwrap();
        store
            .add_review(&review("C1", "ana", Decision::Confirm))
            .unwrap();
        store
            .add_review(&review("C2", "ana", Decision::Confirm))
            .unwrap();
        store
            .add_appeal(&NewAppeal {
                call_id: "C1".to_string(),
                scorecard: "card".to_string(),
                rule_id: "greeting".to_string(),
                appellant: "agent1".to_string(),
                agent_id: None,
                machine_violated: true,
                appealed_violated: true,
                reason: String::new(),
            })
            .unwrap();
        store
            .add_assignments(&[NewAssignment {
                call_id: "C1".to_string(),
                reviewer: "ana".to_string(),
                reason: "sample".to_string(),
                week: "2026-W36".to_string(),
            }])
            .unwrap();
        let reviewed = ReviewedScore {
            score: 70.0,
            passed: false,
            fatal: false,
        };
        store
            .put_reviewed_score("C1", "card", Some(reviewed))
            .unwrap();
        assert_eq!(
            store.reviewed_scores_of("C1").unwrap(),
            vec![("card".to_string(), reviewed)]
        );
        let forgotten = store.forget_calls(&["C1".to_string()]).unwrap();
        assert_eq!(
            (
                forgotten.reviews,
                forgotten.appeals,
                forgotten.review_assignments
            ),
            (1, 1, 1)
        );
        assert!(store.reviews_of("C1").unwrap().is_empty());
        assert!(store.reviewed_scores_of("C1").unwrap().is_empty());
        assert_eq!(store.reviews_of("C2").unwrap().len(), 1);
    }
}
