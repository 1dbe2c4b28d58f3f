//! Urges (催办), recorded and listed per task.

use chrono::{DateTime, Utc};

use super::reminders::insert_reminders;
use super::{NewReminder, Store, StoreError, StoreResult, audit, in_tx, on_pool, placeholders};
use crate::audit::{Actor, AuditEvent};
use crate::domain::Urge;
use crate::ids::{PhaseId, TaskId, UrgeId, UserId};

#[derive(sqlx::FromRow)]
struct UrgeRow {
    id: UrgeId,
    task_id: TaskId,
    phase_id: Option<PhaseId>,
    message: String,
    created_by: UserId,
    created_at: DateTime<Utc>,
}

impl From<UrgeRow> for Urge {
    fn from(r: UrgeRow) -> Self {
        Urge {
            id: r.id,
            task_id: r.task_id,
            phase_id: r.phase_id,
            message: r.message,
            created_by: r.created_by,
            created_at: r.created_at,
        }
    }
}

impl Store {
    /// Records an urge with the reminder that carries it by SMS, in one transaction;
    /// [`StoreError::Duplicate`] (and nothing written) when the reminder's key is taken: the
    /// task was urged within the same window.
    pub async fn create_urge(&self, urge: &Urge, actor: &Actor, reminder: &NewReminder) -> StoreResult<()> {
        let event = AuditEvent::new(
            urge.created_at,
            actor,
            "task.urged",
            "urge",
            urge.id.0,
            &serde_json::json!({ "phase_id": urge.phase_id, "message": urge.message }),
        )
        .on_task(urge.task_id);
        in_tx!(self, tx => {
            sqlx::query(
                "INSERT INTO urges (id, task_id, phase_id, message, created_by, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(urge.id)
            .bind(urge.task_id)
            .bind(urge.phase_id)
            .bind(&urge.message)
            .bind(urge.created_by)
            .bind(urge.created_at)
            .execute(&mut *tx)
            .await?;
            audit::insert(&event).execute(&mut *tx).await?;
            if insert_reminders!(tx, std::slice::from_ref(reminder)) == 0 {
                return Err(StoreError::Duplicate("urge window"));
            }
        });
        Ok(())
    }

    /// The urges of the tasks of `ids`, oldest first.
    pub async fn list_urges_of(&self, ids: &[TaskId]) -> StoreResult<Vec<Urge>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT id, task_id, phase_id, message, created_by, created_at FROM urges \
             WHERE task_id IN ({}) ORDER BY created_at, id",
            placeholders(1, ids.len())
        );
        let rows: Vec<UrgeRow> = on_pool!(self, pool => {
            let mut query = sqlx::query_as(&sql);
            for id in ids {
                query = query.bind(id);
            }
            query.fetch_all(pool).await?
        });
        Ok(rows.into_iter().map(Urge::from).collect())
    }

    /// A task's urges, oldest first.
    pub async fn list_urges(&self, task: TaskId) -> StoreResult<Vec<Urge>> {
        let rows: Vec<UrgeRow> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, task_id, phase_id, message, created_by, created_at FROM urges \
                 WHERE task_id = $1 ORDER BY created_at, id",
            )
            .bind(task)
            .fetch_all(pool)
            .await?
        });
        Ok(rows.into_iter().map(Urge::from).collect())
    }
}
