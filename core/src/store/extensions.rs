//! Extension requests and their decisions; a granted one moves the phase's due date.

use chrono::{DateTime, Utc};

use super::tasks::REFRESH_NEXT_DUE;
use super::{Store, StoreError, StoreResult, audit, in_tx, on_pool, unique_as};
use crate::audit::{Actor, AuditEvent};
use crate::domain::{Decision, Extension, ExtensionStatus, NewExtension, Phase};
use crate::ids::{ExtensionId, PhaseId, TaskId, UserId};

const EXTENSION_COLUMNS: &str = "id, task_id, phase_id, reason, proposed_due_at, previous_due_at, status, \
     requested_by, requested_at, decided_by, decided_at, comment";

#[derive(sqlx::FromRow)]
struct ExtensionRow {
    id: ExtensionId,
    task_id: TaskId,
    phase_id: PhaseId,
    reason: String,
    proposed_due_at: DateTime<Utc>,
    previous_due_at: DateTime<Utc>,
    status: String,
    requested_by: UserId,
    requested_at: DateTime<Utc>,
    decided_by: Option<UserId>,
    decided_at: Option<DateTime<Utc>>,
    comment: Option<String>,
}

impl ExtensionRow {
    fn into_extension(self) -> StoreResult<Extension> {
        Ok(Extension {
            id: self.id,
            task_id: self.task_id,
            phase_id: self.phase_id,
            reason: self.reason,
            proposed_due_at: self.proposed_due_at,
            previous_due_at: self.previous_due_at,
            status: ExtensionStatus::parse(&self.status)
                .ok_or_else(|| StoreError::Corrupt(format!("extension status `{}`", self.status)))?,
            requested_by: self.requested_by,
            requested_at: self.requested_at,
            decision: self.decided_at.zip(self.decided_by).map(|(at, by)| Decision {
                by,
                at,
                comment: self.comment,
            }),
        })
    }
}

/// What became of an extension request.
#[derive(Debug, Clone)]
pub enum ExtensionOutcome {
    /// Stored.
    Requested(Extension),
    /// The phase was accepted, fell due or its task left `in_progress` meanwhile.
    StateChanged,
}

impl Store {
    /// Stores a request, only while the phase is open, not yet due and its task in progress.
    /// A second pending request for the same phase is [`StoreError::Duplicate`].
    pub async fn request_extension(
        &self,
        phase: &Phase,
        new: &NewExtension,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> StoreResult<ExtensionOutcome> {
        let by = actor
            .user_id
            .ok_or_else(|| StoreError::Corrupt("an extension needs a requester".into()))?;
        let ext = Extension {
            id: ExtensionId::new(),
            task_id: phase.task_id,
            phase_id: phase.id,
            reason: new.reason.clone(),
            proposed_due_at: new.proposed_due_at,
            previous_due_at: phase.due_at,
            status: ExtensionStatus::Requested,
            requested_by: by,
            requested_at: now,
            decision: None,
        };
        let event = AuditEvent::new(
            now,
            actor,
            "extension.requested",
            "extension",
            ext.id.0,
            &serde_json::json!({
                "phase_id": phase.id, "reason": ext.reason,
                "proposed_due_at": ext.proposed_due_at, "current_due_at": phase.due_at,
            }),
        )
        .on_task(phase.task_id);
        Ok(in_tx!(self, tx => {
            let stored = sqlx::query(
                "INSERT INTO extensions (id, task_id, phase_id, reason, proposed_due_at, previous_due_at, status, \
                 requested_by, requested_at) \
                 SELECT $1, $2, $3, $4, $5, $6, 'requested', $7, $8 WHERE EXISTS ( \
                   SELECT 1 FROM phases p JOIN tasks t ON t.id = p.task_id \
                   WHERE p.id = $3 AND p.status <> 'accepted' AND p.due_at = $6 AND p.due_at > $8 \
                     AND t.status = 'in_progress')",
            )
            .bind(ext.id)
            .bind(ext.task_id)
            .bind(ext.phase_id)
            .bind(&ext.reason)
            .bind(ext.proposed_due_at)
            .bind(ext.previous_due_at)
            .bind(by)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(|e| unique_as(e, "a pending extension request for this phase"))?
            .rows_affected()
                == 1;
            if !stored {
                return Ok(ExtensionOutcome::StateChanged);
            }
            audit::insert(&event).execute(&mut *tx).await?;
            ExtensionOutcome::Requested(ext)
        }))
    }

    /// One extension request.
    pub async fn find_extension(&self, id: ExtensionId) -> StoreResult<Option<Extension>> {
        let sql = format!("SELECT {EXTENSION_COLUMNS} FROM extensions WHERE id = $1");
        let row: Option<ExtensionRow> = on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(id).fetch_optional(pool).await?
        });
        row.map(ExtensionRow::into_extension).transpose()
    }

    /// A task's extension requests, oldest first.
    pub async fn list_extensions(&self, task: TaskId) -> StoreResult<Vec<Extension>> {
        let sql = format!(
            "SELECT {EXTENSION_COLUMNS} FROM extensions WHERE task_id = $1 ORDER BY requested_at, id"
        );
        let rows: Vec<ExtensionRow> = on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(task).fetch_all(pool).await?
        });
        rows.into_iter().map(ExtensionRow::into_extension).collect()
    }

    /// Grants (moving the phase's due date) or refuses a pending request; `false` when it was
    /// already decided or the task left `in_progress`.
    pub async fn decide_extension(
        &self,
        ext: &Extension,
        grant: bool,
        comment: Option<&str>,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let status = if grant {
            ExtensionStatus::Granted
        } else {
            ExtensionStatus::Refused
        };
        let event = AuditEvent::new(
            now,
            actor,
            if grant {
                "extension.granted"
            } else {
                "extension.refused"
            },
            "extension",
            ext.id.0,
            &serde_json::json!({
                "phase_id": ext.phase_id, "comment": comment,
                "previous_due_at": ext.previous_due_at, "proposed_due_at": ext.proposed_due_at,
            }),
        )
        .on_task(ext.task_id);
        Ok(in_tx!(self, tx => {
            let decided = sqlx::query(
                "UPDATE extensions SET status = $1, decided_by = $2, decided_at = $3, comment = $4 \
                 WHERE id = $5 AND status = 'requested' \
                   AND EXISTS (SELECT 1 FROM tasks t WHERE t.id = $6 AND t.status = 'in_progress')",
            )
            .bind(status.as_str())
            .bind(actor.user_id)
            .bind(now)
            .bind(comment)
            .bind(ext.id)
            .bind(ext.task_id)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if !decided {
                return Ok(false);
            }
            if grant {
                sqlx::query("UPDATE phases SET due_at = $1 WHERE id = $2 AND status <> 'accepted'")
                    .bind(ext.proposed_due_at)
                    .bind(ext.phase_id)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(REFRESH_NEXT_DUE).bind(ext.task_id).execute(&mut *tx).await?;
            }
            audit::insert(&event).execute(&mut *tx).await?;
            true
        }))
    }
}
