//! `/documents`: attachments for plans and reports, uploaded as the raw request body.

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use fieldproof_core::ids::DocumentId;
use fieldproof_core::service::{documents, upload};
use fieldproof_core::web::{CurrentUser, Json, Path, Query};
use fieldproof_core::{ApiError, App};

use crate::dto::{DocumentDto, DocumentQuery};

/// Document routes.
pub fn router() -> Router<App> {
    Router::new()
        .route("/documents", post(upload_document))
        .route("/documents/{id}", get(find_document))
        .route("/documents/{id}/content", get(download))
}

async fn upload_document(
    State(app): State<App>,
    caller: CurrentUser,
    Query(q): Query<DocumentQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<DocumentDto>), ApiError> {
    documents::may_upload(&caller.caller)?;
    let claimed = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| ApiError::UnsupportedType("send the document's media type in `Content-Type`".into()))?
        .to_owned();
    upload::refuse_declared_oversize(&app, &headers)?;
    let staged = upload::stage(&app, body.into_data_stream()).await?;
    let name = q.name.unwrap_or_default();
    let doc = documents::upload(&app, &caller.caller, &claimed, &name, staged).await?;
    Ok((StatusCode::CREATED, Json(DocumentDto::from(&doc))))
}

async fn find_document(
    State(app): State<App>,
    caller: CurrentUser,
    Path(id): Path<DocumentId>,
) -> Result<Json<DocumentDto>, ApiError> {
    Ok(Json(DocumentDto::from(
        &documents::find(&app, &caller.caller, id).await?,
    )))
}

async fn download(
    State(app): State<App>,
    caller: CurrentUser,
    Path(id): Path<DocumentId>,
) -> Result<Response, ApiError> {
    let doc = documents::find(&app, &caller.caller, id).await?;
    let body = documents::open(&app, &caller.caller, &doc).await?;
    let mut headers = HeaderMap::new();
    let content_type = HeaderValue::from_str(&doc.content_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    headers.insert(header::CONTENT_TYPE, content_type);
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    // The stored name is shown, never trusted: it travels percent-encoded (RFC 6266/5987).
    let encoded: String = doc
        .file_name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let disposition = format!("attachment; filename=\"{id}\"; filename*=UTF-8''{encoded}");
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok((headers, Body::from_stream(body.stream)).into_response())
}
