//! Reviews of phase reports and extension requests: `/records/{id}/review`,
//! `/phases/{id}/extensions`, `/extensions/{id}/grant|refuse`.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use chrono::Utc;
use fieldproof_core::domain::ValidationError;
use fieldproof_core::ids::{ExtensionId, PhaseId, RecordId};
use fieldproof_core::service::{records, workflow};
use fieldproof_core::web::dto::RecordDto;
use fieldproof_core::web::{CurrentUser, Json, Path};
use fieldproof_core::{ApiError, App};

use crate::dto::{CommentBody, ExtensionBody, ExtensionDto, PhaseHistoryDto, ReviewBody};

/// Review and extension routes.
pub fn router() -> Router<App> {
    Router::new()
        .route("/records/{id}", get(find_record))
        .route("/records/{id}/review", post(review))
        .route("/phases/{id}", get(find_phase))
        .route("/phases/{id}/extensions", post(request_extension))
        .route("/extensions/{id}/grant", post(grant))
        .route("/extensions/{id}/refuse", post(refuse))
}

async fn find_record(
    State(app): State<App>,
    caller: CurrentUser,
    Path(id): Path<RecordId>,
) -> Result<Json<RecordDto>, ApiError> {
    let (record, photos) = records::find_record(&app, &caller.caller, id).await?;
    Ok(Json(RecordDto::new(&record, &photos)))
}

async fn review(
    State(app): State<App>,
    caller: CurrentUser,
    Path(id): Path<RecordId>,
    Json(body): Json<ReviewBody>,
) -> Result<Json<RecordDto>, ApiError> {
    let record = records::review(
        &app,
        &caller.caller,
        id,
        body.decision,
        body.comment,
        body.new_due_at,
    )
    .await?;
    let photos = app.store.list_photos(record.id).await?;
    Ok(Json(RecordDto::new(&record, &photos)))
}

async fn find_phase(
    State(app): State<App>,
    caller: CurrentUser,
    Path(id): Path<PhaseId>,
) -> Result<Json<PhaseHistoryDto>, ApiError> {
    let view = workflow::phase_view(&app, &caller.caller, id).await?;
    Ok(Json(PhaseHistoryDto::new(
        &view,
        &app.settings.light_rule(Utc::now()),
    )))
}

async fn request_extension(
    State(app): State<App>,
    caller: CurrentUser,
    Path(id): Path<PhaseId>,
    Json(body): Json<ExtensionBody>,
) -> Result<(StatusCode, Json<ExtensionDto>), ApiError> {
    let ext = workflow::request_extension(&app, &caller.caller, id, body.into()).await?;
    Ok((StatusCode::CREATED, Json(ExtensionDto::from(&ext))))
}

async fn grant(
    State(app): State<App>,
    caller: CurrentUser,
    Path(id): Path<ExtensionId>,
    Json(body): Json<CommentBody>,
) -> Result<Json<ExtensionDto>, ApiError> {
    let ext = workflow::decide_extension(&app, &caller.caller, id, true, body.comment).await?;
    Ok(Json(ExtensionDto::from(&ext)))
}

async fn refuse(
    State(app): State<App>,
    caller: CurrentUser,
    Path(id): Path<ExtensionId>,
    Json(body): Json<CommentBody>,
) -> Result<Json<ExtensionDto>, ApiError> {
    let comment = body.comment.ok_or_else(|| {
        ApiError::from(ValidationError::single(
            "comment",
            "is required to refuse an extension",
        ))
    })?;
    let ext = workflow::decide_extension(&app, &caller.caller, id, false, Some(comment)).await?;
    Ok(Json(ExtensionDto::from(&ext)))
}
