//! The console's forms: approve or reject a plan, accept or return a report, grant or refuse
//! an extension, urge, close or cancel. Each maps onto the same core service as its API
//! route; the state machine's refusals come back as the console's error page, in words.

use axum::Router;
use axum::extract::State;
use axum::response::Redirect;
use axum::routing::post;
use chrono::{NaiveDate, NaiveTime, TimeZone, Utc};
use fieldproof_core::domain::{ReviewDecision, ValidationError};
use fieldproof_core::ids::{ExtensionId, PhaseId, RecordId, TaskId};
use fieldproof_core::service::workflow::{self, PlanDecision};
use fieldproof_core::service::{SUPERVISING, records, require_role, tasks, visible_task};
use fieldproof_core::store::EndKind;
use fieldproof_core::web::Path;
use fieldproof_core::{ApiError, App};
use serde::Deserialize;

use super::error::ConsoleError;
use super::session::Post;

/// Action routes (all `POST`, all CSRF-checked through [`Post`]).
pub fn router() -> Router<App> {
    Router::new()
        .route("/tasks/{id}/plans/{version}/decide", post(decide_plan))
        .route("/records/{id}/review", post(review))
        .route("/extensions/{id}/decide", post(decide_extension))
        .route("/tasks/{id}/urge", post(urge))
        .route("/tasks/{id}/end", post(end))
}

/// A comment box: empty means none.
fn comment(text: Option<String>) -> Option<String> {
    text.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty())
}

/// A required text box.
fn required(text: Option<String>, field: &'static str) -> Result<String, ApiError> {
    comment(text).ok_or_else(|| ValidationError::single(field, "is required").into())
}

/// A decision form: which button, and the comment.
#[derive(Debug, Deserialize)]
struct DecisionForm {
    decision: String,
    comment: Option<String>,
}

fn unknown_decision() -> ApiError {
    ValidationError::single("decision", "is not one of the buttons").into()
}

async fn decide_plan(
    State(app): State<App>,
    Path((id, version)): Path<(TaskId, i32)>,
    post: Post<DecisionForm>,
) -> Result<Redirect, ConsoleError> {
    let decision = match post.form.decision.as_str() {
        "approve" => PlanDecision::Approve(comment(post.form.comment)),
        "reject" => PlanDecision::Reject(required(post.form.comment, "comment")?),
        _ => return Err(unknown_decision().into()),
    };
    workflow::decide_plan(&app, &post.user.caller, id, version, decision).await?;
    Ok(Redirect::to(&format!("/tasks/{id}")))
}

/// A review form: the decision, a comment, and for a returned report an optional new due day.
#[derive(Debug, Deserialize)]
struct ReviewForm {
    decision: String,
    comment: Option<String>,
    new_due: Option<String>,
}

async fn review(
    State(app): State<App>,
    Path(id): Path<RecordId>,
    post: Post<ReviewForm>,
) -> Result<Redirect, ConsoleError> {
    let caller = &post.user.caller;
    let decision = match post.form.decision.as_str() {
        "accept" => ReviewDecision::Accept,
        "reject" => ReviewDecision::Reject,
        _ => return Err(unknown_decision().into()),
    };
    // The role first, then the object, as everywhere: an agency is refused (403) before any
    // record id is looked up.
    require_role(&caller.user, SUPERVISING, "only supervisors review reports")?;
    let record = records::visible_record(&app, caller, id).await?;
    let new_due_at = match comment(post.form.new_due) {
        None => None,
        Some(day) => {
            let day = NaiveDate::parse_from_str(&day, "%Y-%m-%d").map_err(|_| {
                ApiError::from(ValidationError::single("new_due", "is not a date (YYYY-MM-DD)"))
            })?;
            let task = visible_task(&app, &caller.user, record.task_id).await?;
            let tz = tasks::site_timezone(&app, &task).await?;
            // The new due date is the end of that day where the site is.
            let end_of_day = day.and_time(NaiveTime::from_hms_opt(23, 59, 0).unwrap_or_default());
            Some(
                tz.from_local_datetime(&end_of_day)
                    .earliest()
                    .map(|t| t.with_timezone(&Utc))
                    .ok_or_else(|| {
                        ApiError::from(ValidationError::single(
                            "new_due",
                            "does not exist in the site's time zone",
                        ))
                    })?,
            )
        }
    };
    records::review(&app, caller, id, decision, comment(post.form.comment), new_due_at).await?;
    Ok(Redirect::to(&format!("/tasks/{}#record-{id}", record.task_id)))
}

async fn decide_extension(
    State(app): State<App>,
    Path(id): Path<ExtensionId>,
    post: Post<DecisionForm>,
) -> Result<Redirect, ConsoleError> {
    let (grant, text) = match post.form.decision.as_str() {
        "grant" => (true, comment(post.form.comment)),
        "refuse" => (false, Some(required(post.form.comment, "comment")?)),
        _ => return Err(unknown_decision().into()),
    };
    let ext = workflow::decide_extension(&app, &post.user.caller, id, grant, text).await?;
    Ok(Redirect::to(&format!("/tasks/{}", ext.task_id)))
}

/// An urge: optionally about one phase, with the message.
#[derive(Debug, Deserialize)]
struct UrgeForm {
    phase: Option<String>,
    message: Option<String>,
}

async fn urge(
    State(app): State<App>,
    Path(id): Path<TaskId>,
    post: Post<UrgeForm>,
) -> Result<Redirect, ConsoleError> {
    let phase = match comment(post.form.phase) {
        None => None,
        Some(p) => Some(
            p.parse::<PhaseId>()
                .map_err(|_| ApiError::from(ValidationError::single("phase", "is not a phase id")))?,
        ),
    };
    let message = required(post.form.message, "message")?;
    workflow::urge(&app, &post.user.caller, id, phase, message).await?;
    Ok(Redirect::to(&format!("/tasks/{id}")))
}

/// Closing or cancelling, with the reason.
#[derive(Debug, Deserialize)]
struct EndForm {
    how: String,
    reason: Option<String>,
}

async fn end(
    State(app): State<App>,
    Path(id): Path<TaskId>,
    post: Post<EndForm>,
) -> Result<Redirect, ConsoleError> {
    let kind = match post.form.how.as_str() {
        "close" => EndKind::Close,
        "cancel" => EndKind::Cancel,
        _ => return Err(ValidationError::single("how", "must be `close` or `cancel`").into()),
    };
    let reason = required(post.form.reason, "reason")?;
    workflow::end_task(&app, &post.user.caller, id, kind, &reason).await?;
    Ok(Redirect::to(&format!("/tasks/{id}")))
}
