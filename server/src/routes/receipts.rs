//! `/sms/receipts/{provider}`: delivery receipts posted back by the SMS provider (or the
//! operator's relay), signed with `sms_callback_secret`; no bearer token.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use fieldproof_core::service::reminders;
use fieldproof_core::web::{Json, Path};
use fieldproof_core::{ApiError, App};
use serde::Serialize;

/// Receipt routes.
pub fn router() -> Router<App> {
    Router::new().route("/sms/receipts/{provider}", post(receive))
}

/// What became of a receipt post.
#[derive(Debug, Serialize)]
struct ReceiptAnswer {
    /// Receipts in the post.
    received: usize,
    /// Receipts filed on a message of ours.
    matched: usize,
}

async fn receive(
    State(app): State<App>,
    Path(provider): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<ReceiptAnswer>, ApiError> {
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge {
                limit: app.settings.max_json_bytes as u64,
            }
        } else {
            ApiError::Malformed(e.body_text())
        }
    })?;
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let (received, matched) = reminders::receive(
        &app,
        &provider,
        header("x-fieldproof-timestamp"),
        header("x-fieldproof-signature"),
        &body,
    )
    .await?;
    Ok(Json(ReceiptAnswer { received, matched }))
}
