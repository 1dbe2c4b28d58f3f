//! `/records/{id}` and `/records/{id}/photos/{photo_id}`.

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::put;
use fieldproof_core::ids::{PhotoId, RecordId};
use fieldproof_core::service::{photos, records, upload};
use fieldproof_core::web::dto::RecordDto;
use fieldproof_core::web::etag::conditional_json;
use fieldproof_core::web::{CurrentUser, Json, Path};
use fieldproof_core::{ApiError, App};

use crate::dto::{PhotoReceipt, RecordBody};

/// Record and photo routes.
pub fn router() -> Router<App> {
    Router::new()
        .route("/records/{id}", put(update_record).get(find_record))
        .route("/records/{record_id}/photos/{photo_id}", put(update_photo))
}

async fn update_record(
    axum::extract::State(app): axum::extract::State<App>,
    caller: CurrentUser,
    Path(id): Path<RecordId>,
    Json(body): Json<RecordBody>,
) -> Result<(StatusCode, Json<RecordDto>), ApiError> {
    let new = body.into_new(id);
    let (status, record) = match records::put_record(&app, &caller.caller, new).await? {
        records::Put::Created(r, _) => (StatusCode::CREATED, r),
        records::Put::Unchanged(r) => (StatusCode::OK, r),
    };
    let photos = app.store.list_photos(record.id).await?;
    Ok((status, Json(RecordDto::new(&record, &photos))))
}

/// A record with its photos; `If-None-Match` with the last `ETag` answers 304 when unchanged.
async fn find_record(
    axum::extract::State(app): axum::extract::State<App>,
    caller: CurrentUser,
    Path(id): Path<RecordId>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (record, photos) = records::find_record(&app, &caller.caller, id).await?;
    conditional_json(&headers, &RecordDto::new(&record, &photos))
}

async fn update_photo(
    axum::extract::State(app): axum::extract::State<App>,
    caller: CurrentUser,
    Path((record_id, photo_id)): Path<(RecordId, PhotoId)>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    if super::uploads::wants_resumable(&headers) {
        return super::uploads::create_from_put(&app, &caller.caller, (record_id, photo_id), &headers, body)
            .await;
    }
    let record = photos::upload_target(&app, &caller.caller, record_id).await?;
    let multipart = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/"));
    if multipart {
        return Err(ApiError::UnsupportedType(
            "send the image itself as the request body, not as multipart/form-data".into(),
        ));
    }
    upload::refuse_declared_oversize(&app, &headers)?;
    let staged = upload::stage(&app, body.into_data_stream()).await?;
    let (status, photo) = match photos::put_photo(&app, &caller.caller, &record, photo_id, staged).await? {
        photos::Put::Created(p) => (StatusCode::CREATED, p),
        photos::Put::Unchanged(p) => (StatusCode::OK, p),
    };
    Ok((status, Json(PhotoReceipt::from(&photo))).into_response())
}
