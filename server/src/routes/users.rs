//! `/users` (admins only).

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use fieldproof_core::domain::NewUser;
use fieldproof_core::ids::UserId;
use fieldproof_core::service::accounts;
use fieldproof_core::web::{CurrentUser, Json, Path, Query};
use fieldproof_core::{ApiError, App};

use crate::dto::{UserBody, UserDto, UserListItem, UserListQuery};

/// User administration routes.
pub fn router() -> Router<App> {
    Router::new()
        .route("/users", post(create_user).get(list_users))
        .route("/users/{id}/deactivate", post(deactivate_user))
}

async fn create_user(
    State(app): State<App>,
    caller: CurrentUser,
    Json(body): Json<UserBody>,
) -> Result<(StatusCode, Json<UserDto>), ApiError> {
    let new = NewUser {
        username: body.username,
        password: body.password,
        role: body.role,
        display_name: body.display_name,
        org_id: body.org_id,
        mobile: body.mobile,
    };
    let user = accounts::create_user(&app, &caller.caller, new).await?;
    Ok((StatusCode::CREATED, Json(UserDto::from(&user))))
}

async fn list_users(
    State(app): State<App>,
    caller: CurrentUser,
    Query(q): Query<UserListQuery>,
) -> Result<Json<Vec<UserListItem>>, ApiError> {
    let users = accounts::list_users(&app, &caller.caller, q.org_id).await?;
    Ok(Json(users.iter().map(UserListItem::from).collect()))
}

async fn deactivate_user(
    State(app): State<App>,
    caller: CurrentUser,
    Path(id): Path<UserId>,
) -> Result<StatusCode, ApiError> {
    accounts::deactivate_user(&app, &caller.caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
