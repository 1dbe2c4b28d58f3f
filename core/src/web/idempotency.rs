//! `Idempotency-Key` on POSTs: a phone that lost the answer to a POST sends it again with
//! the same key and gets the first answer back (`Idempotent-Replayed: true`) instead of an
//! urge or a report filed twice. The key belongs to the signed-in user; reusing it for a
//! different request is 422, and a retry while the first is still running is 409.
//!
//! Raw uploads (documents, tus) and sign-in are left out: their bodies are not JSON to keep
//! (and a token must not be stored), and uploads are idempotent by their own ids.

use axum::body::Body;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use sha2::{Digest, Sha256};

use crate::app::App;
use crate::error::ApiError;
use crate::store::Claim;
use crate::web::CurrentUser;

/// Longest key accepted (the draft standard suggests UUIDs).
const MAX_KEY_LEN: usize = 255;
/// Largest answer kept for replay; ours are small JSON.
const MAX_KEPT_ANSWER: usize = 4 * 1024 * 1024;

/// Paths whose POSTs are not made idempotent by key (delivery receipts carry no user and
/// are idempotent by their message ids).
fn exempt(path: &str) -> bool {
    path.starts_with("/api/v1/auth/")
        || path.starts_with("/api/v1/documents")
        || path.starts_with("/mobile/v1/uploads")
        || path.starts_with("/api/v1/sms/")
}

/// The middleware; pass-through for anything but a POST carrying the header.
pub async fn idempotent_posts(State(app): State<App>, request: Request, next: Next) -> Response {
    if request.method() != Method::POST || exempt(request.uri().path()) {
        return next.run(request).await;
    }
    let Some(key) = request.headers().get("idempotency-key").cloned() else {
        return next.run(request).await;
    };
    if request.headers().get_all("idempotency-key").iter().count() > 1 {
        return ApiError::Malformed("send one Idempotency-Key".into()).into_response();
    }
    match replay_or_run(&app, key, request, next).await {
        Ok(response) | Err(response) => response,
    }
}

async fn replay_or_run(
    app: &App,
    key: HeaderValue,
    request: Request,
    next: Next,
) -> Result<Response, Response> {
    let key = key
        .to_str()
        .ok()
        .filter(|k| !k.is_empty() && k.len() <= MAX_KEY_LEN && k.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or_else(|| {
            ApiError::Malformed(format!(
                "Idempotency-Key must be 1 to {MAX_KEY_LEN} visible ASCII characters"
            ))
            .into_response()
        })?
        .to_owned();
    let (mut parts, body) = request.into_parts();
    let user = CurrentUser::from_request_parts(&mut parts, app)
        .await
        .map_err(IntoResponse::into_response)?
        .caller
        .user
        .id;
    let limit = app.settings.max_json_bytes;
    let bytes = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| ApiError::PayloadTooLarge { limit: limit as u64 }.into_response())?;
    let mut hasher = Sha256::new();
    hasher.update(parts.method.as_str());
    hasher.update(b" ");
    hasher.update(parts.uri.to_string());
    hasher.update(b"\n");
    hasher.update(&bytes);
    let fingerprint = hex::encode(hasher.finalize());
    let now = Utc::now();
    let claim = app
        .store
        .claim_idempotency_key(user, &key, &fingerprint, now, now - chrono::Duration::minutes(1))
        .await
        .map_err(|e| ApiError::from(e).into_response())?;
    let reused = || ApiError::IdempotencyKeyReused.into_response();
    match claim {
        Claim::Done {
            fingerprint: first,
            status,
            content_type,
            body,
        } => {
            if first != fingerprint {
                return Err(reused());
            }
            let mut response = (StatusCode::from_u16(status).unwrap_or(StatusCode::OK), body).into_response();
            if let Some(v) = content_type.and_then(|t| HeaderValue::from_str(&t).ok()) {
                response.headers_mut().insert(header::CONTENT_TYPE, v);
            }
            response
                .headers_mut()
                .insert("idempotent-replayed", HeaderValue::from_static("true"));
            Ok(response)
        }
        Claim::InFlight { fingerprint: first } if first != fingerprint => Err(reused()),
        Claim::InFlight { .. } => Err(ApiError::IdempotencyKeyInFlight.into_response()),
        Claim::Claimed => {
            let response = next.run(Request::from_parts(parts, Body::from(bytes))).await;
            Ok(keep(app, user, &key, response).await)
        }
    }
}

/// Stores the answer for replay, unless it is our failure (a retry should run again).
async fn keep(app: &App, user: crate::ids::UserId, key: &str, response: Response) -> Response {
    let (parts, body) = response.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_KEPT_ANSWER).await {
        Ok(bytes) => bytes,
        Err(e) => {
            tracing::warn!(error = %e, "reading an answer to keep for its idempotency key failed");
            let _ = app.store.release_idempotency_key(user, key).await;
            return ApiError::Internal("the answer could not be kept".into()).into_response();
        }
    };
    let stored = if parts.status.is_server_error() {
        app.store.release_idempotency_key(user, key).await
    } else {
        let content_type = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok());
        app.store
            .finish_idempotency_key(user, key, parts.status.as_u16(), content_type, &bytes)
            .await
    };
    if let Err(e) = stored {
        tracing::warn!(error = %e, "keeping the answer of an idempotency key failed");
    }
    Response::from_parts(parts, Body::from(bytes))
}
