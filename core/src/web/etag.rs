//! Conditional reads: a strong `ETag` from the SHA-256 of the JSON answer, and `304 Not
//! Modified` when the client already holds that answer, so a phone re-reading unchanged data on
//! one bar of signal downloads nothing but headers.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::ApiError;

/// `value` as JSON with its `ETag`, or a bodiless 304 when `If-None-Match` names that tag.
pub fn conditional_json<T: Serialize>(request: &HeaderMap, value: &T) -> Result<Response, ApiError> {
    conditional_json_tagged(request, value, value)
}

/// `value` as JSON with an `ETag` taken from `tagged` only, or a bodiless 304 when
/// `If-None-Match` names that tag: for answers with a part that always changes (a sync's next
/// cursor) while what the client holds does not.
pub fn conditional_json_tagged<T: Serialize, U: Serialize>(
    request: &HeaderMap,
    value: &T,
    tagged: &U,
) -> Result<Response, ApiError> {
    let body = serde_json::to_vec(value).map_err(|e| ApiError::Internal(e.to_string()))?;
    let tag_source = serde_json::to_vec(tagged).map_err(|e| ApiError::Internal(e.to_string()))?;
    let digest = Sha256::digest(&tag_source);
    let etag = format!("\"{}\"", hex::encode(&digest[..16]));
    let mut headers = HeaderMap::new();
    headers.insert(
        header::ETAG,
        HeaderValue::from_str(&etag).map_err(|e| ApiError::Internal(e.to_string()))?,
    );
    // Cached copies must be revalidated: the data changes whenever anyone acts on it.
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache"),
    );
    if matches(request, &etag) {
        return Ok((StatusCode::NOT_MODIFIED, headers).into_response());
    }
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok((headers, body).into_response())
}

/// Whether `If-None-Match` holds `etag` (weak comparison, as RFC 9110 asks for this header).
fn matches(request: &HeaderMap, etag: &str) -> bool {
    request
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == etag || t == "*")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_known_tag_answers_304_and_another_the_body() {
        let value = serde_json::json!({ "id": 1 });
        let first = conditional_json(&HeaderMap::new(), &value).unwrap();
        assert_eq!(first.status(), StatusCode::OK);
        let etag = first.headers()[header::ETAG].clone();
        let mut request = HeaderMap::new();
        request.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_static("\"stale\", W/\"x\""),
        );
        assert_eq!(
            conditional_json(&request, &value).unwrap().status(),
            StatusCode::OK
        );
        let listed = format!("\"stale\", W/{}", etag.to_str().unwrap());
        request.insert(header::IF_NONE_MATCH, HeaderValue::from_str(&listed).unwrap());
        let again = conditional_json(&request, &value).unwrap();
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(again.headers()[header::ETAG], etag);
        let changed = serde_json::json!({ "id": 2 });
        assert_eq!(
            conditional_json(&request, &changed).unwrap().status(),
            StatusCode::OK
        );
    }
}
