//! `/records/{id}` and `/records/{id}/photos/{photo_id}`.

use axum::body::Body;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use fieldproof_core::ids::{PhotoId, RecordId};
use fieldproof_core::service::{photos, records, upload};
use fieldproof_core::web::dto::RecordDto;
use fieldproof_core::web::etag::conditional_json;
use fieldproof_core::web::{CurrentUser, Json, Path};
use fieldproof_core::{ApiError, App};

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::dto::{PhotoReceipt, RecordBody};

/// Record and photo routes.
pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(update_record, find_record))
        .routes(routes!(update_photo))
}

/// Files a record under the id the phone chose; repeating it is safe.
#[utoipa::path(put, path = "/records/{id}", tag = "records",
    params(("id" = uuid::Uuid, Path, description = "the record's id, chosen by the phone")),
    request_body = RecordBody,
    responses(
        (status = 201, description = "filed", body = RecordDto),
        (status = 200, description = "an identical repeat", body = RecordDto),
        (status = 401, description = "no valid token", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 404, description = "someone else's record", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 409, description = "the id holds other content", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 422, description = "a field is not acceptable", body = crate::openapi::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
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
#[utoipa::path(get, path = "/records/{id}", tag = "records",
    params(
        ("id" = uuid::Uuid, Path, description = "the record's id"),
        ("If-None-Match" = Option<String>, Header, description = "the ETag of the last answer"),
    ),
    responses(
        (status = 401, description = "no valid token", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 200, description = "the record", body = RecordDto, headers(("ETag" = String))),
        (status = 304, description = "unchanged since the ETag sent in If-None-Match"),
        (status = 404, description = "no such record, or not visible", body = crate::openapi::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn find_record(
    axum::extract::State(app): axum::extract::State<App>,
    caller: CurrentUser,
    Path(id): Path<RecordId>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (record, photos) = records::find_record(&app, &caller.caller, id).await?;
    conditional_json(&headers, &RecordDto::new(&record, &photos))
}

/// Uploads a photo's bytes in one request (or, with `Upload-Complete`, starts an IETF
/// resumable upload of them).
#[utoipa::path(put, path = "/records/{record_id}/photos/{photo_id}", tag = "photos",
    params(
        ("record_id" = uuid::Uuid, Path, description = "the record"),
        ("photo_id" = uuid::Uuid, Path, description = "the photo's id, chosen by the phone"),
        ("Upload-Complete" = Option<String>, Header, description = "`?0` or `?1`: make this an IETF resumable upload"),
        ("Device-Time" = Option<String>, Header, description = "the phone's clock (RFC 3339)"),
    ),
    request_body(content = Vec<u8>, content_type = "image/jpeg", description = "the image itself (JPEG, PNG, WebP or HEIC)"),
    responses(
        (status = 201, description = "stored and queued", body = PhotoReceipt),
        (status = 200, description = "an identical repeat", body = PhotoReceipt),
        (status = 401, description = "no valid token", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such record, or someone else's", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 409, description = "the id holds other bytes", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 413, description = "larger than max_upload_bytes", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 415, description = "not a JPEG, PNG, WebP or HEIC image", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 422, description = "truncated, malformed or too many pixels", body = crate::openapi::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
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
    let file_name = disposition_file_name(&headers);
    let (status, photo) = match photos::put_photo(
        &app,
        &caller.caller,
        &record,
        photo_id,
        staged,
        file_name.as_deref(),
    )
    .await?
    {
        photos::Put::Created(p) => (StatusCode::CREATED, p),
        photos::Put::Unchanged(p) => (StatusCode::OK, p),
    };
    Ok((status, Json(PhotoReceipt::from(&photo))).into_response())
}

/// The file name in `Content-Disposition` (`filename*=UTF-8''…` per RFC 6266/8187, else
/// `filename="…"`), if the phone sent one. Parsed by hand: it is two forms of one parameter.
fn disposition_file_name(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::CONTENT_DISPOSITION)?.to_str().ok()?;
    let params: Vec<(&str, &str)> = value
        .split(';')
        .filter_map(|p| p.trim().split_once('='))
        .map(|(k, v)| (k.trim(), v.trim()))
        .collect();
    let extended = params
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("filename*"))
        .and_then(|(_, v)| {
            let (charset, rest) = v.split_once('\'')?;
            let (_, encoded) = rest.split_once('\'')?;
            charset
                .eq_ignore_ascii_case("utf-8")
                .then(|| percent_decode(encoded))
                .flatten()
        });
    extended.or_else(|| {
        params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("filename"))
            .map(|(_, v)| v.trim_matches('"').to_owned())
    })
}

/// Decodes `%XX` escapes into UTF-8 text; `None` when the result is not UTF-8.
fn percent_decode(encoded: &str) -> Option<String> {
    let bytes = encoded.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = (bytes[i] == b'%').then(|| encoded.get(i + 1..i + 3)).flatten();
        match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderMap, HeaderValue, header};

    use super::disposition_file_name;

    fn named(value: &'static str) -> Option<String> {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_DISPOSITION, HeaderValue::from_static(value));
        disposition_file_name(&headers)
    }

    #[test]
    fn both_forms_of_the_file_name_are_read() {
        assert_eq!(
            named("attachment; filename=\"IMG_1.jpg\"").as_deref(),
            Some("IMG_1.jpg")
        );
        assert_eq!(
            named("attachment; filename=\"x.jpg\"; filename*=UTF-8''%E7%85%A4%E5%9C%BA.jpg").as_deref(),
            Some("煤场.jpg")
        );
        assert_eq!(
            named("attachment; filename*=UTF-8''%E2%80%AEgpj.exe").as_deref(),
            Some("\u{202e}gpj.exe")
        );
        assert_eq!(named("attachment; filename*=UTF-8''%FF").as_deref(), None);
        assert_eq!(named("inline").as_deref(), None);
    }
}
