//! The phone-facing HTTP surface under `/mobile/v1`: records and photos under ids the phone
//! chose offline, so every retry is safe, and resumable uploads (tus and the IETF draft) for
//! photos sent over connections that drop; offline sync and batch push; the phone's clock
//! offset from `Device-Time`.

mod clock;
mod dto;
mod routes;

use axum::Router;
use fieldproof_core::App;

/// All `/mobile/v1` routes, to be nested by the server; `app` records device clocks.
pub fn router(app: App) -> Router<App> {
    Router::new()
        .merge(routes::records::router())
        .merge(routes::uploads::router())
        .merge(routes::sync::router())
        .merge(routes::push::router())
        .layer(axum::middleware::from_fn_with_state(
            app,
            clock::record_device_clock,
        ))
}
