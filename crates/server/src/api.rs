//! The JSON API (README, "Web workspace"): search, a call, its recording.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use callscope_core::error::Error;

use crate::audio::{self, AudioError, RangeRequest};
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
    Query(params): Query<SearchParams>,
) -> Response {
    let shared = Arc::clone(&state);
    match blocking(move || query::search(&shared, &params)).await {
        Ok(page) => Json(page).into_response(),
        Err(error) => library_error(&state, &error),
    }
}

/// `GET /api/calls/{id}`: the masked call and its masked QA results.
pub async fn call(State(state): State<Arc<AppState>>, Path(call_id): Path<String>) -> Response {
    let shared = Arc::clone(&state);
    match blocking(move || query::call(&shared, &call_id)).await {
        Ok(view) => Json(view).into_response(),
        Err(error) => library_error(&state, &error),
    }
}

/// `GET /api/calls/{id}/audio`: the recording, personal data silenced, in
/// byte ranges.
pub async fn audio(
    State(state): State<Arc<AppState>>,
    Path(call_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let shared = Arc::clone(&state);
    let prepared = tokio::task::spawn_blocking(move || audio::silenced_wav(&shared, &call_id))
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
