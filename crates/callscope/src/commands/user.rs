//! `callscope user`: the web workspace's users (add, list, remove, passwd).
//! Passwords are random, printed once and stored only as argon2 hashes
//! (`callscope_server::auth`).

use crate::cli::{UserArgs, UserCommand};
use crate::output::{Outcome, Output};
use callscope_core::error::Result;
use callscope_server::auth;
use callscope_store::users::UserRole;
use callscope_store::workspace::Workspace;

pub(super) fn run(workspace: &Workspace, args: &UserArgs, output: Output) -> Result<Outcome> {
    match &args.which {
        UserCommand::Add {
            name,
            role,
            agent_id,
        } => {
            let role = UserRole::parse(role)?;
            let (user, password) = auth::add_user(workspace, name, role, agent_id.as_deref())?;
            if output.json {
                output.json_line(&serde_json::json!({
                    "name": user.name,
                    "role": user.role,
                    "agent_id": user.agent_id,
                    "password": password,
                }));
            } else {
                let agent = user
                    .agent_id
                    .as_deref()
                    .map(|agent_id| format!(", agent id {agent_id}"))
                    .unwrap_or_default();
                crate::outln!("added {} ({}{agent})", user.name, user.role);
                crate::outln!("password: {password}");
                crate::outln!(
                    "(shown once: hand it over now; `callscope user passwd {}` makes a new one)",
                    user.name
                );
            }
        }
        UserCommand::List => {
            let users = workspace.open_existing_store()?.users()?;
            if output.json {
                for user in &users {
                    output.json_line(user);
                }
            } else if users.is_empty() {
                crate::outln!(
                    "no users: on loopback the web workspace is one local admin \
                     (`callscope user add NAME --role admin` adds one)"
                );
            } else {
                crate::outln!("{:<24} {:<8} {:<12} added", "name", "role", "agent id");
                for user in &users {
                    crate::outln!(
                        "{:<24} {:<8} {:<12} {}",
                        user.name,
                        user.role,
                        user.agent_id.as_deref().unwrap_or("-"),
                        added(user.created_at)
                    );
                }
            }
        }
        UserCommand::Remove { name } => {
            auth::remove_user(workspace, name)?;
            if output.json {
                output.json_line(&serde_json::json!({ "removed": name }));
            } else {
                crate::outln!("removed {name} (their sessions ended; their audit records stay)");
            }
        }
        UserCommand::Passwd { name } => {
            let password = auth::reset_password(workspace, name)?;
            if output.json {
                output.json_line(&serde_json::json!({ "name": name, "password": password }));
            } else {
                crate::outln!("new password for {name}: {password}");
                crate::outln!("(shown once; their sessions ended)");
            }
        }
    }
    Ok(Outcome::ok())
}

fn added(epoch: i64) -> String {
    chrono::DateTime::from_timestamp(epoch, 0)
        .map(|time| time.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|| "-".to_string())
}
