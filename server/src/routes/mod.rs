//! One router per resource under `/api/v1`, plus health and metrics at the root.

pub mod audit;
pub mod auth;
pub mod documents;
pub mod health;
pub mod orgs;
pub mod photos;
pub mod receipts;
pub mod sites;
pub mod tasks;
pub mod users;
pub mod workflow;

use axum::Router;
use fieldproof_core::App;

/// Every console API route.
pub fn api() -> Router<App> {
    Router::new()
        .merge(auth::router())
        .merge(users::router())
        .merge(sites::router())
        .merge(tasks::router())
        .merge(photos::router())
        .merge(orgs::router())
        .merge(workflow::router())
        .merge(documents::router())
        .merge(audit::router())
        .merge(receipts::router())
}
