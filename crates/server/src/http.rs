//! The router: routes, the headers every response carries (the content
//! security policy first), errors as responses, and the embedded assets.

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use callscope_core::error::Error;

use crate::state::AppState;
use crate::{api, auth, pages, review};

/// The content security policy of every response: scripts, styles and media
/// only from this server, no inline script or style, no frames, no plugins.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self'; media-src 'self'; connect-src 'self'; \
     form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// The largest request body accepted.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

const STYLE: &str = include_str!("../assets/style.css");
const SCRIPT: &str = include_str!("../assets/app.js");

/// Every route of the web workspace. Every request passes through
/// [`auth::guard`]: it finds the user (a handler takes it as a
/// `CurrentUser` argument), answers 401 or redirects to `/login` when there
/// is none, and refuses (403) any POST, PUT, PATCH or DELETE without the
/// user's CSRF token (header `X-CSRF-Token` or form field `csrf`), so a
/// route added here is protected without doing anything.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/", get(pages::search))
        .route("/calls/{id}", get(pages::call))
        .route("/api/search", get(api::search))
        .route("/api/calls/{id}", get(api::call))
        .route("/api/calls/{id}/audio", get(api::audio))
        .route("/assets/style.css", get(style))
        .route("/assets/app.js", get(script))
        .merge(auth::routes())
        .merge(review::routes())
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state),
            auth::guard,
        ))
        .layer(axum::middleware::map_response(security_headers))
        .with_state(state)
}

async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

async fn style() -> Response {
    asset("text/css; charset=utf-8", STYLE)
}

async fn script() -> Response {
    asset("text/javascript; charset=utf-8", SCRIPT)
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        body,
    )
        .into_response()
}

async fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "not found").into_response()
}

/// The HTTP status for a library error: what the user asked for is wrong
/// (400), not there (404), or the server failed (500).
pub fn status_of(error: &Error) -> StatusCode {
    match error {
        Error::Usage(_) => StatusCode::BAD_REQUEST,
        Error::UnknownCall(_) => StatusCode::NOT_FOUND,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// Runs blocking library work (the store, the index, decoding) off the
/// async workers.
pub async fn blocking<T, F>(work: F) -> Result<T, Error>
where
    F: FnOnce() -> Result<T, Error> + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|error| Error::Usage(format!("the request failed: {error}")))?
}
