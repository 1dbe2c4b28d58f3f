//! Extractors whose rejections use the same problem+json shape as every other error.

use axum::body::Bytes;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRef, FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::app::App;
use crate::audit::ClientInfo;
use crate::auth::token_hash;
use crate::error::ApiError;
use crate::service::Caller;

/// JSON body: syntax errors are 400, wrong shapes 422, a missing JSON content type 415 and an
/// oversized body 413.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<S, T> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    App: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let settings = App::from_ref(state).settings;
        let limit = settings.max_json_bytes as u64;
        let idle_secs = settings.upload_idle_secs.max(1);
        if !is_json(req.headers()) {
            return Err(ApiError::UnsupportedType(
                "expected `Content-Type: application/json`".into(),
            ));
        }
        // A body sent slowly (or never finished) must not hold the connection: a JSON body is
        // small, so it gets the upload idle limit for the whole of it.
        let read = Bytes::from_request(req, state);
        let bytes = tokio::time::timeout(std::time::Duration::from_secs(idle_secs), read)
            .await
            .map_err(|_| ApiError::UploadStalled { idle_secs })?
            .map_err(|e| {
                if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::PayloadTooLarge { limit }
                } else {
                    ApiError::Malformed(e.body_text())
                }
            })?;
        if nesting_exceeds(&bytes, MAX_JSON_DEPTH) {
            return Err(ApiError::Malformed(format!(
                "JSON nested deeper than {MAX_JSON_DEPTH} levels"
            )));
        }
        match axum::Json::<T>::from_bytes(&bytes) {
            Ok(axum::Json(v)) => Ok(Json(v)),
            Err(rejection) => Err(json_rejection(rejection, limit)),
        }
    }
}

/// Splits axum's "Failed to deserialize …: path.to[0].field: what is wrong at line 1 column 9"
/// into the field path and the complaint, so a form can mark the right field.
fn field_and_message(text: &str) -> (String, String) {
    let rest = text.split_once("target type: ").map_or(text, |(_, r)| r);
    let rest = rest.split(" at line ").next().unwrap_or(rest);
    match rest.split_once(": ") {
        Some((path, message))
            if !path.is_empty()
                && path
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_.[]".contains(&b)) =>
        {
            (path.to_owned(), message.to_owned())
        }
        _ => match rest
            .strip_prefix("missing field `")
            .and_then(|r| r.split_once('`'))
        {
            Some((name, _)) => (name.to_owned(), "is required".to_owned()),
            None => ("body".to_owned(), rest.to_owned()),
        },
    }
}

/// Deepest nesting of arrays and objects accepted in a JSON body.
pub const MAX_JSON_DEPTH: usize = 128;

fn is_json(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|mime| {
            let mime = mime.trim().to_ascii_lowercase();
            mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
        })
        .unwrap_or(false)
}

/// Whether brackets outside strings nest deeper than `max`, found in one pass before any
/// parsing, so that a hostile body is a 400 whatever type it is parsed into.
fn nesting_exceeds(bytes: &[u8], max: usize) -> bool {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for &b in bytes {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

fn json_rejection(rejection: JsonRejection, limit: u64) -> ApiError {
    match rejection {
        JsonRejection::JsonDataError(e) => {
            let (field, message) = field_and_message(&e.body_text());
            ApiError::Validation(crate::domain::ValidationError::single(field, message))
        }
        JsonRejection::JsonSyntaxError(e) => ApiError::Malformed(e.body_text()),
        JsonRejection::MissingJsonContentType(_) => {
            ApiError::UnsupportedType("expected `Content-Type: application/json`".into())
        }
        JsonRejection::BytesRejection(e) => {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge { limit }
            } else {
                ApiError::Malformed(e.body_text())
            }
        }
        other => ApiError::Malformed(other.body_text()),
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// Path parameters; an unparsable id is a 400 that names it.
#[derive(Debug, Clone, Copy)]
pub struct Path<T>(pub T);

impl<S, T> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(v)| Path(v))
            .map_err(|e: PathRejection| ApiError::Malformed(at_most(&e.body_text(), MAX_ECHO_CHARS)))
    }
}

/// Most characters of what the client sent that an error message repeats back.
const MAX_ECHO_CHARS: usize = 200;

/// `text` cut to `max` characters (a path holding 60 KB of junk is not echoed whole).
fn at_most(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// Query parameters; unknown values of allowlisted fields are a 400.
#[derive(Debug, Clone, Copy)]
pub struct Query<T>(pub T);

impl<S, T> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(v)| Query(v))
            .map_err(|e: QueryRejection| ApiError::Malformed(e.body_text()))
    }
}

/// The peer address of a connection, put into each request by the server's accept loop.
#[derive(Debug, Clone, Copy)]
pub struct PeerAddr(pub std::net::SocketAddr);

/// Where a request came from: the peer address (or the first `X-Forwarded-For` hop when the
/// settings trust the ingress) and the user agent, for the audit trail and login throttling.
#[derive(Debug, Clone)]
pub struct Client(pub ClientInfo);

impl<S> FromRequestParts<S> for Client
where
    App: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let app = App::from_ref(state);
        Ok(Client(client_info(parts, app.settings.trust_forwarded_for)))
    }
}

fn client_info(parts: &Parts, trust_forwarded_for: bool) -> ClientInfo {
    let forwarded = trust_forwarded_for
        .then(|| parts.headers.get("x-forwarded-for"))
        .flatten()
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .and_then(|ip| ip.trim().parse::<std::net::IpAddr>().ok());
    let peer = parts.extensions.get::<PeerAddr>().map(|p| p.0.ip());
    let user_agent = parts
        .headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    ClientInfo::new(forwarded.or(peer).map(|ip| ip.to_string()), user_agent)
}

/// The caller, from `Authorization: Bearer <token>`; 401 without a live token, or when the
/// user or their organisation has been deactivated.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    /// The user and their client.
    pub caller: Caller,
    /// The stored hash of the token used, so logout can revoke exactly it.
    pub token_hash: String,
}

impl<S> FromRequestParts<S> for CurrentUser
where
    App: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let app = App::from_ref(state);
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty() && t.len() <= 128)
            .ok_or(ApiError::Unauthenticated)?;
        let hash = token_hash(token);
        let user = app
            .store
            .find_session_user(&hash, chrono::Utc::now())
            .await?
            .ok_or(ApiError::Unauthenticated)?;
        Ok(CurrentUser {
            caller: Caller {
                user,
                client: client_info(parts, app.settings.trust_forwarded_for),
            },
            token_hash: hash,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{at_most, nesting_exceeds};

    #[test]
    fn serde_paths_become_field_names() {
        let text = "Failed to deserialize the JSON body into the target type: phases[0].due_at: \
                    premature end of input at line 1 column 8";
        assert_eq!(
            super::field_and_message(text),
            ("phases[0].due_at".to_owned(), "premature end of input".to_owned())
        );
        let text = "Failed to deserialize the JSON body into the target type: missing field `lat` at line 1 column 2";
        assert_eq!(
            super::field_and_message(text),
            ("lat".to_owned(), "is required".to_owned())
        );
    }

    #[test]
    fn echoed_input_is_cut() {
        assert_eq!(at_most("abc", 5), "abc");
        assert_eq!(at_most(&"x".repeat(300), 200).chars().count(), 201);
        assert_eq!(at_most("日本語テキスト", 3), "日本語…");
    }

    #[test]
    fn nesting_is_counted_outside_strings_only() {
        assert!(!nesting_exceeds(br#"{"a":[1,{"b":"[[[["}]}"#, 3));
        assert!(nesting_exceeds(b"[[[[]]]]", 3));
        assert!(!nesting_exceeds(br#"["\"[[[[[["]"#, 2));
    }
}
