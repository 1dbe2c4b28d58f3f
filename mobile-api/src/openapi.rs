//! The OpenAPI 3.1 document of `/mobile/v1`, generated from the handlers' annotations and the
//! wire types (utoipa): every route is registered through it, so none can be left out.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

/// The document's frame: title, server prefix, the bearer scheme and the shared schemas.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Fieldproof mobile API",
        description = "The phone-facing API: records and photos under ids the phone chose, \
                       resumable uploads (tus 1.0.0 and the IETF resumable-upload draft), offline \
                       sync and batch push. Errors are application/problem+json with a stable `code`. \
                       Every request may carry `Device-Time` (the phone's clock, RFC 3339; 400 when \
                       it is not a time) and, on POSTs, `Idempotency-Key`."
    ),
    servers((url = "/mobile/v1")),
    modifiers(&BearerToken),
    components(schemas(Problem, FieldErrorDoc))
)]
pub struct ApiDoc;

/// Adds the bearer-token scheme every route but `OPTIONS /uploads` uses.
struct BearerToken;

impl Modify for BearerToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// An error answer (RFC 9457 problem details), as every route sends it.
#[derive(ToSchema)]
#[expect(
    dead_code,
    reason = "describes the body ApiError builds; never constructed here"
)]
pub struct Problem {
    /// `urn:fieldproof:problem:<code>`, or the IETF draft's registered type for its errors.
    #[schema(rename = "type")]
    kind: String,
    /// The status's reason phrase.
    title: String,
    /// The HTTP status.
    status: u16,
    /// Stable machine-readable code, e.g. `upload_offset_mismatch`.
    code: String,
    /// What went wrong, in words.
    detail: String,
    /// Field by field, for `validation_failed`.
    errors: Option<Vec<FieldErrorDoc>>,
    /// Where the upload is, for a mismatching offset.
    #[schema(rename = "expected-offset")]
    expected_offset: Option<u64>,
    /// The offset the client sent, for a mismatching offset.
    #[schema(rename = "provided-offset")]
    provided_offset: Option<u64>,
}

/// One invalid field of a `validation_failed` problem.
#[derive(ToSchema)]
#[expect(
    dead_code,
    reason = "describes the body ApiError builds; never constructed here"
)]
pub struct FieldErrorDoc {
    /// The field's path, e.g. `phases[1].due_at`.
    field: String,
    /// Why it is invalid.
    message: String,
}
