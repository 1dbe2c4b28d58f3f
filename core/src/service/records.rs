//! Records filed from phones under ids they chose offline: inspections with findings, and
//! phase reports, which supervisors review.

use chrono::Utc;

use super::{Caller, SUPERVISING, lost_race, require_role, require_state, visible_task};
use crate::app::App;
use crate::domain::{
    InvalidTransition, NewRecord, Phase, PhaseStatus, Record, RecordKind, ReviewDecision, ReviewStatus, Role,
    TaskAction, ValidationError, plan::check_comment,
};
use crate::error::ApiError;
use crate::ids::RecordId;
use crate::store::{PhotoRow, RecordOutcome, ReviewOutcome};

/// Whether a `PUT` created the record or found it already there.
#[derive(Debug, Clone)]
pub enum Put {
    /// 201, with the phases its findings added.
    Created(Record, Vec<Phase>),
    /// 200: an identical repeat.
    Unchanged(Record),
}

fn filer_roles(kind: RecordKind) -> &'static [Role] {
    match kind {
        RecordKind::Inspection => &[Role::Supervisor, Role::Inspector],
        RecordKind::Rectification => &[Role::Agency],
    }
}

/// Stores a record idempotently: the same content again is a no-op, other content under the
/// same id a 409, and an id that belongs to someone else a 404. An inspection goes on a task
/// of the inspector's group; a phase report on a live phase of the agency's own task.
pub async fn put_record(app: &App, caller: &Caller, new: NewRecord) -> Result<Put, ApiError> {
    new.validate()?;
    require_role(
        &caller.user,
        filer_roles(new.kind),
        match new.kind {
            RecordKind::Inspection => "only supervisors and inspectors file inspections",
            RecordKind::Rectification => "only the agency files phase reports",
        },
    )?;
    if let Some(existing) = app.store.find_record(new.id).await? {
        return settle(caller, &new, existing);
    }
    let task = visible_task(app, &caller.user, new.task_id)
        .await
        .map_err(|_| ApiError::from(ValidationError::single("task_id", "no such task")))?;
    let action = match new.kind {
        RecordKind::Inspection if new.required_phases().next().is_some() => TaskAction::AddPhase,
        RecordKind::Inspection => TaskAction::FileInspection,
        RecordKind::Rectification => TaskAction::SubmitReport,
    };
    let now = Utc::now();
    let mut errors = ValidationError::default();
    if let Some(phase_id) = new.phase_id {
        match app.store.find_phase(phase_id).await? {
            Some(phase) if phase.task_id == new.task_id => {
                if new.kind == RecordKind::Rectification {
                    require_state(&task, action)?;
                    phase.submit_report()?;
                }
            }
            _ => errors.add("phase_id", "no such phase in this task"),
        }
    }
    for (i, finding) in new.findings.iter().enumerate() {
        if let Some(p) = &finding.new_phase {
            if p.due_at <= now {
                errors.add(format!("findings[{i}].new_phase.due_at"), "must be in the future");
            } else if p.due_at > task.due_at {
                errors.add(
                    format!("findings[{i}].new_phase.due_at"),
                    "must not be after the task's due_at",
                );
            }
        }
    }
    errors.into_result()?;
    require_state(&task, action)?;
    super::documents::check_attachable(app, caller, &new.document_ids).await?;
    match app.store.put_record(&new, &caller.actor(), now).await? {
        RecordOutcome::Created(r, added) => Ok(Put::Created(r, added)),
        RecordOutcome::Unchanged(r) | RecordOutcome::Conflict(r) => settle(caller, &new, r),
        RecordOutcome::StateChanged => Err(lost_race(app, new.task_id, action).await),
    }
}

fn settle(caller: &Caller, new: &NewRecord, existing: Record) -> Result<Put, ApiError> {
    if existing.created_by != caller.user.id {
        return Err(ApiError::NotFound("record"));
    }
    if new.same_content_as(&existing) {
        Ok(Put::Unchanged(existing))
    } else {
        Err(ApiError::Conflict {
            code: "record_conflict",
            detail: format!("record {} already exists with different content", new.id),
        })
    }
}

/// A record the caller may see, with its photos.
pub async fn find_record(
    app: &App,
    caller: &Caller,
    id: RecordId,
) -> Result<(Record, Vec<PhotoRow>), ApiError> {
    let record = visible_record(app, caller, id).await?;
    let photos = app.store.list_photos(id).await?;
    Ok((record, photos))
}

/// A record the caller may see (anyone who may see its task), or 404.
pub async fn visible_record(app: &App, caller: &Caller, id: RecordId) -> Result<Record, ApiError> {
    let record = app
        .store
        .find_record(id)
        .await?
        .ok_or(ApiError::NotFound("record"))?;
    visible_task(app, &caller.user, record.task_id)
        .await
        .map_err(|_| ApiError::NotFound("record"))?;
    Ok(record)
}

/// A supervisor accepts a phase report (the phase is done; the last one completes the task) or
/// returns it for rework with a comment and optionally a new due date.
pub async fn review(
    app: &App,
    caller: &Caller,
    id: RecordId,
    decision: ReviewDecision,
    comment: Option<String>,
    new_due_at: Option<chrono::DateTime<Utc>>,
) -> Result<Record, ApiError> {
    require_role(&caller.user, SUPERVISING, "only supervisors review reports")?;
    let record = visible_record(app, caller, id).await?;
    let mut errors = ValidationError::default();
    match (&comment, decision) {
        (Some(c), _) => {
            if let Err(e) = check_comment("comment", c) {
                errors.errors.extend(e.errors);
            }
        }
        (None, ReviewDecision::Reject) => errors.add("comment", "is required to return a report"),
        (None, ReviewDecision::Accept) => {}
    }
    if decision == ReviewDecision::Accept && new_due_at.is_some() {
        errors.add("new_due_at", "only a returned report sets a new due date");
    }
    errors.into_result()?;
    let now = Utc::now();
    super::workflow::check_new_due(new_due_at, now)?;
    let (Some(review), Some(phase_id)) = (&record.review, record.phase_id) else {
        return Err(InvalidTransition::new("report", "review", "an inspection").into());
    };
    if review.status != ReviewStatus::Pending {
        return Err(InvalidTransition::new("report", "review", review.status.as_str()).into());
    }
    let task = visible_task(app, &caller.user, record.task_id).await?;
    require_state(&task, TaskAction::ReviewReport)?;
    if new_due_at.is_some_and(|due| due > task.due_at) {
        return Err(ValidationError::single("new_due_at", "must not be after the task's due_at").into());
    }
    let phase = app
        .store
        .find_phase(phase_id)
        .await?
        .ok_or(ApiError::NotFound("phase"))?;
    if phase.status == PhaseStatus::Accepted {
        return Err(InvalidTransition {
            hint: "; another report of this phase was accepted",
            ..InvalidTransition::new("phase", "review_report", "accepted")
        }
        .into());
    }
    match app
        .store
        .review_record(
            &record,
            &phase,
            decision,
            comment.as_deref(),
            new_due_at,
            &caller.actor(),
            now,
        )
        .await?
    {
        ReviewOutcome::Decided { .. } => app
            .store
            .find_record(id)
            .await?
            .ok_or(ApiError::NotFound("record")),
        ReviewOutcome::StateChanged => Err(lost_race(app, record.task_id, TaskAction::ReviewReport).await),
    }
}
