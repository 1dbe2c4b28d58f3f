//! Circulars (通报): supervisors publish a notice about task outcomes to chosen organisations;
//! the recipients and the publishing group read it in the console and in phone sync.

use chrono::{DateTime, Utc};

use super::{Caller, SUPERVISING, require_role, visible_task};
use crate::app::App;
use crate::domain::circular::{self, Circular};
use crate::domain::{Role, ValidationError};
use crate::error::ApiError;
use crate::ids::{CircularId, OrgId, TaskId};

/// Most circulars a list shows.
pub const LIST_LIMIT: i64 = 100;

/// What a supervisor publishes.
#[derive(Debug, Clone)]
pub struct NewCircular {
    /// One-line title.
    pub title: String,
    /// The text.
    pub body: String,
    /// The organisations to send it to.
    pub recipients: Vec<OrgId>,
    /// The task it is about, if one (the publisher must see it).
    pub task_id: Option<TaskId>,
}

/// Publishes a circular (supervisors and admins) to active organisations.
pub async fn publish(app: &App, caller: &Caller, mut new: NewCircular) -> Result<Circular, ApiError> {
    require_role(&caller.user, SUPERVISING, "only supervisors publish circulars")?;
    new.recipients.sort();
    new.recipients.dedup();
    circular::check(&new.title, &new.body, &new.recipients)?;
    let orgs = app.store.list_orgs().await?;
    let mut errors = ValidationError::default();
    if new
        .recipients
        .iter()
        .any(|r| !orgs.iter().any(|o| o.id == *r && o.active))
    {
        errors.add(
            "recipients",
            "names an organisation that does not exist or is inactive",
        );
    }
    errors.into_result()?;
    if let Some(task) = new.task_id {
        visible_task(app, &caller.user, task).await?;
    }
    let c = Circular {
        id: CircularId(uuid::Uuid::now_v7()),
        group_id: caller.user.org_id,
        author_id: caller.user.id,
        title: new.title.trim().to_owned(),
        body: new.body,
        task_id: new.task_id,
        recipients: new.recipients,
        created_at: Utc::now(),
    };
    app.store.create_circular(&c, &caller.actor()).await?;
    Ok(c)
}

/// The circulars the caller published or received (admins: all), newest first, those after
/// `since` when given.
pub async fn for_caller(
    app: &App,
    caller: &Caller,
    since: Option<DateTime<Utc>>,
    limit: i64,
) -> Result<Vec<Circular>, ApiError> {
    let org = match (caller.user.role, caller.user.org_id) {
        (Role::Admin, _) => None,
        (_, Some(org)) => Some(org),
        (_, None) => return Err(ApiError::Forbidden("the account has no organisation")),
    };
    Ok(app.store.circulars_for(org, since, limit).await?)
}
