//! `/audit/verify` (admins): checks the whole hash chain against the stored checkpoint.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use fieldproof_core::service::audit::{self, Verification};
use fieldproof_core::web::{CurrentUser, Json};
use fieldproof_core::{ApiError, App};

/// Audit routes.
pub fn router() -> Router<App> {
    Router::new().route("/audit/verify", get(verify))
}

async fn verify(State(app): State<App>, caller: CurrentUser) -> Result<Json<Verification>, ApiError> {
    Ok(Json(audit::verify_as(&app, &caller.caller).await?))
}
