//! Tasks: opening one with its phases, the task page, and the list.

use chrono::Utc;

use crate::app::App;
use crate::domain::{NewTask, Phase, Record, Site, Task, User, ValidationError};
use crate::error::ApiError;
use crate::ids::TaskId;
use crate::store::{PhotoRow, TaskFilter, TaskSummary};

/// Everything the task page shows.
#[derive(Debug, Clone)]
pub struct TaskView {
    /// The task.
    pub task: Task,
    /// Its site.
    pub site: Site,
    /// Its phases in order.
    pub phases: Vec<Phase>,
    /// The records the caller may see, each with its photos.
    pub records: Vec<(Record, Vec<PhotoRow>)>,
}

/// Opens a task with its phases (supervisors and admins).
pub async fn create_task(app: &App, actor: &User, new: NewTask) -> Result<(Task, Vec<Phase>), ApiError> {
    super::require_manager(actor)?;
    let now = Utc::now();
    new.validate(now)?;
    if app.store.find_site(new.site_id).await?.is_none() {
        return Err(ValidationError::single("site_id", "no such site").into());
    }
    Ok(app.store.create_task(&new, actor.id, now).await?)
}

/// The task page.
pub async fn task_view(app: &App, actor: &User, id: TaskId) -> Result<TaskView, ApiError> {
    let task = app.store.find_task(id).await?.ok_or(ApiError::NotFound("task"))?;
    let site = app
        .store
        .find_site(task.site_id)
        .await?
        .ok_or_else(|| ApiError::Internal("task without site".into()))?;
    let phases = app.store.list_phases(id).await?;
    let mut records = Vec::new();
    for record in app.store.list_records(id).await? {
        if super::can_see_record(actor, &record) {
            let photos = app.store.list_photos(record.id).await?;
            records.push((record, photos));
        }
    }
    Ok(TaskView {
        task,
        site,
        phases,
        records,
    })
}

/// Most tasks one page of the list may hold.
pub const MAX_PAGE: i64 = 200;

/// A page of the task list.
pub async fn list_tasks(
    app: &App,
    overdue: Option<bool>,
    limit: Option<i64>,
    after: Option<TaskId>,
) -> Result<Vec<TaskSummary>, ApiError> {
    let limit = limit.unwrap_or(50);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ValidationError::single("limit", format!("must be between 1 and {MAX_PAGE}")).into());
    }
    Ok(app
        .store
        .list_tasks(
            TaskFilter {
                overdue,
                limit,
                after,
            },
            Utc::now(),
        )
        .await?)
}
