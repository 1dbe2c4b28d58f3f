//! `/healthz`, `/readyz` and `/metrics`.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use fieldproof_core::App;
use serde_json::json;

use crate::metrics::Metrics;

/// Health and metrics routes.
pub fn router() -> Router<App> {
    Router::new()
        .route("/healthz", get(find_health))
        .route("/readyz", get(find_readiness))
        .route("/metrics", get(find_metrics))
}

async fn find_health() -> impl IntoResponse {
    axum::Json(json!({ "status": "ok" }))
}

async fn find_readiness(State(app): State<App>) -> Response {
    let database = app.store.ping().await;
    let storage = app.objects.health().await;
    if let Err(e) = &database {
        tracing::warn!(error = %e, "readiness: database unreachable");
    }
    if let Err(e) = &storage {
        tracing::warn!(error = %e, "readiness: object storage unreachable");
    }
    let word = |ok: bool| if ok { "ok" } else { "unavailable" };
    let ready = database.is_ok() && storage.is_ok();
    let body = json!({
        "status": if ready { "ready" } else { "not_ready" },
        "database": word(database.is_ok()),
        "storage": word(storage.is_ok()),
    });
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(body)).into_response()
}

async fn find_metrics(State(app): State<App>, Extension(metrics): Extension<Metrics>) -> Response {
    if let Ok(n) = app.store.pending_photos().await {
        metrics.photos_pending.set(n);
    }
    match metrics.render() {
        Ok(text) => {
            let ct = HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8");
            ([(header::CONTENT_TYPE, ct)], text).into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "rendering metrics failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}
