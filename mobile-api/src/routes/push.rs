//! `POST /sync/push`: a phone's queued records in one request, answered item by item.

use axum::extract::State;
use fieldproof_core::domain::ValidationError;
use fieldproof_core::service::{Caller, records};
use fieldproof_core::web::dto::RecordDto;
use fieldproof_core::web::{CurrentUser, Json};
use fieldproof_core::{ApiError, App};

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::dto::{PushAnswer, PushBody, PushItem, PushKind, PushResult};

/// Most items one push may carry; a phone with more sends several pushes.
pub const MAX_PUSH_ITEMS: usize = 500;

/// Push routes.
pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new().routes(routes!(push))
}

/// Files every item on its own: a bad item is answered `rejected` with its problem and the
/// others still land; each is idempotent by its `client_id`, so a retried push creates nothing
/// twice. Only a failure of the server itself fails the whole request (retrying it is safe).
#[utoipa::path(post, path = "/sync/push", tag = "sync",
    params(("Idempotency-Key" = Option<String>, Header, description = "makes a retry replay the first answer")),
    request_body = PushBody,
    responses(
        (status = 401, description = "no valid token", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 200, description = "one result per item, in order", body = PushAnswer),
        (status = 413, description = "the body is larger than max_json_bytes", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 422, description = "more than 500 items", body = crate::openapi::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn push(
    State(app): State<App>,
    caller: CurrentUser,
    Json(body): Json<PushBody>,
) -> Result<Json<PushAnswer>, ApiError> {
    if body.items.len() > MAX_PUSH_ITEMS {
        return Err(ValidationError::single(
            "items",
            format!(
                "at most {MAX_PUSH_ITEMS} items per push, not {}; send the rest in another push",
                body.items.len()
            ),
        )
        .into());
    }
    let mut results = Vec::with_capacity(body.items.len());
    for raw in body.items {
        results.push(file_item(&app, &caller.caller, raw).await?);
    }
    Ok(Json(PushAnswer { results }))
}

async fn file_item(app: &App, caller: &Caller, raw: serde_json::Value) -> Result<PushResult, ApiError> {
    let client_id = raw
        .get("client_id")
        .and_then(|v| v.as_str())
        .and_then(|v| v.parse().ok());
    // Refused as the single PUT refuses a body of the wrong shape: 422 naming the field.
    let item: PushItem = match serde_path_to_error::deserialize(raw) {
        Ok(item) => item,
        Err(e) => {
            let field = match e.path().to_string() {
                path if path == "." => "item".to_owned(),
                path => path,
            };
            let problem = ApiError::Validation(ValidationError::single(field, e.inner().to_string()));
            return Ok(refused(client_id, &problem));
        }
    };
    let PushKind::Record = item.kind;
    let new = item.record.into_new(item.client_id);
    let outcome = records::put_record(app, caller, new).await;
    let (status, record) = match outcome {
        Ok(records::Put::Created(record, _)) => ("created", record),
        Ok(records::Put::Unchanged(record)) => ("unchanged", record),
        Err(e) if e.code_and_status().1.is_server_error() => return Err(e),
        Err(e) => return Ok(refused(Some(item.client_id), &e)),
    };
    let photos = app.store.list_photos(record.id).await?;
    Ok(PushResult {
        client_id: Some(item.client_id),
        status,
        record: Some(RecordDto::new(&record, &photos)),
        problem: None,
    })
}

/// `conflict` when the id holds other content, `rejected` for anything else the client got
/// wrong, with the problem the single `PUT` would have answered.
fn refused(client_id: Option<fieldproof_core::ids::RecordId>, error: &ApiError) -> PushResult {
    let conflict = matches!(error, ApiError::Conflict { .. } | ApiError::InvalidTransition(_));
    PushResult {
        client_id,
        status: if conflict { "conflict" } else { "rejected" },
        record: None,
        problem: Some(error.problem()),
    }
}
