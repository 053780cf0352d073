//! Users, sessions and the audit log on PostgreSQL, with the embedded
//! store's meaning (`crate::users`). The tables come with the reviews'
//! migration (`reviews::MIGRATION`, schema version 2 -> 3).

use postgres::types::ToSql;
use postgres::Row;

use callscope_core::error::{Error, Result};

use crate::users::{AuditEntry, AuditFilter, AuditRecord, Session, User, UserRole};

use super::{now_epoch, pg, PgStore};

/// A user from `row`'s columns `offset..offset + 4` (name, role, agent_id,
/// created_at).
fn user_from_row(row: &Row, offset: usize) -> Result<User> {
    let role: &str = row.get(offset + 1);
    let role = UserRole::parse(role)
        .map_err(|error| Error::Store(format!("a stored user's role does not read: {error}")))?;
    Ok(User {
        name: row.get(offset),
        role,
        agent_id: row.get(offset + 2),
        created_at: row.get(offset + 3),
    })
}

impl PgStore {
    pub fn add_user(
        &mut self,
        name: &str,
        role: UserRole,
        agent_id: Option<&str>,
        password_hash: &str,
    ) -> Result<User> {
        let created_at = now_epoch();
        // One statement: two users added together under one name cannot
        // both pass a check made before the insert.
        let inserted = self
            .client()?
            .execute(
                "INSERT INTO users (name, role, agent_id, password_hash, created_at)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (name) DO NOTHING",
                &[
                    &name,
                    &role.as_str(),
                    &agent_id,
                    &password_hash,
                    &created_at,
                ],
            )
            .map_err(pg)?;
        if inserted == 0 {
            return Err(Error::Usage(format!(
                "user '{name}' exists already: `callscope user passwd {name}` gives a new \
                 password, `callscope user remove {name}` removes it"
            )));
        }
        Ok(User {
            name: name.to_string(),
            role,
            agent_id: agent_id.map(str::to_string),
            created_at,
        })
    }

    pub fn users(&mut self) -> Result<Vec<User>> {
        let rows = self
            .client()?
            .query(
                "SELECT name, role, agent_id, created_at FROM users ORDER BY name COLLATE \"C\"",
                &[],
            )
            .map_err(pg)?;
        rows.iter().map(|row| user_from_row(row, 0)).collect()
    }

    pub fn user(&mut self, name: &str) -> Result<Option<User>> {
        let row = self
            .client()?
            .query_opt(
                "SELECT name, role, agent_id, created_at FROM users WHERE name = $1",
                &[&name],
            )
            .map_err(pg)?;
        row.map(|row| user_from_row(&row, 0)).transpose()
    }

    pub fn user_counts(&mut self) -> Result<(u64, bool)> {
        let row = self
            .client()?
            .query_one(
                "SELECT COUNT(*), COALESCE(BOOL_OR(role = 'admin'), FALSE) FROM users",
                &[],
            )
            .map_err(pg)?;
        Ok((row.get::<_, i64>(0) as u64, row.get(1)))
    }

    pub fn password_hash(&mut self, name: &str) -> Result<Option<String>> {
        let row = self
            .client()?
            .query_opt("SELECT password_hash FROM users WHERE name = $1", &[&name])
            .map_err(pg)?;
        Ok(row.map(|row| row.get(0)))
    }

    pub fn set_password_hash(&mut self, name: &str, password_hash: &str) -> Result<bool> {
        self.in_transaction(|transaction| {
            let changed = transaction
                .execute(
                    "UPDATE users SET password_hash = $2 WHERE name = $1",
                    &[&name, &password_hash],
                )
                .map_err(pg)?;
            transaction
                .execute("DELETE FROM sessions WHERE user_name = $1", &[&name])
                .map_err(pg)?;
            Ok(changed > 0)
        })
    }

    pub fn remove_user(&mut self, name: &str) -> Result<bool> {
        self.in_transaction(|transaction| {
            transaction
                .execute("DELETE FROM sessions WHERE user_name = $1", &[&name])
                .map_err(pg)?;
            let removed = transaction
                .execute("DELETE FROM users WHERE name = $1", &[&name])
                .map_err(pg)?;
            Ok(removed > 0)
        })
    }

    pub fn create_session(
        &mut self,
        token_hash: &str,
        user_name: &str,
        csrf_token: &str,
        expires_at: i64,
    ) -> Result<()> {
        self.client()?
            .execute(
                "INSERT INTO sessions (token_hash, user_name, csrf_token, created_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5)",
                &[
                    &token_hash,
                    &user_name,
                    &csrf_token,
                    &now_epoch(),
                    &expires_at,
                ],
            )
            .map_err(pg)?;
        Ok(())
    }

    pub fn session(
        &mut self,
        token_hash: &str,
        now: i64,
        created_after: i64,
    ) -> Result<Option<Session>> {
        let row = self
            .client()?
            .query_opt(
                "SELECT u.name, u.role, u.agent_id, u.created_at,
                        s.token_hash, s.csrf_token, s.created_at, s.expires_at
                 FROM sessions s JOIN users u ON u.name = s.user_name
                 WHERE s.token_hash = $1 AND s.expires_at > $2 AND s.created_at > $3",
                &[&token_hash, &now, &created_after],
            )
            .map_err(pg)?;
        row.map(|row| {
            Ok(Session {
                user: user_from_row(&row, 0)?,
                token_hash: row.get(4),
                csrf_token: row.get(5),
                created_at: row.get(6),
                expires_at: row.get(7),
            })
        })
        .transpose()
    }

    pub fn touch_session(&mut self, token_hash: &str, expires_at: i64) -> Result<()> {
        self.client()?
            .execute(
                "UPDATE sessions SET expires_at = $2 WHERE token_hash = $1",
                &[&token_hash, &expires_at],
            )
            .map_err(pg)?;
        Ok(())
    }

    pub fn delete_session(&mut self, token_hash: &str) -> Result<()> {
        self.client()?
            .execute("DELETE FROM sessions WHERE token_hash = $1", &[&token_hash])
            .map_err(pg)?;
        Ok(())
    }

    pub fn delete_expired_sessions(&mut self, now: i64, created_before: i64) -> Result<u64> {
        self.client()?
            .execute(
                "DELETE FROM sessions WHERE expires_at <= $1 OR created_at <= $2",
                &[&now, &created_before],
            )
            .map_err(pg)
    }

    pub fn append_audit(&mut self, entry: &AuditEntry<'_>) -> Result<()> {
        self.client()?
            .execute(
                "INSERT INTO audit_log (at, user_name, action, target, detail)
                 VALUES ($1, $2, $3, $4, $5)",
                &[
                    &now_epoch(),
                    &entry.user,
                    &entry.action,
                    &entry.target,
                    &entry.detail,
                ],
            )
            .map_err(pg)?;
        Ok(())
    }

    pub fn audit_log(&mut self, filter: &AuditFilter) -> Result<Vec<AuditRecord>> {
        let mut clauses = Vec::new();
        let mut values: Vec<&(dyn ToSql + Sync)> = Vec::new();
        if let Some(user) = &filter.user {
            values.push(user);
            clauses.push(format!("user_name = ${}", values.len()));
        }
        if let Some(since) = &filter.since {
            values.push(since);
            clauses.push(format!("at >= ${}", values.len()));
        }
        if let Some(action) = &filter.action {
            values.push(action);
            clauses.push(format!("action = ${}", values.len()));
        }
        let condition = if clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", clauses.join(" AND "))
        };
        // The most recent `limit` records (all for 0), returned oldest first.
        let limit = if filter.limit == 0 {
            "ALL".to_string()
        } else {
            i64::try_from(filter.limit).unwrap_or(i64::MAX).to_string()
        };
        let sql = format!(
            "SELECT id, at, user_name, action, target, detail FROM audit_log {condition}
             ORDER BY id DESC LIMIT {limit}"
        );
        let rows = self.client()?.query(&sql, &values).map_err(pg)?;
        let mut records: Vec<AuditRecord> = rows
            .iter()
            .map(|row| AuditRecord {
                id: row.get(0),
                at: row.get(1),
                user: row.get(2),
                action: row.get(3),
                target: row.get(4),
                detail: row.get(5),
            })
            .collect();
        records.reverse();
        Ok(records)
    }
}
