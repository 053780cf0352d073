//! Who is asking: the signed-in user of a request (or the one local admin
//! when the workspace has no users and the server listens on loopback).

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::Response;
use axum::Router;

use callscope_core::error::Result;
use callscope_store::users::{AuditEntry, UserRole};

use crate::state::AppState;

/// The user behind a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentUser {
    /// The user's name (`callscope user add NAME`).
    pub name: String,
    /// What they may do.
    pub role: UserRole,
    /// For an agent, the agent id whose calls are theirs.
    pub agent_id: Option<String>,
    /// The token every state-changing request must carry (header
    /// `X-CSRF-Token` or form field `csrf`); pages put it in
    /// `<meta name="csrf-token">` and in forms.
    pub csrf_token: String,
    /// An opaque id of this sign-in (not the session token), for records
    /// kept once per session (audio played).
    pub session: String,
}

impl CurrentUser {
    /// The one local admin of a workspace without users, on loopback.
    pub fn local_admin() -> CurrentUser {
        CurrentUser {
            name: "local".to_string(),
            role: UserRole::Admin,
            agent_id: None,
            csrf_token: String::new(),
            session: "local".to_string(),
        }
    }

    /// For an agent, the only `agent_id` whose calls they may see (their
    /// own); `None` for every other role (they see every call).
    pub fn agent_scope(&self) -> Option<&str> {
        (self.role == UserRole::Agent)
            .then(|| self.agent_id.as_deref().unwrap_or(self.name.as_str()))
    }

    /// Whether this user may see a call of `agent_id` (an agent only their
    /// own; asking for another's call answers 404 like an unknown call).
    pub fn sees_call(&self, agent_id: Option<&str>) -> bool {
        match self.agent_scope() {
            Some(own) => agent_id == Some(own),
            None => true,
        }
    }

    /// Whether this user may play recordings (everyone but a viewer).
    pub fn may_play_audio(&self) -> bool {
        self.role != UserRole::Viewer
    }
}

/// What the pages show of the user (base.html's `current_user`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct UserView {
    /// The user's name.
    pub name: String,
    /// The role's name.
    pub role: &'static str,
    /// Whether this is the local admin of a workspace without users (no
    /// sign-out).
    pub local: bool,
    /// The CSRF token for forms and scripts.
    pub csrf_token: String,
}

impl UserView {
    /// The view of `user`.
    pub fn of(user: &CurrentUser) -> UserView {
        UserView {
            name: user.name.clone(),
            role: user.role.as_str(),
            local: user.session == "local",
            csrf_token: user.csrf_token.clone(),
        }
    }
}

/// Appends a record to the audit log: `user` did `action` (`search`,
/// `call.open`, `audio.play`, `review.add`, ...) to `target` (a call id, a
/// query). The target is masked with the workspace's policy before it is
/// stored, so the log never holds personal data in clear. Blocking (it
/// writes the store): call it from a blocking task.
pub fn audit(state: &AppState, user: &CurrentUser, action: &str, target: &str) -> Result<()> {
    audit_detail(state, user, action, target, None)
}

/// [`audit`] with a detail (a verdict, a reason), masked like the target.
pub fn audit_detail(
    state: &AppState,
    user: &CurrentUser,
    action: &str,
    target: &str,
    detail: Option<&str>,
) -> Result<()> {
    let target = state.redactor.mask_text(target);
    let detail = detail.map(|detail| state.redactor.mask_text(detail));
    let store = state.workspace.open_existing_store()?;
    store.append_audit(&AuditEntry {
        user: &user.name,
        action,
        target: Some(&target),
        detail: detail.as_deref(),
    })
}

impl FromRequestParts<Arc<AppState>> for CurrentUser {
    type Rejection = Response;

    async fn from_request_parts(
        _parts: &mut Parts,
        _state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        Ok(CurrentUser::local_admin())
    }
}

/// The routes of signing in and out.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
}
