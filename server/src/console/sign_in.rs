//! Signing in and out of the console, and choosing its language.

use askama::Template;
use axum::Router;
use axum::extract::{FromRequestParts, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use fieldproof_core::service::accounts;
use fieldproof_core::web::Client;
use fieldproof_core::{ApiError, App};
use serde::Deserialize;

use super::error::ConsoleError;
use super::i18n::{LANG_COOKIE, Lang};
use super::session::{self, Post, cleared_session_cookie, local_path, session_cookie};

/// Sign-in routes.
pub fn router() -> Router<App> {
    Router::new()
        .route("/login", get(show).post(sign_in))
        .route("/logout", post(sign_out))
        .route("/lang", get(choose_language))
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    lang: Lang,
    next: String,
    username: String,
    message: Option<&'static str>,
}

/// `?next=` of the sign-in page.
#[derive(Debug, Deserialize)]
struct Next {
    next: Option<String>,
}

fn safe_next(next: Option<String>) -> String {
    next.filter(|n| local_path(n))
        .unwrap_or_else(|| "/tasks".to_owned())
}

async fn show(headers: HeaderMap, Query(q): Query<Next>) -> Result<Response, ConsoleError> {
    let page = LoginPage {
        lang: Lang::from_headers(&headers),
        next: safe_next(q.next),
        username: String::new(),
        message: None,
    };
    Ok(super::render(&page)?.into_response())
}

#[derive(Debug, Deserialize)]
struct Credentials {
    username: String,
    password: String,
    next: Option<String>,
}

/// Checks the credentials through the same throttled sign-in as the API and sets the session
/// cookie; a refusal shows the form again with the reason.
async fn sign_in(State(app): State<App>, req: Request) -> Result<Response, ConsoleError> {
    let (mut parts, body) = req.into_parts();
    // No session exists yet to bind a token to: the origin check and SameSite=Strict keep
    // other sites from signing a victim into an account of theirs.
    session::refuse_cross_site(&parts)?;
    let lang = Lang::from_headers(&parts.headers);
    let Client(client) = Client::from_request_parts(&mut parts, &app).await?;
    let (_, form): (_, Credentials) = session::read_form(Request::from_parts(parts, body), &app).await?;
    let next = safe_next(form.next);
    match accounts::login(&app, form.username.trim(), &form.password, &client).await {
        Ok((token, _)) => {
            let mut response = Redirect::to(&next).into_response();
            let max_age = app.settings.token_ttl_hours * 3600;
            response
                .headers_mut()
                .insert(header::SET_COOKIE, session_cookie(&token, max_age));
            Ok(response)
        }
        Err(e @ (ApiError::BadCredentials | ApiError::TooManyAttempts { .. } | ApiError::Malformed(_))) => {
            let retry_after = match e {
                ApiError::TooManyAttempts { retry_after_secs } => Some(retry_after_secs),
                _ => None,
            };
            let (message, status) = match e {
                ApiError::TooManyAttempts { .. } => (
                    "登录失败次数过多，请稍后再试。Too many failed sign-ins; try again later.",
                    StatusCode::TOO_MANY_REQUESTS,
                ),
                _ => (
                    "用户名或密码错误。Wrong username or password.",
                    StatusCode::UNAUTHORIZED,
                ),
            };
            let page = LoginPage {
                lang,
                next,
                username: form.username.chars().take(64).collect(),
                message: Some(message),
            };
            let mut response = (status, super::render(&page)?).into_response();
            if let Some(secs) = retry_after {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
            }
            Ok(response)
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Deserialize)]
struct Nothing {}

/// Revokes the session and clears the cookie.
async fn sign_out(State(app): State<App>, post: Post<Nothing>) -> Result<Response, ConsoleError> {
    accounts::logout(&app, &post.user.caller, &post.user.token_hash).await?;
    let mut response = Redirect::to("/login").into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, cleared_session_cookie());
    Ok(response)
}

#[derive(Debug, Deserialize)]
struct LanguageChoice {
    to: String,
    back: Option<String>,
}

/// Remembers the language in a cookie for a year and returns to the page.
async fn choose_language(Query(q): Query<LanguageChoice>) -> Response {
    let value = if q.to == "en" { "en" } else { "zh" };
    let mut response = Redirect::to(&safe_next(q.back)).into_response();
    let cookie = format!("{LANG_COOKIE}={value}; Path=/; Max-Age=31536000; SameSite=Lax");
    if let Ok(cookie) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}
