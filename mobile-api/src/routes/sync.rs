//! `GET /sync`: what changed for the caller since their cursor.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use fieldproof_core::service::sync;
use fieldproof_core::web::etag::conditional_json_tagged;
use fieldproof_core::web::{CurrentUser, Query};
use fieldproof_core::{ApiError, App};

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::dto::{SyncPageDto, SyncQuery};

/// Sync routes.
pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new().routes(routes!(changes))
}

/// A page of changes. The `ETag` covers what changed, not the next cursor, so a phone that
/// syncs again with nothing new gets a bodiless 304 and keeps the cursor it has.
#[utoipa::path(get, path = "/sync", tag = "sync",
    params(SyncQuery, ("If-None-Match" = Option<String>, Header, description = "the ETag of the last answer")),
    responses(
        (status = 401, description = "no valid token", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 200, description = "what changed, and the next cursor", body = SyncPageDto, headers(("ETag" = String))),
        (status = 304, description = "nothing changed since the ETag sent in If-None-Match; keep the cursor"),
        (status = 400, description = "a cursor this server did not give this user", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 422, description = "limit outside 1–500", body = crate::openapi::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn changes(
    State(app): State<App>,
    caller: CurrentUser,
    Query(query): Query<SyncQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let page = sync::sync(&app, &caller.caller, query.cursor.as_deref(), query.limit).await?;
    let dto = SyncPageDto::new(&page, app.settings.light_yellow_days);
    conditional_json_tagged(&headers, &dto, &(&dto.tasks, &dto.removed, dto.has_more))
}
