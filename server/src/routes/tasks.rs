//! `/tasks`: issuing, the list, the task page, and the workflow actions on a task.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use chrono::Utc;
use fieldproof_core::domain::{Light, RegionCode, TaskStatus, ValidationError};
use fieldproof_core::ids::TaskId;
use fieldproof_core::service::workflow::{self, PlanDecision};
use fieldproof_core::service::{reminders, sites, tasks};
use fieldproof_core::store::{Cursor, EndKind, LightCounts, LightFilter, TaskFilter, TaskSort};
use fieldproof_core::web::{CurrentUser, Json, Path, Query};
use fieldproof_core::{ApiError, App};

use crate::dto::{
    CommentBody, EventDto, NoQuery, PhaseDto, PlanBody, PlanDto, ReasonBody, ReminderDto, TaskBody, TaskDto,
    TaskListItem, TaskListQuery, TaskPage, UrgeBody, UrgeDto,
};

/// Task routes.
pub fn router() -> Router<App> {
    Router::new()
        .route("/tasks", get(list_tasks).post(create_task))
        .route("/tasks/lights", get(count_lights))
        .route("/tasks/{id}", get(find_task))
        .route("/tasks/{id}/reminders", get(list_reminders))
        .route("/tasks/{id}/acknowledge", post(acknowledge))
        .route("/tasks/{id}/plans", get(list_plans).post(submit_plan))
        .route("/tasks/{id}/plans/{version}/approve", post(approve_plan))
        .route("/tasks/{id}/plans/{version}/reject", post(reject_plan))
        .route("/tasks/{id}/urges", post(urge))
        .route("/tasks/{id}/close", post(close))
        .route("/tasks/{id}/cancel", post(cancel))
        .route("/tasks/{id}/history", get(history))
}

async fn create_task(
    State(app): State<App>,
    caller: CurrentUser,
    Json(body): Json<TaskBody>,
) -> Result<(StatusCode, Json<TaskDto>), ApiError> {
    let (task, phases) = tasks::create_task(&app, &caller.caller, body.into()).await?;
    let site = sites::find_site(&app, &caller.caller, task.site_id).await?;
    Ok((
        StatusCode::CREATED,
        Json(TaskDto::created(
            &task,
            &site,
            &phases,
            &app.settings.light_rule(Utc::now()),
        )),
    ))
}

/// Turns the query into a filter, refusing unknown values with the field that holds them.
pub(crate) fn filter(q: TaskListQuery) -> Result<TaskFilter, ApiError> {
    let mut errors = ValidationError::default();
    let status = q.status.as_deref().and_then(|s| {
        let parsed = TaskStatus::parse(s);
        if parsed.is_none() {
            errors.add("status", "is not a task status");
        }
        parsed
    });
    let region_prefix = q.region.as_deref().and_then(|r| match RegionCode::parse(r) {
        Ok(code) => Some(code.prefix()),
        Err(why) => {
            errors.add("region", why);
            None
        }
    });
    let light = q.light.as_deref().and_then(|l| {
        let parsed = Light::parse(l);
        if parsed.is_none() {
            errors.add("light", "must be `red`, `yellow`, `green` or `done`");
        }
        parsed.map(|light| LightFilter {
            light,
            yellow_until: Vec::new(),
        })
    });
    let sort = match q.sort.as_deref() {
        None | Some("created") => TaskSort::Created,
        Some("-created") => TaskSort::CreatedDesc,
        Some("next_due") => TaskSort::NextDue,
        Some(_) => {
            errors.add("sort", "must be `created`, `-created` or `next_due`");
            TaskSort::Created
        }
    };
    let after = q.cursor.as_deref().and_then(|c| {
        let parsed = Cursor::decode(c);
        if parsed.is_none() {
            errors.add("cursor", "is not a cursor this server made");
        }
        parsed
    });
    errors.into_result()?;
    Ok(TaskFilter {
        status,
        agency_id: q.agency_id,
        region_prefix,
        overdue: q.overdue,
        text: q.q.filter(|t| !t.trim().is_empty()),
        light,
        sort,
        limit: q.limit.unwrap_or(50),
        after,
    })
}

async fn list_tasks(
    State(app): State<App>,
    caller: CurrentUser,
    Query(q): Query<TaskListQuery>,
) -> Result<Json<TaskPage>, ApiError> {
    let filter = filter(q)?;
    let items = tasks::list_tasks(&app, &caller.caller, filter.clone()).await?;
    let next_cursor = (items.len() as i64 == filter.limit)
        .then(|| items.last())
        .flatten()
        .map(|s| {
            Cursor {
                due: s.task.next_due_at,
                id: s.task.id,
            }
            .encode()
        });
    let rule = app.settings.light_rule(Utc::now());
    Ok(Json(TaskPage {
        items: items.iter().map(|s| TaskListItem::new(s, &rule)).collect(),
        next_cursor,
    }))
}

/// How many of the caller's tasks show each light (`{"red": …, "yellow": …, …}`).
async fn count_lights(
    State(app): State<App>,
    caller: CurrentUser,
    Query(_): Query<NoQuery>,
) -> Result<Json<LightCounts>, ApiError> {
    Ok(Json(tasks::count_lights(&app, &caller.caller).await?))
}

/// A task's reminders, each with its messages (text, number, status, receipt).
async fn list_reminders(
    State(app): State<App>,
    caller: CurrentUser,
    Path(id): Path<TaskId>,
    Query(_): Query<NoQuery>,
) -> Result<Json<Vec<ReminderDto>>, ApiError> {
    let all = reminders::list(&app, &caller.caller, id).await?;
    Ok(Json(all.iter().map(|(r, m)| ReminderDto::new(r, m)).collect()))
}

async fn find_task(
    State(app): State<App>,
    caller: CurrentUser,
    Path(id): Path<TaskId>,
) -> Result<Json<TaskDto>, ApiError> {
    let view = tasks::task_view(&app, &caller.caller, id).await?;
    Ok(Json(TaskDto::new(&view, &app.settings.light_rule(Utc::now()))))
}

/// The task page after an action, so clients see the new state at once.
async fn task_page(app: &App, caller: &CurrentUser, id: TaskId) -> Result<Json<TaskDto>, ApiError> {
    let view = tasks::task_view(app, &caller.caller, id).await?;
    Ok(Json(TaskDto::new(&view, &app.settings.light_rule(Utc::now()))))
}

async fn acknowledge(
    State(app): State<App>,
    caller: CurrentUser,
    Path(id): Path<TaskId>,
) -> Result<Json<TaskDto>, ApiError> {
    workflow::acknowledge(&app, &caller.caller, id).await?;
    task_page(&app, &caller, id).await
}

async fn submit_plan(
    State(app): State<App>,
    caller: CurrentUser,
    Path(id): Path<TaskId>,
    Json(body): Json<PlanBody>,
) -> Result<(StatusCode, Json<PlanDto>), ApiError> {
    let plan = workflow::submit_plan(&app, &caller.caller, id, body.into()).await?;
    Ok((StatusCode::CREATED, Json(PlanDto::from(&plan))))
}

async fn list_plans(
    State(app): State<App>,
    caller: CurrentUser,
    Path(id): Path<TaskId>,
) -> Result<Json<Vec<PlanDto>>, ApiError> {
    let plans = workflow::list_plans(&app, &caller.caller, id).await?;
    Ok(Json(plans.iter().map(PlanDto::from).collect()))
}

async fn approve_plan(
    State(app): State<App>,
    caller: CurrentUser,
    Path((id, version)): Path<(TaskId, i32)>,
    Json(body): Json<CommentBody>,
) -> Result<Json<Vec<PhaseDto>>, ApiError> {
    let phases = workflow::decide_plan(
        &app,
        &caller.caller,
        id,
        version,
        PlanDecision::Approve(body.comment),
    )
    .await?;
    let task = fieldproof_core::service::visible_task(&app, &caller.caller.user, id).await?;
    let tz = tasks::site_timezone(&app, &task).await?;
    let rule = app.settings.light_rule(Utc::now());
    Ok(Json(
        phases
            .iter()
            .map(|p| PhaseDto::new(p, task.status, &rule, tz))
            .collect(),
    ))
}

async fn reject_plan(
    State(app): State<App>,
    caller: CurrentUser,
    Path((id, version)): Path<(TaskId, i32)>,
    Json(body): Json<CommentBody>,
) -> Result<Json<TaskDto>, ApiError> {
    let comment = body
        .comment
        .ok_or_else(|| ApiError::from(ValidationError::single("comment", "is required to reject a plan")))?;
    workflow::decide_plan(&app, &caller.caller, id, version, PlanDecision::Reject(comment)).await?;
    task_page(&app, &caller, id).await
}

async fn urge(
    State(app): State<App>,
    caller: CurrentUser,
    Path(id): Path<TaskId>,
    Json(body): Json<UrgeBody>,
) -> Result<(StatusCode, Json<UrgeDto>), ApiError> {
    let urge = workflow::urge(&app, &caller.caller, id, body.phase_id, body.message).await?;
    Ok((StatusCode::CREATED, Json(UrgeDto::from(&urge))))
}

async fn close(
    State(app): State<App>,
    caller: CurrentUser,
    Path(id): Path<TaskId>,
    Json(body): Json<ReasonBody>,
) -> Result<Json<TaskDto>, ApiError> {
    workflow::end_task(&app, &caller.caller, id, EndKind::Close, &body.reason).await?;
    task_page(&app, &caller, id).await
}

async fn cancel(
    State(app): State<App>,
    caller: CurrentUser,
    Path(id): Path<TaskId>,
    Json(body): Json<ReasonBody>,
) -> Result<Json<TaskDto>, ApiError> {
    workflow::end_task(&app, &caller.caller, id, EndKind::Cancel, &body.reason).await?;
    task_page(&app, &caller, id).await
}

async fn history(
    State(app): State<App>,
    caller: CurrentUser,
    Path(id): Path<TaskId>,
) -> Result<Json<Vec<EventDto>>, ApiError> {
    let events = tasks::history(&app, &caller.caller, id).await?;
    Ok(Json(events.iter().map(EventDto::from).collect()))
}
