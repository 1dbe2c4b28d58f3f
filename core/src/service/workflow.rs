//! The supervision workflow on a task: acknowledgement, plans, extensions, urges, and the end.

use chrono::{DateTime, Utc};

use super::{Caller, SUPERVISING, lost_race, reminders, require_role, require_state, visible_task};
use crate::app::App;
use crate::audit::AuditEvent;
use crate::domain::{
    Extension, ExtensionStatus, InvalidTransition, NewExtension, NewPlan, Phase, Plan, PlanStatus, Role,
    TaskAction, TaskStatus, Urge, plan::check_comment, urge::check_message,
};
use crate::error::ApiError;
use crate::ids::{ExtensionId, PhaseId, TaskId, UrgeId};
use crate::store::{EndKind, ExtensionOutcome, StoreError};

const AGENCY: &[Role] = &[Role::Agency];

/// The agency confirms receipt of an issued task.
pub async fn acknowledge(app: &App, caller: &Caller, id: TaskId) -> Result<(), ApiError> {
    require_role(&caller.user, AGENCY, "only the agency acknowledges a task")?;
    let task = visible_task(app, &caller.user, id).await?;
    require_state(&task, TaskAction::Acknowledge)?;
    let now = Utc::now();
    let event = AuditEvent::new(
        now,
        &caller.actor(),
        "task.acknowledged",
        "task",
        id.0,
        &serde_json::json!({}),
    )
    .on_task(id);
    if app
        .store
        .acknowledge_task(id, caller.user.id, &event, now)
        .await?
    {
        Ok(())
    } else {
        Err(lost_race(app, id, TaskAction::Acknowledge).await)
    }
}

/// The agency submits a new plan version; its documents must be the agency's own uploads.
pub async fn submit_plan(app: &App, caller: &Caller, id: TaskId, new: NewPlan) -> Result<Plan, ApiError> {
    require_role(&caller.user, AGENCY, "only the agency submits a plan")?;
    let task = visible_task(app, &caller.user, id).await?;
    require_state(&task, TaskAction::SubmitPlan)?;
    let now = Utc::now();
    new.validate(now, task.created_at, task.due_at)?;
    super::documents::check_attachable(app, caller, &new.document_ids).await?;
    match app.store.submit_plan(id, &new, &caller.actor(), now).await? {
        Some(plan) => Ok(plan),
        None => Err(lost_race(app, id, TaskAction::SubmitPlan).await),
    }
}

/// Every plan version of a task.
pub async fn list_plans(app: &App, caller: &Caller, id: TaskId) -> Result<Vec<Plan>, ApiError> {
    visible_task(app, &caller.user, id).await?;
    Ok(app.store.list_plans(id).await?)
}

/// A supervisor's decision on a plan version.
#[derive(Debug, Clone)]
pub enum PlanDecision {
    /// Approve, optionally with a comment.
    Approve(Option<String>),
    /// Reject with a comment.
    Reject(String),
}

/// Approves (phases go live) or rejects (back to the agency) the pending plan version.
pub async fn decide_plan(
    app: &App,
    caller: &Caller,
    id: TaskId,
    version: i32,
    decision: PlanDecision,
) -> Result<Vec<Phase>, ApiError> {
    require_role(&caller.user, SUPERVISING, "only supervisors decide on plans")?;
    let task = visible_task(app, &caller.user, id).await?;
    let action = match decision {
        PlanDecision::Approve(_) => TaskAction::ApprovePlan,
        PlanDecision::Reject(_) => TaskAction::RejectPlan,
    };
    match &decision {
        PlanDecision::Approve(Some(c)) | PlanDecision::Reject(c) => check_comment("comment", c)?,
        PlanDecision::Approve(None) => {}
    }
    let plan = app
        .store
        .find_plan(id, version)
        .await?
        .ok_or(ApiError::NotFound("plan version"))?;
    if plan.status != PlanStatus::Submitted {
        return Err(InvalidTransition::new("plan", action.as_str(), plan.status.as_str()).into());
    }
    require_state(&task, action)?;
    let now = Utc::now();
    if matches!(decision, PlanDecision::Approve(_)) && plan.phases.iter().any(|p| p.due_at <= now) {
        return Err(ApiError::Conflict {
            code: "plan_outdated",
            detail: "a phase of this plan is already due; reject it so the agency submits new dates".into(),
        });
    }
    let actor = caller.actor();
    let outcome = match &decision {
        PlanDecision::Approve(comment) => {
            app.store
                .approve_plan(&plan, comment.as_deref(), &actor, now)
                .await?
        }
        PlanDecision::Reject(comment) => app
            .store
            .reject_plan(&plan, comment, &actor, now)
            .await?
            .then(Vec::new),
    };
    match outcome {
        Some(phases) => Ok(phases),
        None => Err(lost_race(app, id, action).await),
    }
}

/// The phase with its task, if the caller may see the task.
async fn visible_phase(
    app: &App,
    caller: &Caller,
    id: PhaseId,
) -> Result<(Phase, crate::domain::Task), ApiError> {
    let phase = app
        .store
        .find_phase(id)
        .await?
        .ok_or(ApiError::NotFound("phase"))?;
    let task = visible_task(app, &caller.user, phase.task_id)
        .await
        .map_err(|_| ApiError::NotFound("phase"))?;
    Ok((phase, task))
}

/// A phase with its history: every report with its review, and every extension request.
#[derive(Debug, Clone)]
pub struct PhaseView {
    /// The phase.
    pub phase: Phase,
    /// Its reports, oldest first, each with its photos.
    pub reports: Vec<(crate::domain::Record, Vec<crate::store::PhotoRow>)>,
    /// Its extension requests, oldest first.
    pub extensions: Vec<Extension>,
    /// Where its task stands (a phase is overdue only while the task is in progress).
    pub task_status: TaskStatus,
    /// The site's time zone, which decides the light's days.
    pub timezone: chrono_tz::Tz,
}

/// A phase and its history, for whoever may see its task.
pub async fn phase_view(app: &App, caller: &Caller, id: PhaseId) -> Result<PhaseView, ApiError> {
    let (phase, task) = visible_phase(app, caller, id).await?;
    let timezone = super::tasks::site_timezone(app, &task).await?;
    let mut reports = Vec::new();
    for record in app.store.phase_reports(id).await? {
        let photos = app.store.list_photos(record.id).await?;
        reports.push((record, photos));
    }
    let extensions = app
        .store
        .list_extensions(phase.task_id)
        .await?
        .into_iter()
        .filter(|e| e.phase_id == id)
        .collect();
    Ok(PhaseView {
        phase,
        reports,
        extensions,
        task_status: task.status,
        timezone,
    })
}

/// The agency asks for a later due date, before the phase falls due.
pub async fn request_extension(
    app: &App,
    caller: &Caller,
    phase_id: PhaseId,
    new: NewExtension,
) -> Result<Extension, ApiError> {
    require_role(&caller.user, AGENCY, "only the agency asks for an extension")?;
    let (phase, _) = visible_phase(app, caller, phase_id).await?;
    let task = visible_task(app, &caller.user, phase.task_id).await?;
    require_state(&task, TaskAction::RequestExtension)?;
    let now = Utc::now();
    phase.may_extend(now)?;
    new.validate(phase.due_at)?;
    if new.proposed_due_at > task.due_at {
        return Err(crate::domain::ValidationError::single(
            "proposed_due_at",
            "must not be after the task's due_at",
        )
        .into());
    }
    match app
        .store
        .request_extension(&phase, &new, &caller.actor(), now)
        .await
    {
        Ok(ExtensionOutcome::Requested(ext)) => Ok(ext),
        Ok(ExtensionOutcome::StateChanged) => {
            let (phase, _) = visible_phase(app, caller, phase_id).await?;
            phase.may_extend(Utc::now())?;
            Err(lost_race(app, phase.task_id, TaskAction::RequestExtension).await)
        }
        Err(StoreError::Duplicate(_)) => Err(ApiError::Conflict {
            code: "extension_pending",
            detail: "an extension request for this phase is already waiting for a decision".into(),
        }),
        Err(e) => Err(e.into()),
    }
}

/// A supervisor grants (the due date moves) or refuses a pending extension request.
pub async fn decide_extension(
    app: &App,
    caller: &Caller,
    id: ExtensionId,
    grant: bool,
    comment: Option<String>,
) -> Result<Extension, ApiError> {
    require_role(&caller.user, SUPERVISING, "only supervisors decide on extensions")?;
    let ext = app
        .store
        .find_extension(id)
        .await?
        .ok_or(ApiError::NotFound("extension"))?;
    let task = visible_task(app, &caller.user, ext.task_id)
        .await
        .map_err(|_| ApiError::NotFound("extension"))?;
    if let Some(c) = &comment {
        check_comment("comment", c)?;
    }
    let action = if grant { "grant" } else { "refuse" };
    if ext.status != ExtensionStatus::Requested {
        return Err(InvalidTransition::new("extension", action, ext.status.as_str()).into());
    }
    require_state(&task, TaskAction::DecideExtension)?;
    if grant {
        let phase = app
            .store
            .find_phase(ext.phase_id)
            .await?
            .ok_or(ApiError::NotFound("phase"))?;
        if phase.status == crate::domain::PhaseStatus::Accepted {
            return Err(InvalidTransition::new("phase", "grant", "accepted").into());
        }
        if phase.due_at != ext.previous_due_at {
            return Err(ApiError::Conflict {
                code: "phase_changed",
                detail: "the phase's due date changed since the request; refuse it and ask for a new one"
                    .into(),
            });
        }
    }
    if app
        .store
        .decide_extension(&ext, grant, comment.as_deref(), &caller.actor(), Utc::now())
        .await?
    {
        app.store
            .find_extension(id)
            .await?
            .ok_or(ApiError::NotFound("extension"))
    } else {
        Err(lost_race(app, ext.task_id, TaskAction::DecideExtension).await)
    }
}

/// A supervisor urges the agency on a task or one of its phases.
pub async fn urge(
    app: &App,
    caller: &Caller,
    id: TaskId,
    phase_id: Option<PhaseId>,
    message: String,
) -> Result<Urge, ApiError> {
    require_role(&caller.user, SUPERVISING, "only supervisors urge")?;
    let task = visible_task(app, &caller.user, id).await?;
    check_message(&message)?;
    let phase = match phase_id {
        Some(p) => match app.store.find_phase(p).await? {
            Some(phase) if phase.task_id == id => Some(phase),
            _ => {
                return Err(
                    crate::domain::ValidationError::single("phase_id", "no such phase in this task").into(),
                );
            }
        },
        None => None,
    };
    require_state(&task, TaskAction::Urge)?;
    let urge = Urge {
        id: UrgeId::new(),
        task_id: id,
        phase_id,
        message: message.trim().to_owned(),
        created_by: caller.user.id,
        created_at: Utc::now(),
    };
    let tz = super::tasks::site_timezone(app, &task).await?;
    let about = phase.as_ref().map(|p| (p.id, p.title.as_str(), p.due_at));
    let reminder = reminders::urge_reminder(app, &urge, task.agency_id, about, tz).await?;
    match app.store.create_urge(&urge, &caller.actor(), &reminder).await {
        Ok(()) => {}
        Err(StoreError::Duplicate(_)) => {
            let window = app.settings.urge_window_secs.max(1);
            let w = i64::try_from(window).unwrap_or(i64::MAX);
            let now = urge.created_at.timestamp();
            return Err(ApiError::TooManyUrges {
                window_secs: window,
                retry_after_secs: w - now.rem_euclid(w),
            });
        }
        Err(e) => return Err(e.into()),
    }
    app.reminder_queued.notify_one();
    Ok(urge)
}

/// Closes a completed task, or cancels an unfinished one, with a reason.
pub async fn end_task(
    app: &App,
    caller: &Caller,
    id: TaskId,
    kind: EndKind,
    reason: &str,
) -> Result<(), ApiError> {
    require_role(
        &caller.user,
        SUPERVISING,
        "only supervisors close or cancel tasks",
    )?;
    let task = visible_task(app, &caller.user, id).await?;
    check_comment("reason", reason)?;
    let action = match kind {
        EndKind::Close => TaskAction::Close,
        EndKind::Cancel => TaskAction::Cancel,
    };
    require_state(&task, action)?;
    let now = Utc::now();
    let to = task.status.apply(action)?;
    let event = AuditEvent::new(
        now,
        &caller.actor(),
        if to == TaskStatus::Closed {
            "task.closed"
        } else {
            "task.cancelled"
        },
        "task",
        id.0,
        &serde_json::json!({ "from": task.status.as_str(), "reason": reason }),
    )
    .on_task(id);
    if app
        .store
        .end_task(id, task.status, kind, reason, &event, now)
        .await?
    {
        Ok(())
    } else {
        Err(lost_race(app, id, action).await)
    }
}

/// A due date given with a review must lie ahead.
pub fn check_new_due(new_due_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Result<(), ApiError> {
    match new_due_at {
        Some(due) if due <= now => {
            Err(crate::domain::ValidationError::single("new_due_at", "must be in the future").into())
        }
        _ => Ok(()),
    }
}
