//! Records, created idempotently under the id the phone chose.

use chrono::{DateTime, Utc};

use super::rows::RecordRow;
use super::{AuditEvent, Store, StoreResult, audit, in_tx, on_pool};
use crate::domain::{NewRecord, Record};
use crate::ids::{RecordId, TaskId, UserId};

const RECORD_COLUMNS: &str = "id, task_id, phase_id, kind, note, device_time, device_lat, device_lon, \
     device_accuracy_m, created_by, received_at";

/// What a `PUT` of a record did.
#[derive(Debug, Clone)]
pub enum RecordOutcome {
    /// A new record was stored.
    Created(Record),
    /// The same record was already stored; nothing changed.
    Unchanged(Record),
    /// The id holds a record with other content (or of another user).
    Conflict(Record),
}

impl Store {
    /// Stores a record under the phone's id, or reports how it relates to the one stored.
    pub async fn put_record(
        &self,
        new: &NewRecord,
        actor: UserId,
        now: DateTime<Utc>,
    ) -> StoreResult<RecordOutcome> {
        let event = AuditEvent::new(
            now,
            Some(actor),
            "record.created",
            "record",
            new.id.0,
            serde_json::json!({ "task_id": new.task_id, "phase_id": new.phase_id, "kind": new.kind.as_str() }),
        );
        let fix = new.device_location;
        let inserted = in_tx!(self, tx => {
            let done = sqlx::query(
                "INSERT INTO records (id, task_id, phase_id, kind, note, device_time, device_lat, device_lon, \
                 device_accuracy_m, created_by, received_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (id) DO NOTHING",
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
            .bind(actor)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            let inserted = done.rows_affected() == 1;
            if inserted {
                audit::insert(&event).execute(&mut *tx).await?;
            }
            inserted
        });
        let stored = self
            .find_record(new.id)
            .await?
            .ok_or_else(|| super::StoreError::Corrupt("record vanished after insert".into()))?;
        Ok(if inserted {
            RecordOutcome::Created(stored)
        } else if stored.created_by == actor && new.same_content_as(&stored) {
            RecordOutcome::Unchanged(stored)
        } else {
            RecordOutcome::Conflict(stored)
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

    /// A task's records, oldest first.
    pub async fn list_records(&self, task: TaskId) -> StoreResult<Vec<Record>> {
        let sql = format!("SELECT {RECORD_COLUMNS} FROM records WHERE task_id = $1 ORDER BY received_at, id");
        let rows: Vec<RecordRow> = on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(task).fetch_all(pool).await?
        });
        rows.into_iter().map(RecordRow::into_record).collect()
    }
}
