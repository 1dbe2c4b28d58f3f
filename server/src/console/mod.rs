//! The supervision console: server-rendered pages at `/`, on the same accounts, sessions and
//! authorisation as the API (every page calls the same core services with the signed-in
//! caller). Pages carry a strict Content-Security-Policy with no inline script, every
//! user-supplied text is escaped by the templates, and every form carries a CSRF token.

mod actions;
pub mod assets;
mod circulars;
mod error;
mod evidence;
mod format;
mod i18n;
mod list;
mod plot;
mod session;
mod sign_in;
mod stats;
mod task;
mod words;

use askama::Template;
use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{Html, Redirect, Response};
use axum::routing::get;
use fieldproof_core::App;

pub use error::ConsoleError;
use error::urlencode;
use i18n::Lang;
use session::ConsoleUser;

/// What every signed-in page shows around its content: language, user, the CSRF token for
/// the sign-out form, asset URLs and where the language switch returns to.
pub struct Chrome {
    /// The page language.
    pub lang: Lang,
    /// The user's display name.
    pub user_name: String,
    /// The user's role, as a word key.
    pub role: &'static str,
    /// The session's CSRF token.
    pub csrf: String,
    /// The stylesheet URL.
    pub css: &'static str,
    /// The script URL.
    pub js: &'static str,
    /// This page's path and query, percent-encoded, for the language switch.
    pub here_encoded: String,
}

impl Chrome {
    /// The chrome of a page at `here` for `user`.
    pub fn new(user: &ConsoleUser, here: &str) -> Chrome {
        Chrome {
            lang: user.lang,
            user_name: user.caller.user.display_name.clone(),
            role: user.caller.user.role.as_str(),
            csrf: user.csrf.clone(),
            css: assets::CSS_URL.as_str(),
            js: assets::JS_URL.as_str(),
            here_encoded: urlencode(here),
        }
    }
}

/// Renders a page template.
pub fn render(page: &impl Template) -> Result<Html<String>, ConsoleError> {
    Ok(Html(page.render()?))
}

/// The Content-Security-Policy of every console answer: only this site's own script, style
/// and images; no inline script, no plug-ins, no framing, forms only back to this site.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Adds the console's security headers to every answer outside the JSON APIs, refusals of
/// unknown routes and methods included; pages are private and never stored by caches, while
/// assets and thumbnails set their own caching.
pub async fn security_headers(request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let api = ["/api/", "/mobile/", "/healthz", "/readyz", "/metrics"]
        .iter()
        .any(|p| path.starts_with(p));
    let mut response = next.run(request).await;
    if api {
        return response;
    }
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

/// Every console route.
pub fn router() -> Router<App> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/tasks") }))
        .route("/assets/{name}", get(assets::serve))
        .merge(sign_in::router())
        .merge(list::router())
        .merge(task::router())
        .merge(evidence::router())
        .merge(actions::router())
        .merge(stats::router())
        .merge(circulars::router())
}
