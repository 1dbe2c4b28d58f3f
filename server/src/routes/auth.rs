//! `/auth/login`, `/auth/logout`, `/auth/me`.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use fieldproof_core::service::accounts;
use fieldproof_core::web::{Client, CurrentUser, Json};
use fieldproof_core::{ApiError, App};

use crate::dto::{LoginBody, LoginDto, UserDto};

/// Authentication routes.
pub fn router() -> Router<App> {
    Router::new()
        .route("/auth/login", post(create_session))
        .route("/auth/logout", post(delete_session))
        .route("/auth/me", get(find_me))
}

async fn create_session(
    State(app): State<App>,
    Client(client): Client,
    Json(body): Json<LoginBody>,
) -> Result<Json<LoginDto>, ApiError> {
    let (token, user) = accounts::login(&app, &body.username, &body.password, &client).await?;
    Ok(Json(LoginDto {
        token,
        token_type: "Bearer",
        user: UserDto::from(&user),
    }))
}

async fn delete_session(State(app): State<App>, caller: CurrentUser) -> Result<StatusCode, ApiError> {
    accounts::logout(&app, &caller.caller, &caller.token_hash).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn find_me(caller: CurrentUser) -> Json<UserDto> {
    Json(UserDto::from(&caller.caller.user))
}
