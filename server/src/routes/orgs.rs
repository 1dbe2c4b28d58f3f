//! `/orgs`: supervision groups and handling agencies.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use fieldproof_core::domain::Role;
use fieldproof_core::ids::OrgId;
use fieldproof_core::service::{SUPERVISING, orgs};
use fieldproof_core::web::{CurrentUser, Json, Path};
use fieldproof_core::{ApiError, App};

use crate::dto::{OrgBody, OrgDto};

/// Organisation routes.
pub fn router() -> Router<App> {
    Router::new()
        .route("/orgs", get(list_orgs).post(create_org))
        .route("/orgs/{id}/deactivate", post(deactivate_org))
}

async fn create_org(
    State(app): State<App>,
    caller: CurrentUser,
    Json(body): Json<OrgBody>,
) -> Result<(StatusCode, Json<OrgDto>), ApiError> {
    let org = orgs::create_org(&app, &caller.caller, body.into()).await?;
    Ok((StatusCode::CREATED, Json(OrgDto::new(&org, Some(Vec::new())))))
}

async fn list_orgs(State(app): State<App>, caller: CurrentUser) -> Result<Json<Vec<OrgDto>>, ApiError> {
    let orgs = orgs::list_orgs(&app, &caller.caller).await?;
    let user = &caller.caller.user;
    let mut out = Vec::with_capacity(orgs.len());
    for org in &orgs {
        // Who cannot be reached is for those who see the contacts (supervisors and admins);
        // which supervisors lack a number, for admins and the group itself.
        let dto = if !SUPERVISING.contains(&user.role) {
            OrgDto::new(org, None)
        } else if user.role == Role::Admin || user.org_id == Some(org.id) {
            OrgDto::new(org, Some(app.store.supervisors_without_mobile(org.id).await?))
        } else {
            OrgDto::new(org, Some(Vec::new()))
        };
        out.push(dto);
    }
    Ok(Json(out))
}

async fn deactivate_org(
    State(app): State<App>,
    caller: CurrentUser,
    Path(id): Path<OrgId>,
) -> Result<StatusCode, ApiError> {
    orgs::deactivate_org(&app, &caller.caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
