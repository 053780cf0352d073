//! Reviews (复核) of the machine's QA verdicts, appeals (申诉) against them,
//! and the review queue's assignments (docs/design/web.md).

/// The tables of schema version 7.
pub(crate) const MIGRATION: &str = "CREATE TABLE reviews (
        id          INTEGER PRIMARY KEY,
        call_id     TEXT NOT NULL REFERENCES calls(call_id) ON DELETE CASCADE,
        scorecard   TEXT NOT NULL,
        rule_id     TEXT NOT NULL,
        reviewer    TEXT NOT NULL,
        verdict     TEXT NOT NULL,
        comment     TEXT,
        body        TEXT NOT NULL,
        created_at  INTEGER NOT NULL
     );
     CREATE INDEX reviews_call ON reviews(call_id);
     CREATE TABLE appeals (
        id          INTEGER PRIMARY KEY,
        call_id     TEXT NOT NULL REFERENCES calls(call_id) ON DELETE CASCADE,
        scorecard   TEXT NOT NULL,
        rule_id     TEXT NOT NULL,
        body        TEXT NOT NULL,
        created_at  INTEGER NOT NULL
     );
     CREATE INDEX appeals_call ON appeals(call_id);
     CREATE TABLE review_assignments (
        call_id     TEXT NOT NULL REFERENCES calls(call_id) ON DELETE CASCADE,
        reviewer    TEXT NOT NULL,
        reason      TEXT NOT NULL,
        assigned_at INTEGER NOT NULL,
        PRIMARY KEY (call_id, reviewer)
     );
";
