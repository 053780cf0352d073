//! The web workspace's users, their sessions and the audit log
//! (docs/design/web.md, "Users, sessions and the audit log").
//!
//! The store keeps what it is given: password hashes (argon2 PHC strings
//! made by the server crate), session token hashes (never the tokens), and
//! audit records already masked by the caller. The audit log is never
//! touched by `forget` or `purge`: it holds call ids, user names and masked
//! text, no personal data.

use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};

use callscope_core::error::{Error, Result};

use crate::SqliteStore;

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
     CREATE INDEX sessions_user ON sessions(user_name);
     CREATE TABLE audit_log (
        id         INTEGER PRIMARY KEY,
        at         INTEGER NOT NULL,
        user_name  TEXT NOT NULL,
        action     TEXT NOT NULL,
        target     TEXT,
        detail     TEXT
     );
     CREATE INDEX audit_log_at ON audit_log(at);
     CREATE INDEX audit_log_user ON audit_log(user_name, at);
";

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

impl UserRole {
    /// Every role, most powerful first.
    pub const ALL: [UserRole; 5] = [
        UserRole::Admin,
        UserRole::Lead,
        UserRole::Analyst,
        UserRole::Agent,
        UserRole::Viewer,
    ];

    /// The role's name as the command line and the store write it.
    pub fn as_str(self) -> &'static str {
        match self {
            UserRole::Admin => "admin",
            UserRole::Lead => "lead",
            UserRole::Analyst => "analyst",
            UserRole::Agent => "agent",
            UserRole::Viewer => "viewer",
        }
    }

    /// Reads a role name (`admin`, `lead`, `analyst`, `agent`, `viewer`).
    pub fn parse(name: &str) -> Result<UserRole> {
        UserRole::ALL
            .into_iter()
            .find(|role| role.as_str() == name.trim().to_ascii_lowercase())
            .ok_or_else(|| {
                Error::Usage(format!(
                    "unknown role '{name}': write one of admin, lead, analyst, agent, viewer"
                ))
            })
    }
}

impl std::fmt::Display for UserRole {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// A user as stored (without the password hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    /// The sign-in name.
    pub name: String,
    /// What they may do.
    pub role: UserRole,
    /// For an agent: the `agent_id` of their calls.
    pub agent_id: Option<String>,
    /// When the user was added (Unix seconds).
    pub created_at: i64,
}

/// A signed-in session as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// SHA-256 of the session token (hex); the token itself is never stored.
    pub token_hash: String,
    /// The user it belongs to.
    pub user: User,
    /// The token every state-changing request of this session must carry.
    pub csrf_token: String,
    /// When the user signed in (Unix seconds).
    pub created_at: i64,
    /// When the session ends unless used before (Unix seconds).
    pub expires_at: i64,
}

/// One audit record to write; the caller masks the text first.
#[derive(Debug, Clone, Default)]
pub struct AuditEntry<'a> {
    /// Who did it (a user name, `local` for the local admin, `cli` for the
    /// command line, `token` for `--token` requests).
    pub user: &'a str,
    /// What was done (`search`, `call.open`, `audio.play`, `login`, ...).
    pub action: &'a str,
    /// What it was done to (a call id, a masked query, a user name).
    pub target: Option<&'a str>,
    /// More about it (masked).
    pub detail: Option<&'a str>,
}

/// One audit record as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditRecord {
    /// Its number, in order of writing.
    pub id: i64,
    /// When (Unix seconds).
    pub at: i64,
    /// Who.
    pub user: String,
    /// What was done.
    pub action: String,
    /// What it was done to.
    pub target: Option<String>,
    /// More about it.
    pub detail: Option<String>,
}

/// Which audit records to read; empty fields do not filter.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Only this user's records.
    pub user: Option<String>,
    /// Only records at or after this time (Unix seconds).
    pub since: Option<i64>,
    /// Only this action.
    pub action: Option<String>,
    /// At most this many records, the most recent ones (0: no limit).
    pub limit: usize,
}

fn user_from_row(row: &rusqlite::Row<'_>, offset: usize) -> rusqlite::Result<User> {
    let role: String = row.get(offset + 1)?;
    let role = UserRole::parse(&role).map_err(|error| {
        rusqlite::Error::FromSqlConversionFailure(
            offset + 1,
            rusqlite::types::Type::Text,
            error.to_string().into(),
        )
    })?;
    Ok(User {
        name: row.get(offset)?,
        role,
        agent_id: row.get(offset + 2)?,
        created_at: row.get(offset + 3)?,
    })
}

impl SqliteStore {
    pub fn add_user(
        &self,
        name: &str,
        role: UserRole,
        agent_id: Option<&str>,
        password_hash: &str,
    ) -> Result<User> {
        if self.user(name)?.is_some() {
            return Err(Error::Usage(format!(
                "user '{name}' exists already: `callscope user passwd {name}` gives a new \
                 password, `callscope user remove {name}` removes it"
            )));
        }
        let created_at = crate::now_epoch();
        self.connection.execute(
            "INSERT INTO users (name, role, agent_id, password_hash, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![name, role.as_str(), agent_id, password_hash, created_at],
        )?;
        Ok(User {
            name: name.to_string(),
            role,
            agent_id: agent_id.map(str::to_string),
            created_at,
        })
    }

    pub fn users(&self) -> Result<Vec<User>> {
        let mut statement = self
            .connection
            .prepare("SELECT name, role, agent_id, created_at FROM users ORDER BY name")?;
        let rows = statement.query_map([], |row| user_from_row(row, 0))?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    pub fn user(&self, name: &str) -> Result<Option<User>> {
        Ok(self
            .connection
            .query_row(
                "SELECT name, role, agent_id, created_at FROM users WHERE name = ?1",
                [name],
                |row| user_from_row(row, 0),
            )
            .optional()?)
    }

    pub fn user_counts(&self) -> Result<(u64, bool)> {
        Ok(self.connection.query_row(
            "SELECT COUNT(*), COALESCE(SUM(role = 'admin'), 0) > 0 FROM users",
            [],
            |row| Ok((row.get::<_, i64>(0)? as u64, row.get::<_, bool>(1)?)),
        )?)
    }

    pub fn password_hash(&self, name: &str) -> Result<Option<String>> {
        Ok(self
            .connection
            .query_row(
                "SELECT password_hash FROM users WHERE name = ?1",
                [name],
                |row| row.get(0),
            )
            .optional()?)
    }

    pub fn set_password_hash(&mut self, name: &str, password_hash: &str) -> Result<bool> {
        let transaction = self.connection.transaction()?;
        let changed = transaction.execute(
            "UPDATE users SET password_hash = ?2 WHERE name = ?1",
            params![name, password_hash],
        )?;
        transaction.execute("DELETE FROM sessions WHERE user_name = ?1", [name])?;
        transaction.commit()?;
        Ok(changed > 0)
    }

    pub fn remove_user(&mut self, name: &str) -> Result<bool> {
        let transaction = self.connection.transaction()?;
        transaction.execute("DELETE FROM sessions WHERE user_name = ?1", [name])?;
        let removed = transaction.execute("DELETE FROM users WHERE name = ?1", [name])?;
        transaction.commit()?;
        Ok(removed > 0)
    }

    pub fn create_session(
        &self,
        token_hash: &str,
        user_name: &str,
        csrf_token: &str,
        expires_at: i64,
    ) -> Result<()> {
        self.connection.execute(
            "INSERT INTO sessions (token_hash, user_name, csrf_token, created_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                token_hash,
                user_name,
                csrf_token,
                crate::now_epoch(),
                expires_at
            ],
        )?;
        Ok(())
    }

    pub fn session(
        &self,
        token_hash: &str,
        now: i64,
        created_after: i64,
    ) -> Result<Option<Session>> {
        Ok(self
            .connection
            .query_row(
                "SELECT u.name, u.role, u.agent_id, u.created_at,
                        s.token_hash, s.csrf_token, s.created_at, s.expires_at
                 FROM sessions s JOIN users u ON u.name = s.user_name
                 WHERE s.token_hash = ?1 AND s.expires_at > ?2 AND s.created_at > ?3",
                params![token_hash, now, created_after],
                |row| {
                    Ok(Session {
                        user: user_from_row(row, 0)?,
                        token_hash: row.get(4)?,
                        csrf_token: row.get(5)?,
                        created_at: row.get(6)?,
                        expires_at: row.get(7)?,
                    })
                },
            )
            .optional()?)
    }

    pub fn touch_session(&self, token_hash: &str, expires_at: i64) -> Result<()> {
        self.connection.execute(
            "UPDATE sessions SET expires_at = ?2 WHERE token_hash = ?1",
            params![token_hash, expires_at],
        )?;
        Ok(())
    }

    pub fn delete_session(&self, token_hash: &str) -> Result<()> {
        self.connection
            .execute("DELETE FROM sessions WHERE token_hash = ?1", [token_hash])?;
        Ok(())
    }

    pub fn delete_expired_sessions(&self, now: i64, created_before: i64) -> Result<u64> {
        Ok(self.connection.execute(
            "DELETE FROM sessions WHERE expires_at <= ?1 OR created_at <= ?2",
            params![now, created_before],
        )? as u64)
    }

    pub fn append_audit(&self, entry: &AuditEntry<'_>) -> Result<()> {
        self.connection.execute(
            "INSERT INTO audit_log (at, user_name, action, target, detail)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                crate::now_epoch(),
                entry.user,
                entry.action,
                entry.target,
                entry.detail
            ],
        )?;
        Ok(())
    }

    pub fn audit_log(&self, filter: &AuditFilter) -> Result<Vec<AuditRecord>> {
        let mut clauses = Vec::new();
        let mut values: Vec<rusqlite::types::Value> = Vec::new();
        if let Some(user) = &filter.user {
            values.push(user.clone().into());
            clauses.push(format!("user_name = ?{}", values.len()));
        }
        if let Some(since) = filter.since {
            values.push(since.into());
            clauses.push(format!("at >= ?{}", values.len()));
        }
        if let Some(action) = &filter.action {
            values.push(action.clone().into());
            clauses.push(format!("action = ?{}", values.len()));
        }
        let condition = if clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", clauses.join(" AND "))
        };
        let limit = if filter.limit == 0 {
            -1
        } else {
            i64::try_from(filter.limit).unwrap_or(i64::MAX)
        };
        let sql = format!(
            "SELECT id, at, user_name, action, target, detail FROM audit_log {condition}
             ORDER BY id DESC LIMIT {limit}"
        );
        let mut statement = self.connection.prepare(&sql)?;
        let rows = statement.query_map(rusqlite::params_from_iter(values), |row| {
            Ok(AuditRecord {
                id: row.get(0)?,
                at: row.get(1)?,
                user: row.get(2)?,
                action: row.get(3)?,
                target: row.get(4)?,
                detail: row.get(5)?,
            })
        })?;
        let mut records = rows.collect::<rusqlite::Result<Vec<_>>>()?;
        records.reverse();
        Ok(records)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_sessions_and_the_audit_log() {
        let mut store = SqliteStore::open_in_memory().unwrap();
        assert_eq!(store.user_counts().unwrap(), (0, false));
        store
            .add_user("li", UserRole::Agent, Some("A01"), "$argon2id$x")
            .unwrap();
        assert!(store.add_user("li", UserRole::Admin, None, "h").is_err());
        assert_eq!(store.user_counts().unwrap(), (1, false));
        store.add_user("root", UserRole::Admin, None, "h").unwrap();
        assert_eq!(store.user_counts().unwrap(), (2, true));
        assert_eq!(store.users().unwrap().len(), 2);
        assert_eq!(
            store.user("li").unwrap().unwrap().agent_id.as_deref(),
            Some("A01")
        );

        store.create_session("hash", "li", "csrf", 1_000).unwrap();
        let session = store.session("hash", 999, 0).unwrap().unwrap();
        assert_eq!(session.user.role, UserRole::Agent);
        assert_eq!(session.csrf_token, "csrf");
        assert!(store.session("hash", 1_000, 0).unwrap().is_none());
        store.touch_session("hash", 2_000).unwrap();
        assert!(store.session("hash", 1_500, 0).unwrap().is_some());
        assert!(store.set_password_hash("li", "new").unwrap());
        assert!(store.session("hash", 1_500, 0).unwrap().is_none());
        assert_eq!(store.password_hash("li").unwrap().as_deref(), Some("new"));

        store.create_session("h2", "li", "c", i64::MAX).unwrap();
        assert!(store.remove_user("li").unwrap());
        assert!(!store.remove_user("li").unwrap());
        assert!(store.session("h2", 0, 0).unwrap().is_none());

        for (user, action) in [("root", "search"), ("li", "login"), ("root", "call.open")] {
            store
                .append_audit(&AuditEntry {
                    user,
                    action,
                    target: Some("C1"),
                    detail: None,
                })
                .unwrap();
        }
        let all = store.audit_log(&AuditFilter::default()).unwrap();
        assert_eq!(all.len(), 3);
        assert_eq!(all[0].action, "search");
        let root = store
            .audit_log(&AuditFilter {
                user: Some("root".into()),
                limit: 1,
                ..AuditFilter::default()
            })
            .unwrap();
        assert_eq!(root.len(), 1);
        assert_eq!(root[0].action, "call.open");
        assert_eq!(UserRole::parse("Viewer").unwrap(), UserRole::Viewer);
        assert!(UserRole::parse("boss").is_err());
    }
}
