//! The JSON API (docs/web.md, "JSON API"): search, a call, its recording.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use callscope_core::error::Error;

use crate::audio::{self, AudioError, RangeRequest};
use crate::auth::CurrentUser;
use crate::http::{blocking, status_of};
use crate::query::{self, SearchParams};
use crate::state::AppState;

/// An error as JSON: `{"error": "..."}` with the matching status. Messages
/// are masked: a query may hold personal data.
fn error_response(state: &AppState, status: StatusCode, message: &str) -> Response {
    let error = serde_json::json!({ "error": state.redactor.mask_text(message) });
    (status, Json(error)).into_response()
}

fn library_error(state: &AppState, error: &Error) -> Response {
    error_response(state, status_of(error), &error.to_string())
}

/// `GET /api/search`: one page of results.
pub async fn search(
    State(state): State<Arc<AppState>>,
    user: CurrentUser,
    Query(params): Query<SearchParams>,
) -> Response {
    let shared = Arc::clone(&state);
    match blocking(move || query::search(&shared, &user, &params)).await {
        Ok(page) => Json(page).into_response(),
        Err(error) => library_error(&state, &error),
    }
}

/// `GET /api/calls/{id}`: the masked call and its masked QA results.
pub async fn call(
    State(state): State<Arc<AppState>>,
    user: CurrentUser,
    Path(call_id): Path<String>,
) -> Response {
    let shared = Arc::clone(&state);
    match blocking(move || query::call(&shared, &user, &call_id)).await {
        Ok(view) => Json(view).into_response(),
        Err(error) => library_error(&state, &error),
    }
}

/// What `/api/calls/{id}/audio` takes in its query.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct AudioParams {
    /// `1`: the recording as it is, personal data audible (only for the
    /// roles of `[serve] unmasked_audio_roles`).
    pub unmasked: String,
}

/// `GET /api/calls/{id}/audio`: the recording, personal data silenced
/// (unless `?unmasked=1` and the role may), in byte ranges. A viewer gets
/// 403, another agent's call 404.
pub async fn audio(
    State(state): State<Arc<AppState>>,
    user: CurrentUser,
    Path(call_id): Path<String>,
    Query(params): Query<AudioParams>,
    headers: HeaderMap,
) -> Response {
    if !user.may_play_audio() {
        return error_response(
            &state,
            StatusCode::FORBIDDEN,
            "your role may not play recordings: ask an admin for the analyst role",
        );
    }
    let unmasked = matches!(params.unmasked.trim(), "1" | "true" | "yes");
    if unmasked && !state.serve.unmasked_audio_roles.contains(&user.role) {
        return error_response(
            &state,
            StatusCode::FORBIDDEN,
            "your role may not play recordings with personal data audible \
             ([serve] unmasked_audio_roles in callscope.toml): leave out unmasked=1",
        );
    }
    let shared = Arc::clone(&state);
    let prepared = tokio::task::spawn_blocking(move || {
        audio::prepared_wav(&shared, &user, &call_id, !unmasked)
    })
    .await
    .map_err(|error| AudioError::Other(Error::Usage(format!("the request failed: {error}"))))
    .and_then(|result| result);
    let wav = match prepared {
        Ok(wav) => wav,
        Err(AudioError::UnknownCall(call_id)) => {
            return library_error(&state, &Error::UnknownCall(call_id))
        }
        Err(AudioError::NoRecording(message)) => {
            return error_response(&state, StatusCode::NOT_FOUND, &message)
        }
        Err(AudioError::Other(error)) => return library_error(&state, &error),
    };
    let length = wav.len() as u64;
    let range = headers
        .get(header::RANGE)
        .and_then(|value| value.to_str().ok());
    let common = [
        (header::CONTENT_TYPE, "audio/wav".to_string()),
        (header::ACCEPT_RANGES, "bytes".to_string()),
    ];
    match audio::parse_range(range, length) {
        RangeRequest::Whole => (
            StatusCode::OK,
            common,
            [(header::CONTENT_LENGTH, length.to_string())],
            Body::from(wav.to_vec()),
        )
            .into_response(),
        RangeRequest::Part { first, last } => {
            let part = wav
                .get(first as usize..=last as usize)
                .map(<[u8]>::to_vec)
                .unwrap_or_default();
            (
                StatusCode::PARTIAL_CONTENT,
                common,
                [
                    (
                        header::CONTENT_RANGE,
                        format!("bytes {first}-{last}/{length}"),
                    ),
                    (header::CONTENT_LENGTH, part.len().to_string()),
                ],
                Body::from(part),
            )
                .into_response()
        }
        RangeRequest::Unsatisfiable => (
            StatusCode::RANGE_NOT_SATISFIABLE,
            common,
            [(header::CONTENT_RANGE, format!("bytes */{length}"))],
            Body::empty(),
        )
            .into_response(),
    }
}
