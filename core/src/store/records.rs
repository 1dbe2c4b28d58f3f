//! Records, created idempotently under the id the phone chose, and the review of phase
//! reports.

use chrono::{DateTime, Utc};

use super::rows::RecordRow;
use super::tasks::{REFRESH_NEXT_DUE, insert_phase, new_phases};
use super::{Store, StoreError, StoreResult, audit, in_tx, on_pool, placeholders};
use crate::audit::{Actor, AuditEvent};
use crate::domain::{NewRecord, Phase, Record, RecordKind, ReviewDecision};
use crate::ids::{PhaseId, RecordId, TaskId, UserId};

const RECORD_COLUMNS: &str = "id, task_id, phase_id, kind, note, device_time, device_lat, device_lon, \
     device_accuracy_m, created_by, received_at, findings, document_ids, review_status, reviewed_by, \
     reviewed_at, review_comment, review_new_due_at";

/// What a `PUT` of a record did.
#[derive(Debug, Clone)]
pub enum RecordOutcome {
    /// A new record was stored (with the phases its findings added).
    Created(Record, Vec<Phase>),
    /// The same record was already stored; nothing changed.
    Unchanged(Record),
    /// The id holds a record with other content (or of another user).
    Conflict(Record),
    /// The task or phase left the state the record needs while it was being stored.
    StateChanged,
}

/// What a review did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewOutcome {
    /// Decided; `true` when accepting it completed the task.
    Decided {
        /// Whether the task is now `completed`.
        task_completed: bool,
    },
    /// The report was already reviewed or the task left `in_progress`.
    StateChanged,
}

impl Store {
    /// Stores a record under the phone's id, or reports how it relates to the one stored. A
    /// phase report marks its phase `submitted`; an inspection's findings that require a new
    /// phase add it (reopening a completed task).
    pub async fn put_record(
        &self,
        new: &NewRecord,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> StoreResult<RecordOutcome> {
        let by = actor
            .user_id
            .ok_or_else(|| StoreError::Corrupt("a record needs an author".into()))?;
        let event = AuditEvent::new(
            now,
            actor,
            "record.created",
            "record",
            new.id.0,
            &serde_json::json!({
                "phase_id": new.phase_id, "kind": new.kind.as_str(),
                "findings": new.findings.len(), "documents": new.document_ids,
            }),
        )
        .on_task(new.task_id);
        let findings = (!new.findings.is_empty())
            .then(|| serde_json::to_string(&new.findings))
            .transpose()
            .map_err(|e| StoreError::Corrupt(format!("findings: {e}")))?;
        let document_ids = serde_json::to_string(&new.document_ids)
            .map_err(|e| StoreError::Corrupt(format!("documents: {e}")))?;
        let review_status = (new.kind == RecordKind::Rectification).then_some("pending");
        let required: Vec<_> = new.required_phases().cloned().collect();
        let fix = new.device_location;
        let outcome = in_tx!(self, tx => {
            let inserted = sqlx::query(
                "INSERT INTO records (id, task_id, phase_id, kind, note, device_time, device_lat, device_lon, \
                 device_accuracy_m, created_by, received_at, findings, document_ids, review_status) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) ON CONFLICT (id) DO NOTHING",
            )
            .bind(new.id)
            .bind(new.task_id)
            .bind(new.phase_id)
            .bind(new.kind.as_str())
            .bind(&new.note)
            .bind(new.device_time)
            .bind(fix.map(|f| f.point.lat()))
            .bind(fix.map(|f| f.point.lon()))
            .bind(fix.and_then(|f| f.accuracy_m))
            .bind(by)
            .bind(now)
            .bind(&findings)
            .bind(&document_ids)
            .bind(review_status)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if !inserted {
                None
            } else {
                let mut added = Vec::new();
                match (new.kind, new.phase_id) {
                    (RecordKind::Rectification, Some(phase)) => {
                        let marked = sqlx::query(
                            "UPDATE phases SET status = 'submitted' WHERE id = $1 AND task_id = $2 \
                             AND status <> 'accepted' \
                             AND EXISTS (SELECT 1 FROM tasks t WHERE t.id = $2 AND t.status = 'in_progress')",
                        )
                        .bind(phase)
                        .bind(new.task_id)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected()
                            == 1;
                        if !marked {
                            return Ok(RecordOutcome::StateChanged);
                        }
                    }
                    _ if !required.is_empty() => {
                        let reopened = sqlx::query(
                            "UPDATE tasks SET status = 'in_progress' WHERE id = $1 \
                             AND status IN ('in_progress', 'completed')",
                        )
                        .bind(new.task_id)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected()
                            == 1;
                        if !reopened {
                            return Ok(RecordOutcome::StateChanged);
                        }
                        let last_seq: i32 =
                            sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM phases WHERE task_id = $1")
                                .bind(new.task_id)
                                .fetch_one(&mut *tx)
                                .await?;
                        added = new_phases(new.task_id, last_seq, &required, now);
                        for phase in &added {
                            insert_phase!(tx, phase);
                        }
                        sqlx::query(REFRESH_NEXT_DUE).bind(new.task_id).execute(&mut *tx).await?;
                    }
                    _ => {}
                }
                for doc in &new.document_ids {
                    sqlx::query(
                        "INSERT INTO attachments (document_id, task_id, owner_kind, owner_id) VALUES ($1, $2, 'record', $3)",
                    )
                    .bind(doc)
                    .bind(new.task_id)
                    .bind(new.id)
                    .execute(&mut *tx)
                    .await?;
                }
                audit::insert(&event).execute(&mut *tx).await?;
                Some(added)
            }
        });
        let stored = self
            .find_record(new.id)
            .await?
            .ok_or_else(|| StoreError::Corrupt("record vanished after insert".into()))?;
        Ok(match outcome {
            Some(added) => RecordOutcome::Created(stored, added),
            None if stored.created_by == by && new.same_content_as(&stored) => {
                RecordOutcome::Unchanged(stored)
            }
            None => RecordOutcome::Conflict(stored),
        })
    }

    /// One record.
    pub async fn find_record(&self, id: RecordId) -> StoreResult<Option<Record>> {
        let sql = format!("SELECT {RECORD_COLUMNS} FROM records WHERE id = $1");
        let row: Option<RecordRow> = on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(id).fetch_optional(pool).await?
        });
        row.map(RecordRow::into_record).transpose()
    }

    /// The records `author` filed on the tasks of `ids`, oldest first.
    pub async fn list_records_by(&self, author: UserId, ids: &[TaskId]) -> StoreResult<Vec<Record>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT {RECORD_COLUMNS} FROM records WHERE created_by = $1 AND task_id IN ({}) \
             ORDER BY received_at, id",
            placeholders(2, ids.len())
        );
        let rows: Vec<RecordRow> = on_pool!(self, pool => {
            let mut query = sqlx::query_as(&sql).bind(author);
            for id in ids {
                query = query.bind(id);
            }
            query.fetch_all(pool).await?
        });
        rows.into_iter().map(RecordRow::into_record).collect()
    }

    /// A task's records, oldest first.
    pub async fn list_records(&self, task: TaskId) -> StoreResult<Vec<Record>> {
        let sql = format!("SELECT {RECORD_COLUMNS} FROM records WHERE task_id = $1 ORDER BY received_at, id");
        let rows: Vec<RecordRow> = on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(task).fetch_all(pool).await?
        });
        rows.into_iter().map(RecordRow::into_record).collect()
    }

    /// Decides a pending phase report. Accepting it accepts the phase (and completes the task
    /// when it was the last); returning it reopens the phase, optionally with a new due date.
    #[allow(clippy::too_many_arguments)]
    pub async fn review_record(
        &self,
        record: &Record,
        phase: &Phase,
        decision: ReviewDecision,
        comment: Option<&str>,
        new_due_at: Option<DateTime<Utc>>,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> StoreResult<ReviewOutcome> {
        let (status, phase_status) = match decision {
            ReviewDecision::Accept => ("accepted", "accepted"),
            ReviewDecision::Reject => ("returned", "returned"),
        };
        let event = AuditEvent::new(
            now,
            actor,
            if decision == ReviewDecision::Accept {
                "report.accepted"
            } else {
                "report.returned"
            },
            "record",
            record.id.0,
            &serde_json::json!({
                "phase_id": phase.id, "comment": comment,
                "previous_due_at": new_due_at.map(|_| phase.due_at), "new_due_at": new_due_at,
            }),
        )
        .on_task(record.task_id);
        Ok(in_tx!(self, tx => {
            let decided = sqlx::query(
                "UPDATE records SET review_status = $1, reviewed_by = $2, reviewed_at = $3, review_comment = $4, \
                 review_new_due_at = $5 WHERE id = $6 AND review_status = 'pending' \
                 AND EXISTS (SELECT 1 FROM tasks t WHERE t.id = $7 AND t.status = 'in_progress') \
                 AND EXISTS (SELECT 1 FROM phases p WHERE p.id = $8 AND p.status <> 'accepted')",
            )
            .bind(status)
            .bind(actor.user_id)
            .bind(now)
            .bind(comment)
            .bind(new_due_at)
            .bind(record.id)
            .bind(record.task_id)
            .bind(phase.id)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if !decided {
                return Ok(ReviewOutcome::StateChanged);
            }
            sqlx::query("UPDATE phases SET status = $1, due_at = COALESCE($2, due_at) WHERE id = $3")
                .bind(phase_status)
                .bind(new_due_at)
                .bind(phase.id)
                .execute(&mut *tx)
                .await?;
            sqlx::query(REFRESH_NEXT_DUE).bind(record.task_id).execute(&mut *tx).await?;
            if decision == ReviewDecision::Accept {
                // Other reports still waiting on this phase can no longer be decided.
                sqlx::query(
                    "UPDATE records SET review_status = 'superseded' \
                     WHERE phase_id = $1 AND review_status = 'pending' AND id <> $2",
                )
                .bind(phase.id)
                .bind(record.id)
                .execute(&mut *tx)
                .await?;
            }
            audit::insert(&event).execute(&mut *tx).await?;
            let completed = decision == ReviewDecision::Accept
                && sqlx::query(
                    "UPDATE tasks SET status = 'completed', next_due_at = NULL WHERE id = $1 AND status = 'in_progress' \
                     AND NOT EXISTS (SELECT 1 FROM phases p WHERE p.task_id = $1 AND p.status <> 'accepted')",
                )
                .bind(record.task_id)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    == 1;
            if completed {
                let done = AuditEvent::new(
                    now,
                    actor,
                    "task.completed",
                    "task",
                    record.task_id.0,
                    &serde_json::json!({ "last_phase_id": phase.id }),
                )
                .on_task(record.task_id);
                audit::insert(&done).execute(&mut *tx).await?;
            }
            ReviewOutcome::Decided { task_completed: completed }
        }))
    }

    /// The reports filed on a phase, oldest first.
    pub async fn phase_reports(&self, phase: PhaseId) -> StoreResult<Vec<Record>> {
        let sql =
            format!("SELECT {RECORD_COLUMNS} FROM records WHERE phase_id = $1 ORDER BY received_at, id");
        let rows: Vec<RecordRow> = on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(phase).fetch_all(pool).await?
        });
        rows.into_iter().map(RecordRow::into_record).collect()
    }
}
