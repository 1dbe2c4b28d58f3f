//! Records filed from phones under ids they chose offline.

use chrono::Utc;

use crate::app::App;
use crate::domain::{NewRecord, Record, RecordKind, Role, User, ValidationError};
use crate::error::ApiError;
use crate::ids::RecordId;
use crate::store::{PhotoRow, RecordOutcome};

/// Whether a `PUT` created the record or found it already there.
#[derive(Debug, Clone)]
pub enum Put {
    /// 201.
    Created(Record),
    /// 200: an identical repeat.
    Unchanged(Record),
}

fn may_file(role: Role, kind: RecordKind) -> bool {
    match kind {
        RecordKind::Inspection => matches!(role, Role::Admin | Role::Supervisor | Role::Inspector),
        RecordKind::Rectification => matches!(role, Role::Admin | Role::Agency),
    }
}

/// Stores a record idempotently: the same content again is a no-op, other content under the
/// same id a 409, and an id that belongs to someone else a 404.
pub async fn put_record(app: &App, actor: &User, new: NewRecord) -> Result<Put, ApiError> {
    new.validate()?;
    if !may_file(actor.role, new.kind) {
        return Err(ApiError::Forbidden("this role may not file this kind of record"));
    }
    if let Some(existing) = app.store.find_record(new.id).await? {
        return settle(actor, &new, existing);
    }
    let mut errors = ValidationError::default();
    if app.store.find_task(new.task_id).await?.is_none() {
        errors.add("task_id", "no such task");
    } else if let Some(phase_id) = new.phase_id {
        match app.store.find_phase(phase_id).await? {
            Some(phase) if phase.task_id == new.task_id => {}
            _ => errors.add("phase_id", "no such phase in this task"),
        }
    }
    errors.into_result()?;
    match app.store.put_record(&new, actor.id, Utc::now()).await? {
        RecordOutcome::Created(r) => Ok(Put::Created(r)),
        RecordOutcome::Unchanged(r) | RecordOutcome::Conflict(r) => settle(actor, &new, r),
    }
}

fn settle(actor: &User, new: &NewRecord, existing: Record) -> Result<Put, ApiError> {
    if existing.created_by != actor.id {
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
pub async fn find_record(app: &App, actor: &User, id: RecordId) -> Result<(Record, Vec<PhotoRow>), ApiError> {
    let record = visible_record(app, actor, id).await?;
    let photos = app.store.list_photos(id).await?;
    Ok((record, photos))
}

/// A record the caller may see, or 404.
pub async fn visible_record(app: &App, actor: &User, id: RecordId) -> Result<Record, ApiError> {
    match app.store.find_record(id).await? {
        Some(r) if super::can_see_record(actor, &r) => Ok(r),
        _ => Err(ApiError::NotFound("record")),
    }
}
