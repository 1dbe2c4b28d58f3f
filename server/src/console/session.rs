//! Console sign-in: the session cookie, the CSRF token every form carries, and the extractors
//! that make a page or an action impossible to reach without them.
//!
//! The cookie holds the same kind of revocable, expiring token as the API's bearer tokens (the
//! same sessions table), but only the console reads it: `/api/v1` stays bearer-only, so a
//! forged cross-site request can never ride on the cookie there.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use fieldproof_core::auth::token_hash;
use fieldproof_core::service::Caller;
use fieldproof_core::web::Client;
use fieldproof_core::{ApiError, App};
use serde::de::DeserializeOwned;

use super::error::ConsoleError;
use super::i18n::Lang;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "fp_session";

/// Largest console form accepted: room for the longest comment the domain rules allow, in
/// percent-encoded Chinese, so a too-long comment is refused in words (422) rather than by size.
const MAX_FORM_BYTES: usize = 256 * 1024;

/// The value of cookie `name` in the request, if sent.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// A `Set-Cookie` value for the session: only over HTTPS (browsers treat loopback as
/// secure), never readable by script, never sent on cross-site requests.
pub fn session_cookie(token: &str, max_age_secs: i64) -> HeaderValue {
    let value = format!(
        "{SESSION_COOKIE}={token}; Path=/; Max-Age={max_age_secs}; Secure; HttpOnly; SameSite=Strict"
    );
    HeaderValue::from_str(&value)
        .unwrap_or_else(|_| HeaderValue::from_static("fp_session=; Path=/; Max-Age=0"))
}

/// A `Set-Cookie` value that removes the session cookie.
pub fn cleared_session_cookie() -> HeaderValue {
    HeaderValue::from_static("fp_session=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Strict")
}

/// The CSRF token of a session: a hash of the session token under its own label. A page on
/// another site can neither read the cookie nor this token, and it changes with every sign-in.
fn csrf_token(session_token: &str) -> String {
    token_hash(&format!("fieldproof console csrf\n{session_token}"))
}

/// Compares two tokens in time independent of where they differ.
fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Refuses a state-changing request another site started: browsers send `Sec-Fetch-Site`
/// and `Origin` on such requests, and either naming a foreign origin is enough to refuse.
pub fn refuse_cross_site(parts: &Parts) -> Result<(), ConsoleError> {
    let fetch_site = parts.headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    if matches!(fetch_site, Some("cross-site" | "same-site")) {
        return Err(ConsoleError::Csrf);
    }
    if let Some(origin) = parts.headers.get(header::ORIGIN) {
        let host = parts.headers.get(header::HOST).and_then(|v| v.to_str().ok());
        let origin_host = origin
            .to_str()
            .ok()
            .and_then(|o| o.split_once("://"))
            .map(|(_, rest)| rest);
        if origin_host.is_none() || origin_host != host {
            return Err(ConsoleError::Csrf);
        }
    }
    Ok(())
}

/// The signed-in console user: from the session cookie, or a redirect to the sign-in page.
#[derive(Debug, Clone)]
pub struct ConsoleUser {
    /// The user and their client, as the core services want them.
    pub caller: Caller,
    /// The stored hash of the session token, so signing out revokes exactly it.
    pub token_hash: String,
    /// The token every form of this session must carry.
    pub csrf: String,
    /// The page language.
    pub lang: Lang,
}

impl FromRequestParts<App> for ConsoleUser {
    type Rejection = ConsoleError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let next = parts.uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();
        let sign_in = || ConsoleError::SignIn { next: next.clone() };
        let token = cookie(&parts.headers, SESSION_COOKIE)
            .filter(|t| !t.is_empty() && t.len() <= 128)
            .ok_or_else(sign_in)?;
        let hash = token_hash(&token);
        let user = app
            .store
            .find_session_user(&hash, chrono::Utc::now())
            .await
            .map_err(ApiError::from)?
            .ok_or_else(sign_in)?;
        let Client(client) = Client::from_request_parts(parts, app).await?;
        Ok(ConsoleUser {
            caller: Caller { user, client },
            token_hash: hash,
            csrf: csrf_token(&token),
            lang: Lang::from_headers(&parts.headers),
        })
    }
}

/// A console form post: the signed-in user, checked against cross-site origins and the
/// session's CSRF token, and the form's fields. Every state-changing console route takes one,
/// so none can forget the check.
#[derive(Debug)]
pub struct Post<T> {
    /// Who posted it.
    pub user: ConsoleUser,
    /// The fields.
    pub form: T,
    /// Every field as sent, for fields that repeat (check boxes).
    pub pairs: Vec<(String, String)>,
}

/// The values of field `name`, in the order sent.
pub fn read_pairs<'a>(pairs: &'a [(String, String)], name: &'a str) -> impl Iterator<Item = &'a str> {
    pairs
        .iter()
        .filter(move |(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Parses an `application/x-www-form-urlencoded` body of at most [`MAX_FORM_BYTES`].
pub async fn read_form<T: DeserializeOwned>(
    req: Request,
    app: &App,
) -> Result<(Vec<(String, String)>, T), ConsoleError> {
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(ApiError::UnsupportedType(
            "expected a form (`application/x-www-form-urlencoded`)".into(),
        )
        .into());
    }
    let (parts, body) = req.into_parts();
    let limited = Request::from_parts(
        parts,
        axum::body::Body::new(http_body_util::Limited::new(body, MAX_FORM_BYTES)),
    );
    // A body sent slowly, or never finished, must not hold the connection: a form is small,
    // so the whole of it gets the upload idle limit, as a JSON body does.
    let idle_secs = app.settings.upload_idle_secs.max(1);
    let bytes = tokio::time::timeout(
        std::time::Duration::from_secs(idle_secs),
        Bytes::from_request(limited, app),
    )
    .await
    .map_err(|_| ApiError::UploadStalled { idle_secs })?
    .map_err(|_| ApiError::PayloadTooLarge {
        limit: MAX_FORM_BYTES as u64,
    })?;
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes)
        .map_err(|e| ApiError::Malformed(format!("the form does not parse: {e}")))?;
    let form = serde_urlencoded::from_bytes(&bytes)
        .map_err(|e| ApiError::Malformed(format!("the form is incomplete: {e}")))?;
    Ok((pairs, form))
}

impl<T: DeserializeOwned> FromRequest<App> for Post<T> {
    type Rejection = ConsoleError;

    async fn from_request(req: Request, app: &App) -> Result<Self, Self::Rejection> {
        if req.method() != Method::POST {
            return Err(ApiError::MethodNotAllowed.into());
        }
        let (mut parts, body) = req.into_parts();
        refuse_cross_site(&parts)?;
        let user = ConsoleUser::from_request_parts(&mut parts, app).await?;
        let (pairs, form) = read_form(Request::from_parts(parts, body), app).await?;
        let sent = pairs.iter().find(|(k, _)| k == "csrf").map(|(_, v)| v.as_str());
        if !sent.is_some_and(|s| same_token(s, &user.csrf)) {
            return Err(ConsoleError::Csrf);
        }
        Ok(Post { user, form, pairs })
    }
}

/// Longest return path followed after signing in or choosing a language; a longer one is
/// dropped rather than sent on as a header proxies refuse.
const MAX_RETURN_PATH: usize = 2048;

/// Whether `next` is a path on this site (not `//host` or `/\host`, which browsers read as
/// another site), so a sign-in can return there without becoming an open redirect.
pub fn local_path(next: &str) -> bool {
    next.len() <= MAX_RETURN_PATH
        && next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && !next.chars().any(char::is_control)
}

#[cfg(test)]
mod tests {
    use super::{cookie, local_path, same_token};
    use axum::http::{HeaderMap, HeaderValue, header};

    #[test]
    fn cookies_are_found_by_exact_name() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("xfp_session=no; fp_session=yes; fp_lang=en"),
        );
        assert_eq!(cookie(&headers, "fp_session").as_deref(), Some("yes"));
        assert_eq!(cookie(&headers, "fp_lang").as_deref(), Some("en"));
        assert_eq!(cookie(&headers, "missing"), None);
    }

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        assert!(local_path("/tasks?light=red"));
        assert!(!local_path("//evil.example/"));
        assert!(!local_path("/\\evil.example/"));
        assert!(!local_path("https://evil.example/"));
        assert!(!local_path("/tasks\r\nSet-Cookie: x"));
        assert!(!local_path(&format!("/{}", "a".repeat(5000))));
    }

    #[test]
    fn tokens_compare_whole() {
        assert!(same_token("abc", "abc"));
        assert!(!same_token("abc", "abd"));
        assert!(!same_token("abc", "ab"));
    }
}
