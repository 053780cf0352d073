//! The web workspace's users, their sessions and the audit log
//! (docs/design/web.md).

/// The tables of schema version 6.
pub(crate) const MIGRATION: &str = "CREATE TABLE users (
        name           TEXT PRIMARY KEY NOT NULL,
        role           TEXT NOT NULL,
        agent_id       TEXT,
        password_hash  TEXT NOT NULL,
        created_at     INTEGER NOT NULL
     );
     CREATE TABLE sessions (
        token_hash  TEXT PRIMARY KEY NOT NULL,
        user_name   TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
        csrf_token  TEXT NOT NULL,
        created_at  INTEGER NOT NULL,
        expires_at  INTEGER NOT NULL
     );
     CREATE TABLE audit_log (
        id         INTEGER PRIMARY KEY,
        at         INTEGER NOT NULL,
        user_name  TEXT NOT NULL,
        action     TEXT NOT NULL,
        target     TEXT,
        detail     TEXT
     );
";

use serde::{Deserialize, Serialize};

/// What a user of the web workspace may do (README, "Web workspace").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UserRole {
    /// Everything, users included.
    Admin,
    /// Team lead: reviews, decides appeals, sees every call.
    Lead,
    /// QA analyst (reviewer): search, listen, review.
    Analyst,
    /// Agent: only their own calls and results; appeals them.
    Agent,
    /// Product team: search and the digest, no audio.
    Viewer,
}
