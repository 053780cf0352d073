//! Reviews (复核), appeals (申诉), the review queue, calibration, the rules
//! page and the digest page.

use std::sync::Arc;

use axum::Router;

use crate::state::AppState;

/// The routes of reviewing and appealing.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
}
