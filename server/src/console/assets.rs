//! The console's stylesheet and script, compiled into the binary and served under a name that
//! carries their hash, so browsers cache them for a year and a new release is fetched at once.
//! No build step and nothing fetched from elsewhere at run time.

use std::sync::LazyLock;

use axum::extract::{Path, Query};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use fieldproof_core::auth::token_hash;
use serde::Deserialize;

const CSS: &str = include_str!("../../assets/console.css");
const JS: &str = include_str!("../../assets/console.js");

/// The first 16 hex digits of the SHA-256 of `body`: enough to tell releases apart.
fn version(body: &str) -> String {
    token_hash(body)[..16].to_owned()
}

/// The stylesheet's URL, with its version.
pub static CSS_URL: LazyLock<String> = LazyLock::new(|| format!("/assets/console.css?v={}", version(CSS)));
/// The script's URL, with its version.
pub static JS_URL: LazyLock<String> = LazyLock::new(|| format!("/assets/console.js?v={}", version(JS)));

/// The `?v=` of an asset URL.
#[derive(Debug, Deserialize)]
pub struct Versioned {
    v: Option<String>,
}

/// Serves an asset: cached for a year when the version asked for is this build's, else
/// revalidated every time.
pub async fn serve(Path(name): Path<String>, Query(q): Query<Versioned>) -> Response {
    let (body, content_type) = match name.as_str() {
        "console.css" => (CSS, "text/css; charset=utf-8"),
        "console.js" => (JS, "text/javascript; charset=utf-8"),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    let current = version(body);
    let cache = if q.v.as_deref() == Some(current.as_str()) {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if let Ok(etag) = HeaderValue::from_str(&format!("\"{current}\"")) {
        headers.insert(header::ETAG, etag);
    }
    response
}
