//! Use cases: each validates its input, checks the caller may act, and calls one store unit
//! of work (which writes the rows and the audit event together).
//!
//! Authorisation has two questions, asked in this order: may the caller's role take this
//! action at all (403 if not), and may the caller see the object (404 if not, so that ids of
//! other organisations' objects reveal nothing).

pub mod accounts;
pub mod audit;
pub mod circulars;
pub mod documents;
pub mod exports;
pub mod housekeeping;
pub mod orgs;
pub mod photos;
pub mod records;
pub mod reminders;
pub mod resumable;
pub mod sites;
pub mod stats;
pub mod sync;
pub mod tasks;
pub mod upload;
pub mod workflow;

use crate::app::App;
use crate::audit::{Actor, ClientInfo};
use crate::domain::{InvalidTransition, Role, Task, TaskAction, User};
use crate::error::ApiError;
use crate::ids::TaskId;
use crate::store::Scope;

/// The signed-in user making a request, and where from.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The user.
    pub user: User,
    /// Their client, for the audit trail.
    pub client: ClientInfo,
}

impl Caller {
    /// The audit trail's view of the caller.
    pub fn actor(&self) -> Actor {
        Actor::user(&self.user, &self.client)
    }
}

/// 403 unless the caller's role is one of `roles`.
pub fn require_role(user: &User, roles: &[Role], refusal: &'static str) -> Result<(), ApiError> {
    if roles.contains(&user.role) {
        Ok(())
    } else {
        Err(ApiError::Forbidden(refusal))
    }
}

/// 403 unless the user is an admin.
pub fn require_admin(user: &User) -> Result<(), ApiError> {
    require_role(user, &[Role::Admin], "only admins may do this")
}

/// The supervisor's side of the workflow: approving, reviewing, urging, closing.
pub const SUPERVISING: &[Role] = &[Role::Supervisor, Role::Admin];

/// The tasks a user may see: admins all, supervision staff their group's, agency staff
/// their agency's. `None` for a user without an organisation who is not an admin.
pub fn scope_of(user: &User) -> Option<Scope> {
    match (user.role, user.org_id) {
        (Role::Admin, _) => Some(Scope::All),
        (Role::Supervisor | Role::Inspector, Some(org)) => Some(Scope::Group(org)),
        (Role::Agency, Some(org)) => Some(Scope::Agency(org)),
        _ => None,
    }
}

/// Whether `user` may see `task`.
pub fn can_see_task(user: &User, task: &Task) -> bool {
    match scope_of(user) {
        Some(Scope::All) => true,
        Some(Scope::Group(org)) => task.group_id == Some(org),
        Some(Scope::Agency(org)) => task.agency_id == Some(org),
        None => false,
    }
}

/// The task if the caller may see it, else 404.
pub async fn visible_task(app: &App, user: &User, id: TaskId) -> Result<Task, ApiError> {
    match app.store.find_task(id).await? {
        Some(task) if can_see_task(user, &task) => Ok(task),
        _ => Err(ApiError::NotFound("task")),
    }
}

/// 409 unless `action` is allowed in the task's state.
pub fn require_state(task: &Task, action: TaskAction) -> Result<(), ApiError> {
    task.status.apply(action).map(|_| ()).map_err(ApiError::from)
}

/// The error for a conditional update that lost a race: the task is read again and the
/// transition refused from the state it is in now.
pub async fn lost_race(app: &App, task: TaskId, action: TaskAction) -> ApiError {
    match app.store.find_task(task).await {
        Ok(Some(t)) => match t.status.apply(action) {
            Err(e) => e.into(),
            Ok(_) => ApiError::Conflict {
                code: "concurrent_change",
                detail: "the task changed while this request was handled; reload and try again".into(),
            },
        },
        Ok(None) => ApiError::NotFound("task"),
        Err(e) => e.into(),
    }
}

impl From<InvalidTransition> for ApiError {
    fn from(e: InvalidTransition) -> Self {
        ApiError::InvalidTransition(e)
    }
}
