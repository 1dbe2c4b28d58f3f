//! `/sites`.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use fieldproof_core::ids::SiteId;
use fieldproof_core::service::sites;
use fieldproof_core::web::{CurrentUser, Json, Path};
use fieldproof_core::{ApiError, App};

use crate::dto::{SiteBody, SiteDto};

/// Site routes.
pub fn router() -> Router<App> {
    Router::new()
        .route("/sites", post(create_site))
        .route("/sites/{id}", get(find_site))
}

async fn create_site(
    State(app): State<App>,
    caller: CurrentUser,
    Json(body): Json<SiteBody>,
) -> Result<(StatusCode, Json<SiteDto>), ApiError> {
    let site = sites::create_site(&app, &caller.caller, body.into()).await?;
    Ok((StatusCode::CREATED, Json(SiteDto::from(&site))))
}

async fn find_site(
    State(app): State<App>,
    caller: CurrentUser,
    Path(id): Path<SiteId>,
) -> Result<Json<SiteDto>, ApiError> {
    Ok(Json(SiteDto::from(
        &sites::find_site(&app, &caller.caller, id).await?,
    )))
}
