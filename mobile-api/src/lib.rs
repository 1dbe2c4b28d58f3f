//! The phone-facing HTTP surface under `/mobile/v1`: records and photos under ids the phone
//! chose offline, so every retry is safe, and resumable uploads (tus and the IETF draft) for
//! photos sent over connections that drop; offline sync and batch push; the phone's clock
//! offset from `Device-Time`.

mod clock;
mod dto;
pub mod openapi;
mod routes;

use std::sync::Arc;

use axum::routing::get;
use axum::{Json, Router};
use fieldproof_core::App;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

/// All `/mobile/v1` routes, to be nested by the server, with their OpenAPI document at
/// `/openapi.json`; `app` records device clocks.
pub fn router(app: App) -> Router<App> {
    let (router, document) = documented_routes().split_for_parts();
    let document = Arc::new(document);
    router
        .route(
            "/openapi.json",
            get(move || async move { Json(document.as_ref().clone()) }),
        )
        .layer(axum::middleware::from_fn_with_state(
            app,
            clock::record_device_clock,
        ))
}

/// The OpenAPI 3.1 document of every route [`router`] serves.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    documented_routes().into_openapi()
}

fn documented_routes() -> OpenApiRouter<App> {
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .merge(routes::records::router())
        .merge(routes::uploads::router())
        .merge(routes::sync::router())
        .merge(routes::push::router())
}
