//! `GET /sync`: what changed for the caller since their cursor.

use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use fieldproof_core::service::sync;
use fieldproof_core::web::etag::conditional_json_tagged;
use fieldproof_core::web::{CurrentUser, Query};
use fieldproof_core::{ApiError, App};

use crate::dto::{SyncPageDto, SyncQuery};

/// Sync routes.
pub fn router() -> Router<App> {
    Router::new().route("/sync", get(changes))
}

/// A page of changes. The `ETag` covers what changed, not the next cursor, so a phone that
/// syncs again with nothing new gets a bodiless 304 and keeps the cursor it has.
async fn changes(
    State(app): State<App>,
    caller: CurrentUser,
    Query(query): Query<SyncQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let page = sync::sync(&app, &caller.caller, query.cursor.as_deref(), query.limit).await?;
    let dto = SyncPageDto::new(&page);
    conditional_json_tagged(&headers, &dto, &(&dto.tasks, &dto.removed, dto.has_more))
}
