//! The one error type of the service layer, and its single mapping to problem+json.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::auth::AuthError;
use crate::docinfo::DocError;
use crate::domain::{FieldError, InvalidTransition, ValidationError};
use crate::imageinfo::ImageInfoError;
use crate::storage::StorageError;
use crate::store::StoreError;

/// Everything a request can fail with; each variant has one stable code and status.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The body is not well-formed (bad JSON syntax, bad path or query).
    #[error("{0}")]
    Malformed(String),
    /// No valid bearer token.
    #[error("a valid bearer token is required (missing, expired or revoked)")]
    Unauthenticated,
    /// Wrong username or password.
    #[error("invalid username or password")]
    BadCredentials,
    /// A signed callback whose signature is missing, wrong or stale.
    #[error("{0}")]
    BadSignature(&'static str),
    /// The role may not take this action.
    #[error("{0}")]
    Forbidden(&'static str),
    /// No such object, or one the caller may not see.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The route exists but not with this method.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// The id is taken by something else.
    #[error("{detail}")]
    Conflict {
        /// Stable code, e.g. `record_conflict`.
        code: &'static str,
        /// What conflicts.
        detail: String,
    },
    /// The workflow does not allow this action in the current state.
    #[error(transparent)]
    InvalidTransition(InvalidTransition),
    /// Too many failed sign-ins; try again later.
    #[error("too many failed sign-ins; try again in {retry_after_secs} s")]
    TooManyAttempts {
        /// Seconds until the next attempt is allowed.
        retry_after_secs: i64,
    },
    /// The task was urged by SMS within the last urge window.
    #[error("this task was already urged by SMS within the last {window_secs} seconds; try again later")]
    TooManyUrges {
        /// The window's length.
        window_secs: u64,
        /// Seconds until the next urge is allowed.
        retry_after_secs: i64,
    },
    /// A document's bytes are not what it claims to be.
    #[error(transparent)]
    Document(#[from] DocError),
    /// The body is larger than allowed.
    #[error("the body is larger than the limit of {limit} bytes")]
    PayloadTooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// The client sent nothing for too long in the middle of an upload.
    #[error("the upload sent nothing for {idle_secs} s and was cut off; resend it")]
    UploadStalled {
        /// The idle limit.
        idle_secs: u64,
    },
    /// A tus request without `Tus-Resumable: 1.0.0`.
    #[error("send `Tus-Resumable: 1.0.0`; it is the only tus version served")]
    TusVersion,
    /// An append at an offset other than the upload's.
    #[error("the upload is at offset {expected}, not {provided}; ask with HEAD and resume from there")]
    UploadOffsetMismatch {
        /// The upload's committed offset.
        expected: u64,
        /// The offset the client sent.
        provided: u64,
    },
    /// The chunk's bytes do not match the checksum the client sent; they were discarded.
    #[error("the chunk does not match its {algorithm} checksum and was discarded; send it again")]
    ChecksumMismatch {
        /// The algorithm named in `Upload-Checksum`.
        algorithm: &'static str,
    },
    /// The upload's time ran out.
    #[error("the upload expired; start a new one")]
    UploadExpired,
    /// A chunk that would pass the upload's declared length.
    #[error("the chunk goes past the upload's length of {length} bytes and was discarded")]
    UploadLengthExceeded {
        /// The declared length.
        length: u64,
    },
    /// An append to an upload that is already complete.
    #[error("the upload is already complete")]
    UploadCompleted,
    /// A length that disagrees with the one the upload already has.
    #[error("{0}")]
    UploadLengthMismatch(String),
    /// An `Idempotency-Key` already used for a different request.
    #[error("this Idempotency-Key was used for a different request; use a new key for a new request")]
    IdempotencyKeyReused,
    /// The first request with this `Idempotency-Key` is still running.
    #[error("the first request with this Idempotency-Key is still running; retry in a moment")]
    IdempotencyKeyInFlight,
    /// A sync cursor this server did not make for this user, or one that was edited.
    #[error("the cursor is not one this server gave you; sync again without a cursor")]
    InvalidCursor,
    /// The media type is not accepted.
    #[error("{0}")]
    UnsupportedType(String),
    /// Parsed, but some fields are not acceptable.
    #[error(transparent)]
    Validation(#[from] ValidationError),
    /// An upload of zero bytes.
    #[error("the file is empty")]
    EmptyFile,
    /// The image ends before its data does.
    #[error("the image is truncated")]
    ImageTruncated,
    /// The image header does not make sense.
    #[error("the image is malformed: {0}")]
    ImageMalformed(&'static str),
    /// More pixels than the configured limit.
    #[error("the image declares {width}×{height} pixels, more than the limit of {max_pixels}")]
    ImageTooLarge {
        /// Declared width.
        width: u32,
        /// Declared height.
        height: u32,
        /// The limit.
        max_pixels: u64,
    },
    /// The database failed.
    #[error("database failure")]
    Store(#[from] StoreError),
    /// Object storage failed.
    #[error("object storage failure")]
    Storage(#[from] StorageError),
    /// Password hashing failed.
    #[error("authentication failure")]
    Auth(#[from] AuthError),
    /// Anything else that is our fault.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<ImageInfoError> for ApiError {
    fn from(e: ImageInfoError) -> Self {
        match e {
            ImageInfoError::Empty => ApiError::EmptyFile,
            ImageInfoError::Unsupported(what) => ApiError::UnsupportedType(format!(
                "the file is {what}; send a JPEG, PNG, WebP or HEIC image"
            )),
            ImageInfoError::Truncated => ApiError::ImageTruncated,
            ImageInfoError::Malformed(what) => ApiError::ImageMalformed(what),
            ImageInfoError::Io(e) => ApiError::Internal(format!("reading staged upload: {e}")),
        }
    }
}

impl ApiError {
    /// The stable code and HTTP status of this error (the one table of them).
    pub fn code_and_status(&self) -> (&'static str, StatusCode) {
        use StatusCode as S;
        match self {
            ApiError::Malformed(_) => ("malformed_request", S::BAD_REQUEST),
            ApiError::Unauthenticated => ("unauthenticated", S::UNAUTHORIZED),
            ApiError::BadCredentials => ("bad_credentials", S::UNAUTHORIZED),
            ApiError::BadSignature(_) => ("bad_signature", S::UNAUTHORIZED),
            ApiError::Forbidden(_) => ("forbidden", S::FORBIDDEN),
            ApiError::NotFound(_) => ("not_found", S::NOT_FOUND),
            ApiError::MethodNotAllowed => ("method_not_allowed", S::METHOD_NOT_ALLOWED),
            ApiError::Conflict { code, .. } => (code, S::CONFLICT),
            ApiError::InvalidTransition(_) => ("invalid_transition", S::CONFLICT),
            ApiError::TooManyAttempts { .. } => ("too_many_attempts", S::TOO_MANY_REQUESTS),
            ApiError::TooManyUrges { .. } => ("too_many_urges", S::TOO_MANY_REQUESTS),
            ApiError::Document(DocError::Empty) => ("empty_file", S::UNPROCESSABLE_ENTITY),
            ApiError::Document(DocError::Malformed(_)) => ("document_malformed", S::UNPROCESSABLE_ENTITY),
            ApiError::Document(_) => ("unsupported_type", S::UNSUPPORTED_MEDIA_TYPE),
            ApiError::PayloadTooLarge { .. } => ("payload_too_large", S::PAYLOAD_TOO_LARGE),
            ApiError::UploadStalled { .. } => ("upload_stalled", S::REQUEST_TIMEOUT),
            ApiError::UnsupportedType(_) => ("unsupported_type", S::UNSUPPORTED_MEDIA_TYPE),
            ApiError::InvalidCursor => ("invalid_cursor", S::BAD_REQUEST),
            ApiError::IdempotencyKeyReused => ("idempotency_key_reused", S::UNPROCESSABLE_ENTITY),
            ApiError::IdempotencyKeyInFlight => ("idempotency_key_in_flight", S::CONFLICT),
            ApiError::TusVersion => ("tus_version_unsupported", S::PRECONDITION_FAILED),
            ApiError::UploadOffsetMismatch { .. } => ("upload_offset_mismatch", S::CONFLICT),
            // 460 is what tus's checksum extension defines for this.
            ApiError::ChecksumMismatch { .. } => {
                ("checksum_mismatch", S::from_u16(460).unwrap_or(S::BAD_REQUEST))
            }
            ApiError::UploadExpired => ("upload_expired", S::GONE),
            ApiError::UploadLengthExceeded { .. } => ("upload_length_exceeded", S::PAYLOAD_TOO_LARGE),
            ApiError::UploadCompleted => ("upload_completed", S::BAD_REQUEST),
            ApiError::UploadLengthMismatch(_) => ("inconsistent_upload_length", S::BAD_REQUEST),
            ApiError::Validation(_) => ("validation_failed", S::UNPROCESSABLE_ENTITY),
            ApiError::EmptyFile => ("empty_file", S::UNPROCESSABLE_ENTITY),
            ApiError::ImageTruncated => ("image_truncated", S::UNPROCESSABLE_ENTITY),
            ApiError::ImageMalformed(_) => ("image_malformed", S::UNPROCESSABLE_ENTITY),
            ApiError::ImageTooLarge { .. } => ("image_too_large", S::UNPROCESSABLE_ENTITY),
            ApiError::Store(StoreError::Duplicate(_)) => ("already_exists", S::CONFLICT),
            ApiError::Store(_) | ApiError::Storage(_) | ApiError::Auth(_) | ApiError::Internal(_) => {
                ("internal_error", S::INTERNAL_SERVER_ERROR)
            }
        }
    }
}

/// An `application/problem+json` body (RFC 9457).
#[derive(Debug, Serialize)]
struct Problem<'a> {
    #[serde(rename = "type")]
    kind: String,
    title: &'a str,
    status: u16,
    code: &'a str,
    detail: String,
    #[serde(skip_serializing_if = "<[FieldError]>::is_empty")]
    errors: &'a [FieldError],
    /// The IETF resumable-upload draft's members of a mismatching-offset problem.
    #[serde(rename = "expected-offset", skip_serializing_if = "Option::is_none")]
    expected_offset: Option<u64>,
    #[serde(rename = "provided-offset", skip_serializing_if = "Option::is_none")]
    provided_offset: Option<u64>,
}

/// The problem type URI: the IETF resumable-upload draft registers its own for the errors it
/// defines, so clients that speak it recognise them; ours otherwise.
fn problem_type(error: &ApiError, code: &str) -> String {
    let registered = match error {
        ApiError::UploadOffsetMismatch { .. } => Some("mismatching-upload-offset"),
        ApiError::UploadCompleted => Some("completed-upload"),
        ApiError::UploadLengthMismatch(_) => Some("inconsistent-upload-length"),
        _ => None,
    };
    match registered {
        Some(name) => format!("https://iana.org/assignments/http-problem-types#{name}"),
        None => format!("urn:fieldproof:problem:{code}"),
    }
}

impl ApiError {
    /// The problem+json body of this error, as a value: the whole answer of a request, or one
    /// item's answer inside a batch. Server errors are logged here and say nothing internal.
    pub fn problem(&self) -> serde_json::Value {
        let (code, status) = self.code_and_status();
        let detail = if status.is_server_error() {
            // The chain is logged once here, inside the request span; the body says nothing internal.
            tracing::error!(error = ?self, "request failed");
            "the server could not complete the request".to_owned()
        } else {
            match self {
                ApiError::Store(StoreError::Duplicate(what)) => format!("{what} is already taken"),
                other => other.to_string(),
            }
        };
        let errors = match self {
            ApiError::Validation(v) => v.errors.as_slice(),
            _ => &[],
        };
        let (expected_offset, provided_offset) = match self {
            ApiError::UploadOffsetMismatch { expected, provided } => (Some(*expected), Some(*provided)),
            _ => (None, None),
        };
        let body = Problem {
            kind: problem_type(self, code),
            // 460 is tus's own status; HTTP has no reason phrase for it.
            title: status
                .canonical_reason()
                .unwrap_or(if code == "checksum_mismatch" {
                    "Checksum Mismatch"
                } else {
                    "Error"
                }),
            status: status.as_u16(),
            code,
            detail,
            errors,
            expected_offset,
            provided_offset,
        };
        serde_json::to_value(&body).unwrap_or_default()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.code_and_status().1;
        let body = self.problem();
        let json = serde_json::to_vec(&body).unwrap_or_default();
        let mut response = (status, json).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let ApiError::TooManyAttempts { retry_after_secs }
        | ApiError::TooManyUrges { retry_after_secs, .. } = &self
            && let Ok(v) = HeaderValue::from_str(&retry_after_secs.max(&1).to_string())
        {
            headers.insert(header::RETRY_AFTER, v);
        }
        if let ApiError::IdempotencyKeyInFlight = &self {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        if let ApiError::TusVersion = &self {
            headers.insert("tus-version", HeaderValue::from_static("1.0.0"));
        }
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"fieldproof\""),
            );
        }
        response
    }
}
