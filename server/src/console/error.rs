//! The console's one error answer: an HTML page with the status, the problem's code and its
//! words (and each field that was wrong), so a refused action explains itself in the browser
//! the way problem+json does for the API. Signing in is a redirect, not an error page.

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use fieldproof_core::ApiError;

use super::session::local_path;

/// Why a console request was not served.
#[derive(Debug)]
pub enum ConsoleError {
    /// No live session: go to the sign-in page and come back to `next`.
    SignIn {
        /// Where the user was going.
        next: String,
    },
    /// A form without this session's CSRF token, or one started by another site.
    Csrf,
    /// What the core services refused, with their status and words.
    Api(ApiError),
    /// A template failed to render (a bug, logged).
    Render(askama::Error),
}

impl From<ApiError> for ConsoleError {
    fn from(e: ApiError) -> Self {
        ConsoleError::Api(e)
    }
}

impl From<fieldproof_core::domain::ValidationError> for ConsoleError {
    fn from(e: fieldproof_core::domain::ValidationError) -> Self {
        ConsoleError::Api(e.into())
    }
}

impl From<askama::Error> for ConsoleError {
    fn from(e: askama::Error) -> Self {
        ConsoleError::Render(e)
    }
}

/// One wrong field of a refused form.
struct FieldWords {
    field: String,
    message: String,
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    status: u16,
    heading_zh: &'static str,
    heading_en: &'static str,
    code: String,
    detail: String,
    fields: Vec<FieldWords>,
}

/// A heading in both languages for a problem code: the page is shown before the language of an
/// unknown visitor is known, and a short bilingual heading serves both.
fn headings(code: &str, status: StatusCode) -> (&'static str, &'static str) {
    match code {
        "csrf" => (
            "表单已失效，请刷新页面后重试",
            "This form has expired; reload the page and try again",
        ),
        "invalid_transition" => (
            "当前状态下不能进行此操作",
            "This cannot be done in the task's current state",
        ),
        "validation_failed" => ("填写的内容有误", "Some fields are not right"),
        "not_found" => ("找不到该内容，或您无权查看", "Not found, or not yours to see"),
        "forbidden" => ("您的角色不能进行此操作", "Your role may not do this"),
        "too_many_urges" => ("催办过于频繁", "Urged too recently"),
        "too_many_attempts" => (
            "登录失败次数过多，请稍后再试",
            "Too many failed sign-ins; try again later",
        ),
        "payload_too_large" => ("提交的内容过大", "What was sent is too large"),
        _ if status.is_server_error() => (
            "服务器暂时无法完成请求",
            "The server could not complete the request",
        ),
        _ => ("请求无法完成", "The request could not be completed"),
    }
}

fn page(status: StatusCode, code: &str, detail: String, fields: Vec<FieldWords>) -> Response {
    let (heading_zh, heading_en) = headings(code, status);
    let page = ErrorPage {
        status: status.as_u16(),
        heading_zh,
        heading_en,
        code: code.to_owned(),
        detail,
        fields,
    };
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "the error page failed to render");
            (status, heading_en).into_response()
        }
    }
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        match self {
            ConsoleError::SignIn { next } => {
                let next = if local_path(&next) { next } else { "/".to_owned() };
                let target = format!("/login?next={}", urlencode(&next));
                let mut response = StatusCode::SEE_OTHER.into_response();
                if let Ok(location) = HeaderValue::from_str(&target) {
                    response.headers_mut().insert(header::LOCATION, location);
                }
                response
            }
            ConsoleError::Csrf => page(
                StatusCode::FORBIDDEN,
                "csrf",
                "the form did not carry this session's token, or came from another site".to_owned(),
                Vec::new(),
            ),
            ConsoleError::Api(e) => {
                let retry_after = match &e {
                    ApiError::TooManyAttempts { retry_after_secs }
                    | ApiError::TooManyUrges { retry_after_secs, .. } => Some(*retry_after_secs),
                    _ => None,
                };
                let (code, status) = e.code_and_status();
                let problem = e.problem();
                let detail = problem["detail"].as_str().unwrap_or_default().to_owned();
                let fields = problem["errors"]
                    .as_array()
                    .map(|errors| {
                        errors
                            .iter()
                            .map(|f| FieldWords {
                                field: f["field"].as_str().unwrap_or_default().to_owned(),
                                message: f["message"].as_str().unwrap_or_default().to_owned(),
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let mut response = page(status, code, detail, fields);
                if let Some(secs) = retry_after {
                    response
                        .headers_mut()
                        .insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
                }
                response
            }
            ConsoleError::Render(e) => {
                tracing::error!(error = %e, "a console page failed to render");
                page(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal_error",
                    "the server could not complete the request".to_owned(),
                    Vec::new(),
                )
            }
        }
    }
}

/// Percent-encodes a query value.
pub fn urlencode(value: &str) -> String {
    serde_urlencoded::to_string([("", value)])
        .map(|s| s.trim_start_matches('=').to_owned())
        .unwrap_or_default()
}
