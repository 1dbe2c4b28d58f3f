//! Tasks: issuing one, the task page, the list and the history.

use chrono::{DateTime, Utc};

use super::Caller;
use crate::app::App;
use crate::domain::{
    Extension, NewTask, OrgKind, Phase, Plan, Record, Role, Site, Task, Urge, ValidationError,
};
use crate::error::ApiError;
use crate::ids::TaskId;
use crate::store::{Issuer, LightCounts, ListedEvent, PhotoRow, TaskFilter, TaskSummary};

/// Everything the task page shows.
#[derive(Debug, Clone)]
pub struct TaskView {
    /// The task.
    pub task: Task,
    /// Its site.
    pub site: Site,
    /// Its phases in order.
    pub phases: Vec<Phase>,
    /// Its records, each with its photos.
    pub records: Vec<(Record, Vec<PhotoRow>)>,
    /// Every plan version.
    pub plans: Vec<Plan>,
    /// Extension requests.
    pub extensions: Vec<Extension>,
    /// Urges.
    pub urges: Vec<Urge>,
    /// SMS reminders that went out (sent or delivered).
    pub reminders_sent: i64,
}

/// Issues a task to an agency (supervisors, for their own group). With phases it starts
/// `in_progress`; without, `issued`, and the agency plans it.
pub async fn create_task(app: &App, caller: &Caller, new: NewTask) -> Result<(Task, Vec<Phase>), ApiError> {
    super::require_role(&caller.user, &[Role::Supervisor], "only supervisors issue tasks")?;
    let group_id = caller.user.org_id.ok_or(ApiError::Forbidden(
        "a supervisor without a group cannot issue tasks",
    ))?;
    let now = Utc::now();
    new.validate(now)?;
    let mut errors = ValidationError::default();
    if app.store.find_site(new.site_id).await?.is_none() {
        errors.add("site_id", "no such site");
    }
    let agency = app.store.find_org(new.agency_id).await?;
    let region_code = match agency {
        Some(org) if org.kind == OrgKind::Agency && org.active => Some(org.region.as_str()),
        Some(org) if org.kind != OrgKind::Agency => {
            errors.add("agency_id", "is not a handling agency");
            None
        }
        Some(_) => {
            errors.add("agency_id", "the agency is deactivated");
            None
        }
        None => {
            errors.add("agency_id", "no such agency");
            None
        }
    };
    errors.into_result()?;
    let issuer = Issuer {
        group_id,
        region_code: region_code.unwrap_or_default(),
    };
    Ok(app.store.create_task(&new, &issuer, &caller.actor(), now).await?)
}

/// The task page.
pub async fn task_view(app: &App, caller: &Caller, id: TaskId) -> Result<TaskView, ApiError> {
    let task = super::visible_task(app, &caller.user, id).await?;
    let site = app
        .store
        .find_site(task.site_id)
        .await?
        .ok_or_else(|| ApiError::Internal("task without site".into()))?;
    let phases = app.store.list_phases(id).await?;
    let mut records = Vec::new();
    for record in app.store.list_records(id).await? {
        let photos = app.store.list_photos(record.id).await?;
        records.push((record, photos));
    }
    Ok(TaskView {
        task,
        site,
        phases,
        records,
        plans: app.store.list_plans(id).await?,
        extensions: app.store.list_extensions(id).await?,
        urges: app.store.list_urges(id).await?,
        reminders_sent: app.store.reminders_sent(id).await?,
    })
}

/// Most tasks one page of the list may hold.
pub const MAX_PAGE: i64 = 200;

/// A page of the tasks the caller may see.
pub async fn list_tasks(
    app: &App,
    caller: &Caller,
    mut filter: TaskFilter,
) -> Result<Vec<TaskSummary>, ApiError> {
    if !(1..=MAX_PAGE).contains(&filter.limit) {
        return Err(ValidationError::single("limit", format!("must be between 1 and {MAX_PAGE}")).into());
    }
    if let Some(text) = &filter.text {
        let mut errors = ValidationError::default();
        crate::domain::validation::check_len(&mut errors, "q", text, 100);
        errors.into_result()?;
    }
    let scope =
        super::scope_of(&caller.user).ok_or(ApiError::Forbidden("the account has no organisation"))?;
    let now = Utc::now();
    if let Some(light) = &mut filter.light {
        light.yellow_until = yellow_until(app, now).await?;
    }
    Ok(app.store.list_tasks(scope, &filter, now).await?)
}

/// The time zone of a task's site (the default one if the site is gone).
pub async fn site_timezone(app: &App, task: &Task) -> Result<chrono_tz::Tz, ApiError> {
    match app.store.find_site(task.site_id).await? {
        Some(site) => Ok(site.timezone),
        None => app
            .settings
            .default_timezone()
            .map_err(|e| ApiError::Internal(e.to_string())),
    }
}

/// Per site time zone in use, the first due date that is no longer yellow as of `now`.
async fn yellow_until(app: &App, now: DateTime<Utc>) -> Result<Vec<(String, DateTime<Utc>)>, ApiError> {
    let rule = app.settings.light_rule(now);
    Ok(app
        .store
        .site_timezones()
        .await?
        .into_iter()
        .filter_map(|name| {
            let tz: chrono_tz::Tz = name.parse().ok()?;
            Some((name, rule.yellow_until(tz)))
        })
        .collect())
}

/// How many of the tasks the caller sees show each traffic light.
pub async fn count_lights(app: &App, caller: &Caller) -> Result<LightCounts, ApiError> {
    let scope =
        super::scope_of(&caller.user).ok_or(ApiError::Forbidden("the account has no organisation"))?;
    let now = Utc::now();
    let bounds = yellow_until(app, now).await?;
    Ok(app.store.count_lights(scope, &bounds, now).await?)
}

/// Most events one history answer holds.
pub const MAX_HISTORY: i64 = 5_000;

/// A task's audit trail, oldest first (anyone who may see the task).
pub async fn history(app: &App, caller: &Caller, id: TaskId) -> Result<Vec<ListedEvent>, ApiError> {
    super::visible_task(app, &caller.user, id).await?;
    Ok(app.store.task_history(id, MAX_HISTORY).await?)
}
