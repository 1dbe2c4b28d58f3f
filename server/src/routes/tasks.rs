//! `/tasks`: open a task, the list with its overdue filter, and the task page.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use chrono::Utc;
use fieldproof_core::ids::TaskId;
use fieldproof_core::service::{sites, tasks};
use fieldproof_core::web::{CurrentUser, Json, Path, Query};
use fieldproof_core::{ApiError, App};

use crate::dto::{TaskBody, TaskDto, TaskListItem, TaskListQuery, TaskPage};

/// Task routes.
pub fn router() -> Router<App> {
    Router::new()
        .route("/tasks", get(list_tasks).post(create_task))
        .route("/tasks/{id}", get(find_task))
}

async fn create_task(
    State(app): State<App>,
    caller: CurrentUser,
    Json(body): Json<TaskBody>,
) -> Result<(StatusCode, Json<TaskDto>), ApiError> {
    let (task, phases) = tasks::create_task(&app, &caller.user, body.into()).await?;
    let site = sites::find_site(&app, task.site_id).await?;
    Ok((
        StatusCode::CREATED,
        Json(TaskDto::created(&task, &site, &phases, Utc::now())),
    ))
}

async fn list_tasks(
    State(app): State<App>,
    _caller: CurrentUser,
    Query(q): Query<TaskListQuery>,
) -> Result<Json<TaskPage>, ApiError> {
    let limit = q.limit.unwrap_or(50);
    let items = tasks::list_tasks(&app, q.overdue, Some(limit), q.cursor).await?;
    let next_cursor = (items.len() as i64 == limit)
        .then(|| items.last().map(|s| s.task.id))
        .flatten();
    Ok(Json(TaskPage {
        items: items.iter().map(TaskListItem::from).collect(),
        next_cursor,
    }))
}

async fn find_task(
    State(app): State<App>,
    caller: CurrentUser,
    Path(id): Path<TaskId>,
) -> Result<Json<TaskDto>, ApiError> {
    let view = tasks::task_view(&app, &caller.user, id).await?;
    Ok(Json(TaskDto::new(&view, Utc::now())))
}
