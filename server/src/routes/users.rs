//! `/users` (admins only).

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use fieldproof_core::domain::NewUser;
use fieldproof_core::service::accounts;
use fieldproof_core::web::{CurrentUser, Json};
use fieldproof_core::{ApiError, App};

use crate::dto::{UserBody, UserDto};

/// User administration routes.
pub fn router() -> Router<App> {
    Router::new().route("/users", post(create_user))
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
    };
    let user = accounts::create_user(&app, &caller.user, new).await?;
    Ok((StatusCode::CREATED, Json(UserDto::from(&user))))
}
