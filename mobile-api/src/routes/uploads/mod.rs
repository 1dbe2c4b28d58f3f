//! Resumable photo uploads at `/uploads`: tus 1.0.0 (core, creation, creation-with-upload,
//! checksum, termination, expiration) and the IETF resumable-upload draft (`Upload-Complete`,
//! `Upload-Offset`, `HEAD` for the offset), both over one upload store. A request carrying
//! `Tus-Resumable` speaks tus; one carrying `Upload-Draft-Interop-Version` or
//! `Upload-Complete` speaks the draft, whose uploads are created by sending the ordinary photo
//! `PUT` with `Upload-Complete`.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use fieldproof_core::ids::{PhotoId, RecordId, UploadId};
use fieldproof_core::service::Caller;
use fieldproof_core::service::photos::Put;
use fieldproof_core::service::resumable::{self, Append, Appended, NewUpload};
use fieldproof_core::store::UploadRow;
use fieldproof_core::web::{CurrentUser, Json, Path};
use fieldproof_core::{ApiError, App};

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::dto::PhotoReceipt;

mod headers;

use headers::{
    Dialect, TUS_EXTENSIONS, TUS_VERSION, checksum, dialect, location, metadata_header, metadata_target,
    number_header, put_complete, put_expiry, put_limit, put_number, require_chunk_type, speaks_ietf, to_u64,
    upload_complete,
};

/// Upload routes.
pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(create, capabilities))
        .routes(routes!(offset, append, terminate, overridden))
        .layer(axum::middleware::from_fn(mark_tus_answers))
}

/// tus wants `Tus-Resumable` on every answer, errors included; draft clients do not.
async fn mark_tus_answers(request: Request, next: Next) -> Response {
    let ietf = !request.headers().contains_key("tus-resumable") && speaks_ietf(request.headers());
    let mut response = next.run(request).await;
    if !ietf {
        response
            .headers_mut()
            .insert("tus-resumable", HeaderValue::from_static(TUS_VERSION));
    }
    response
}

/// `OPTIONS /uploads`: what this server speaks (no sign-in needed).
#[utoipa::path(options, path = "/uploads", tag = "uploads",
    responses((status = 204, description = "tus capabilities", headers(
        ("Tus-Version" = String), ("Tus-Extension" = String), ("Tus-Max-Size" = u64), ("Tus-Checksum-Algorithm" = String)))))]
async fn capabilities(State(app): State<App>) -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    let h = response.headers_mut();
    h.insert("tus-version", HeaderValue::from_static(TUS_VERSION));
    h.insert("tus-extension", HeaderValue::from_static(TUS_EXTENSIONS));
    h.insert("tus-checksum-algorithm", HeaderValue::from_static("sha1,sha256"));
    put_number(h, "tus-max-size", app.settings.max_upload_bytes);
    response
}

/// `POST /uploads` (tus creation, with the first chunk when a body is sent).
#[utoipa::path(post, path = "/uploads", tag = "uploads",
    params(("Tus-Resumable" = String, Header, description = "`1.0.0` (tus), or leave out and send `Upload-Draft-Interop-Version` (IETF draft)"),
        ("Upload-Length" = u64, Header, description = "the photo's size in bytes"),
        ("Upload-Metadata" = String, Header, description = "`record_id <base64>,photo_id <base64>[,content_type <base64>]`"),
        ("Upload-Checksum" = Option<String>, Header, description = "`sha1|sha256 <base64>` of a first chunk sent along")),
    request_body(content = Vec<u8>, content_type = "application/offset+octet-stream", description = "optional first chunk"),
    responses(
        (status = 201, description = "created", headers(("Location" = String), ("Upload-Offset" = u64), ("Upload-Expires" = String))),
        (status = 400, description = "no Upload-Length, or metadata without record_id and photo_id", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 409, description = "the photo id belongs to another record", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 412, description = "Tus-Resumable missing or not 1.0.0", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 413, description = "longer than max_upload_bytes", body = crate::openapi::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn create(
    State(app): State<App>,
    caller: CurrentUser,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    if dialect(&headers)? == Dialect::Ietf {
        // The draft creates on any resource; here that names the photo by tus's metadata.
        let raw = metadata_header(&headers)?;
        if raw.is_empty() {
            return Err(ApiError::Malformed(
                "name record_id and photo_id in Upload-Metadata, or send the photo PUT with Upload-Complete"
                    .into(),
            ));
        }
        let target = metadata_target(&raw)?;
        return create_from_put(&app, &caller.caller, target, &headers, body).await;
    }
    if headers.contains_key("upload-defer-length") {
        return Err(ApiError::Malformed(
            "Upload-Defer-Length is not supported; send Upload-Length".into(),
        ));
    }
    let length = number_header(&headers, "upload-length")?
        .ok_or_else(|| ApiError::Malformed("Upload-Length is required".into()))?;
    let raw_metadata = metadata_header(&headers)?;
    let target = metadata_target(&raw_metadata)?;
    let new = NewUpload {
        record_id: target.0,
        photo_id: target.1,
        length: Some(length),
        metadata: raw_metadata,
    };
    let with_chunk = number_header(&headers, header::CONTENT_LENGTH.as_str())?.is_some_and(|n| n > 0)
        || headers.contains_key(header::TRANSFER_ENCODING);
    if with_chunk {
        require_chunk_type(&headers, Dialect::Tus)?;
    }
    let upload = resumable::create(&app, &caller.caller, new).await?;
    let location = location(&upload);
    let upload = if with_chunk {
        let append = Append {
            offset: 0,
            declared_len: number_header(&headers, header::CONTENT_LENGTH.as_str())?,
            checksum: checksum(&headers)?,
            last: false,
        };
        match append_detached(&app, &caller.caller, upload.clone(), append, body).await {
            Ok(Appended::Open(row) | Appended::Finished(row, _)) => row,
            Err(e) => {
                // The client never learnt where the upload is, so nobody could resume it.
                if let Err(cleanup) = resumable::terminate(&app, &caller.caller, upload.id).await {
                    tracing::warn!(upload = %upload.id, error = %cleanup, "ending a failed creation failed");
                }
                return Err(e);
            }
        }
    } else {
        upload
    };
    let mut response = StatusCode::CREATED.into_response();
    let h = response.headers_mut();
    h.insert(header::LOCATION, location);
    put_number(h, "upload-offset", to_u64(upload.received));
    put_expiry(h, &upload);
    Ok(response)
}

/// `HEAD /uploads/{id}`: where to resume from.
#[utoipa::path(head, path = "/uploads/{id}", tag = "uploads",
    params(("id" = uuid::Uuid, Path, description = "the upload"), ("Tus-Resumable" = String, Header, description = "`1.0.0` (tus), or leave out and send `Upload-Draft-Interop-Version` (IETF draft)")),
    responses(
        (status = 200, description = "tus: the offset", headers(("Upload-Offset" = u64), ("Upload-Length" = u64), ("Upload-Metadata" = String), ("Upload-Expires" = String))),
        (status = 204, description = "IETF draft: the offset", headers(("Upload-Offset" = u64), ("Upload-Complete" = String), ("Upload-Length" = u64), ("Upload-Limit" = String))),
        (status = 404, description = "no such upload, or another user's"),
        (status = 410, description = "expired"),
    ),
    security(("bearer" = [])))]
async fn offset(
    State(app): State<App>,
    caller: CurrentUser,
    Path(id): Path<UploadId>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let dialect = dialect(&headers)?;
    let mut upload = resumable::find(&app, &caller.caller, id).await?;
    if upload.completed_at.is_none() && upload.length == Some(upload.received) {
        // Every byte is in but the photo was not made (the server stopped in between).
        resumable::finish(&app, &caller.caller, &upload).await?;
        upload = resumable::find(&app, &caller.caller, id).await?;
    }
    let mut response = match dialect {
        Dialect::Tus => StatusCode::OK,
        Dialect::Ietf => StatusCode::NO_CONTENT,
    }
    .into_response();
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    put_number(h, "upload-offset", to_u64(upload.received));
    if let Some(length) = upload.length {
        put_number(h, "upload-length", to_u64(length));
    }
    match dialect {
        Dialect::Tus => {
            if upload.length.is_none() {
                h.insert("upload-defer-length", HeaderValue::from_static("1"));
            }
            if !upload.metadata.is_empty()
                && let Ok(v) = HeaderValue::from_str(&upload.metadata)
            {
                h.insert("upload-metadata", v);
            }
            put_expiry(h, &upload);
        }
        Dialect::Ietf => {
            put_complete(h, upload.completed_at.is_some());
            put_limit(h, &app);
        }
    }
    Ok(response)
}

/// `PATCH /uploads/{id}`: appends a chunk at `Upload-Offset`.
#[utoipa::path(patch, path = "/uploads/{id}", tag = "uploads",
    params(("id" = uuid::Uuid, Path, description = "the upload"), ("Tus-Resumable" = String, Header, description = "`1.0.0` (tus), or leave out and send `Upload-Draft-Interop-Version` (IETF draft)"),
        ("Upload-Offset" = u64, Header, description = "where this chunk starts"),
        ("Upload-Complete" = Option<String>, Header, description = "IETF draft: `?1` on the last part"),
        ("Upload-Checksum" = Option<String>, Header, description = "tus: `sha1|sha256 <base64>` of this chunk")),
    request_body(content = Vec<u8>, content_type = "application/offset+octet-stream", description = "the chunk (`application/partial-upload` for the IETF draft)"),
    responses(
        (status = 204, description = "appended", headers(("Upload-Offset" = u64))),
        (status = 201, description = "IETF draft: the last part made the photo", body = PhotoReceipt),
        (status = 409, description = "the offset is not the upload's (expected-offset says where)", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 410, description = "expired", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 413, description = "past Upload-Length; discarded", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 415, description = "wrong chunk content type, or a Content-Encoding", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 460, description = "the chunk does not match Upload-Checksum; discarded", body = crate::openapi::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn append(
    State(app): State<App>,
    caller: CurrentUser,
    Path(id): Path<UploadId>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let dialect = dialect(&headers)?;
    require_chunk_type(&headers, dialect)?;
    let offset = number_header(&headers, "upload-offset")?
        .ok_or_else(|| ApiError::Malformed("Upload-Offset is required".into()))?;
    let last = match dialect {
        Dialect::Tus => false,
        Dialect::Ietf => upload_complete(&headers)?
            .ok_or_else(|| ApiError::Malformed("Upload-Complete is required".into()))?,
    };
    let upload = resumable::find(&app, &caller.caller, id).await?;
    if let (Some(told), Some(known)) = (number_header(&headers, "upload-length")?, upload.length)
        && told != to_u64(known)
    {
        return Err(ApiError::UploadLengthMismatch(format!(
            "the upload is {known} bytes long, not {told}"
        )));
    }
    let append = Append {
        offset,
        declared_len: number_header(&headers, header::CONTENT_LENGTH.as_str())?,
        checksum: checksum(&headers)?,
        last,
    };
    let appended = append_detached(&app, &caller.caller, upload, append, body).await?;
    Ok(match (dialect, appended) {
        (Dialect::Tus, Appended::Open(row) | Appended::Finished(row, _)) => {
            let mut response = StatusCode::NO_CONTENT.into_response();
            put_number(response.headers_mut(), "upload-offset", to_u64(row.received));
            put_expiry(response.headers_mut(), &row);
            response
        }
        (Dialect::Ietf, Appended::Open(row)) => {
            let mut response = StatusCode::NO_CONTENT.into_response();
            put_number(response.headers_mut(), "upload-offset", to_u64(row.received));
            put_complete(response.headers_mut(), false);
            response
        }
        (Dialect::Ietf, Appended::Finished(row, put)) => finished(&row, &put),
    })
}

/// `DELETE /uploads/{id}`: the client gives the upload up; its bytes are deleted.
#[utoipa::path(delete, path = "/uploads/{id}", tag = "uploads",
    params(("id" = uuid::Uuid, Path, description = "the upload"), ("Tus-Resumable" = String, Header, description = "`1.0.0` (tus), or leave out and send `Upload-Draft-Interop-Version` (IETF draft)")),
    responses((status = 204, description = "ended"), (status = 404, description = "no such upload, or another user's", body = crate::openapi::Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn terminate(
    State(app): State<App>,
    caller: CurrentUser,
    Path(id): Path<UploadId>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    dialect(&headers)?;
    resumable::terminate(&app, &caller.caller, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// tus's `X-HTTP-Method-Override` for clients behind proxies that only pass GET and POST.
#[utoipa::path(post, path = "/uploads/{id}", tag = "uploads",
    params(("id" = uuid::Uuid, Path, description = "the upload"),
        ("X-HTTP-Method-Override" = String, Header, description = "`PATCH`, `DELETE` or `HEAD`")),
    responses((status = 204, description = "as the overridden method answers"), (status = 405, description = "no override, or another method", body = crate::openapi::Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn overridden(
    state: State<App>,
    caller: CurrentUser,
    path: Path<UploadId>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    match headers.get("x-http-method-override").map(HeaderValue::as_bytes) {
        Some(b"PATCH") => append(state, caller, path, headers, body).await,
        Some(b"DELETE") => terminate(state, caller, path, headers).await,
        Some(b"HEAD") => offset(state, caller, path, headers).await,
        _ => Err(ApiError::MethodNotAllowed),
    }
}

/// Whether a photo `PUT` asks to be resumable (the IETF draft's upload creation).
pub fn wants_resumable(headers: &HeaderMap) -> bool {
    headers.contains_key("upload-complete")
}

/// The IETF draft's upload creation on `PUT /records/{id}/photos/{photo_id}`: with
/// `Upload-Complete: ?1` and the whole photo it answers like the plain `PUT`; otherwise the
/// bytes so far are kept and the answer says where to send the rest.
pub async fn create_from_put(
    app: &App,
    caller: &Caller,
    target: (RecordId, PhotoId),
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let last = upload_complete(headers)?.unwrap_or(false);
    let declared = number_header(headers, header::CONTENT_LENGTH.as_str())?;
    let length = match (
        number_header(headers, "upload-length")?,
        last.then_some(declared).flatten(),
    ) {
        (Some(told), Some(sent)) if told != sent => {
            return Err(ApiError::UploadLengthMismatch(format!(
                "Upload-Length says {told} bytes but the complete request holds {sent}"
            )));
        }
        (told, sent) => told.or(sent),
    };
    let new = NewUpload {
        record_id: target.0,
        photo_id: target.1,
        length,
        metadata: String::new(),
    };
    let upload = resumable::create(app, caller, new).await?;
    let append = Append {
        offset: 0,
        declared_len: declared,
        checksum: None,
        last,
    };
    Ok(match append_detached(app, caller, upload, append, body).await? {
        Appended::Finished(row, put) => finished(&row, &put),
        Appended::Open(row) => {
            let mut response = StatusCode::CREATED.into_response();
            let h = response.headers_mut();
            h.insert(header::LOCATION, location(&row));
            put_number(h, "upload-offset", to_u64(row.received));
            put_complete(h, false);
            put_limit(h, app);
            response
        }
    })
}

/// The answer to the request that completed a draft upload: the photo, as the plain `PUT`
/// answers it.
fn finished(row: &UploadRow, put: &Put) -> Response {
    let (status, photo) = match put {
        Put::Created(p) => (StatusCode::CREATED, p),
        Put::Unchanged(p) => (StatusCode::OK, p),
    };
    let mut response = (status, Json(PhotoReceipt::from(photo))).into_response();
    let h = response.headers_mut();
    h.insert(header::LOCATION, location(row));
    put_number(h, "upload-offset", to_u64(row.received));
    put_complete(h, true);
    response
}

/// Runs the append on its own task: when the phone's connection drops, hyper stops polling
/// the handler, but the bytes that arrived must still be committed.
async fn append_detached(
    app: &App,
    caller: &Caller,
    upload: UploadRow,
    append: Append,
    body: Body,
) -> Result<Appended, ApiError> {
    let (app, caller) = (app.clone(), caller.clone());
    tokio::spawn(
        async move { resumable::append(&app, &caller, upload, append, body.into_data_stream()).await },
    )
    .await
    .map_err(|e| ApiError::Internal(format!("append task failed: {e}")))?
}
