//! `/photos/{id}`: the photo page, its original and its thumbnails.

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use fieldproof_core::config::ThumbFormat;
use fieldproof_core::domain::Record;
use fieldproof_core::ids::PhotoId;
use fieldproof_core::service::Caller;
use fieldproof_core::service::photos::{self, Variant};
use fieldproof_core::store::PhotoRow;
use fieldproof_core::web::{CurrentUser, Json, Path};
use fieldproof_core::{ApiError, App};

use crate::dto::PhotoDto;

/// Photo routes.
pub fn router() -> Router<App> {
    Router::new()
        .route("/photos/{id}", get(find_photo))
        .route("/photos/{id}/original", get(find_original))
        .route("/photos/{id}/thumbnails/{size}", get(find_thumbnail))
}

async fn find_photo(
    State(app): State<App>,
    caller: CurrentUser,
    Path(id): Path<PhotoId>,
) -> Result<Json<PhotoDto>, ApiError> {
    let (photo, record) = photos::find_photo(&app, &caller.caller, id).await?;
    Ok(Json(PhotoDto::new(&photo, record.task_id)))
}

async fn find_original(
    State(app): State<App>,
    caller: CurrentUser,
    Path(id): Path<PhotoId>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    Ok(serve_photo(&app, &caller.caller, id, Variant::Original, &headers)
        .await?
        .response)
}

async fn find_thumbnail(
    State(app): State<App>,
    caller: CurrentUser,
    Path((id, size)): Path<(PhotoId, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let variant = match size.as_str() {
        "small" => Variant::Small,
        "large" => Variant::Large,
        _ => return Err(ApiError::NotFound("thumbnail size")),
    };
    Ok(serve_photo(&app, &caller.caller, id, variant, &headers)
        .await?
        .response)
}

/// A photo file's answer, with the processing version its thumbnails belong to.
pub(crate) struct Served {
    /// The answer: the bytes, or 304 when the client's copy is current.
    pub response: Response,
    /// When the photo was processed, in milliseconds; thumbnails change only with it.
    pub version: Option<i64>,
}

/// Serves one file of a photo `caller` may see, for the API and the console alike: the
/// original (as an attachment, its view audited) or a thumbnail, with an ETag.
pub(crate) async fn serve_photo(
    app: &App,
    caller: &Caller,
    id: PhotoId,
    variant: Variant,
    headers: &HeaderMap,
) -> Result<Served, ApiError> {
    let (photo, record) = photos::find_photo(app, caller, id).await?;
    let version = photo.processed_at.map(|t| t.timestamp_millis());
    let (etag, disposition) = match variant {
        // The original is content-addressed: its hash is a perfect, permanent ETag.
        Variant::Original => {
            let extension = photo.content_type.strip_prefix("image/").unwrap_or("bin");
            (
                format!("\"{}\"", photo.sha256),
                Some(format!("attachment; filename=\"{id}.{extension}\"")),
            )
        }
        Variant::Small => (format!("\"{id}-small-{}\"", version.unwrap_or(0)), None),
        Variant::Large => (format!("\"{id}-large-{}\"", version.unwrap_or(0)), None),
    };
    let target = Target {
        caller,
        photo: &photo,
        record: &record,
    };
    let response = serve(app, target, variant, &etag, headers, disposition).await?;
    Ok(Served { response, version })
}

/// The photo being served, with its record and who asks (views of originals are audited).
struct Target<'a> {
    caller: &'a Caller,
    photo: &'a PhotoRow,
    record: &'a Record,
}

async fn serve(
    app: &App,
    target: Target<'_>,
    variant: Variant,
    etag: &str,
    request: &HeaderMap,
    disposition: Option<String>,
) -> Result<Response, ApiError> {
    let photo = target.photo;
    let content_type = match variant {
        Variant::Original => photo.content_type.as_str(),
        Variant::Small => thumbnail_type(photo.thumb_small_key.as_deref()),
        Variant::Large => thumbnail_type(photo.thumb_large_key.as_deref()),
    };
    let mut headers = HeaderMap::new();
    let etag_value = HeaderValue::from_str(etag).map_err(|e| ApiError::Internal(e.to_string()))?;
    headers.insert(header::ETAG, etag_value);
    // Every view of an original is audited, so the browser must ask each time (and keep no
    // copy on a shared desk computer); thumbnails may be kept.
    let cache = match variant {
        Variant::Original => "private, no-store",
        _ => "private, max-age=86400",
    };
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    let fresh = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    if fresh {
        return Ok((StatusCode::NOT_MODIFIED, headers).into_response());
    }
    let body = photos::open(app, target.caller, photo, target.record, variant).await?;
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(static_type(content_type)),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len));
    if let Some(d) = disposition {
        let value = HeaderValue::from_str(&d).map_err(|e| ApiError::Internal(e.to_string()))?;
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok((headers, Body::from_stream(body.stream)).into_response())
}

/// Thumbnails carry their format in the key's extension (the setting may change over time).
fn thumbnail_type(key: Option<&str>) -> &'static str {
    key.map_or("image/jpeg", |k| ThumbFormat::of_key(k).mime())
}

/// Only the formats the pipeline accepts are ever served; anything else is opaque bytes.
fn static_type(content_type: &str) -> &'static str {
    match content_type {
        "image/jpeg" => "image/jpeg",
        "image/png" => "image/png",
        "image/webp" => "image/webp",
        "image/heic" => "image/heic",
        _ => "application/octet-stream",
    }
}
