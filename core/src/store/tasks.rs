//! Tasks with their phases, and the task list with its overdue filter.

use chrono::{DateTime, Utc};

use super::rows::{PhaseRow, TaskRow};
use super::{AuditEvent, Store, StoreResult, audit, in_tx, on_pool};
use crate::domain::{NewTask, Phase, PhaseStatus, Task, TaskStatus};
use crate::ids::{PhaseId, TaskId, UserId};

const TASK_COLUMNS: &str =
    "t.id, t.title, t.description, t.site_id, t.due_at, t.status, t.created_by, t.created_at";
const PHASE_COLUMNS: &str = "id, task_id, seq, title, due_at, status";

/// Which tasks to list.
#[derive(Debug, Clone, Copy, Default)]
pub struct TaskFilter {
    /// Only tasks with (true) or without (false) an overdue phase.
    pub overdue: Option<bool>,
    /// At most this many.
    pub limit: i64,
    /// Continue after this task (ids are time-ordered v7).
    pub after: Option<TaskId>,
}

/// A task in a list, with its phase counts.
#[derive(Debug, Clone)]
pub struct TaskSummary {
    /// The task.
    pub task: Task,
    /// How many phases it has.
    pub phase_count: i64,
    /// How many of them are overdue now.
    pub overdue_phase_count: i64,
}

#[derive(sqlx::FromRow)]
struct TaskListRow {
    #[sqlx(flatten)]
    task: TaskRow,
    phase_count: i64,
    overdue_phase_count: i64,
}

impl Store {
    /// Opens a task with its phases in one transaction.
    pub async fn create_task(
        &self,
        new: &NewTask,
        actor: UserId,
        now: DateTime<Utc>,
    ) -> StoreResult<(Task, Vec<Phase>)> {
        let task = Task {
            id: TaskId::new(),
            title: new.title.clone(),
            description: new.description.clone(),
            site_id: new.site_id,
            due_at: new.due_at,
            status: TaskStatus::InProgress,
            created_by: actor,
            created_at: now,
        };
        let phases: Vec<Phase> = new
            .phases
            .iter()
            .zip(1..)
            .map(|(p, seq)| Phase {
                id: PhaseId::new(),
                task_id: task.id,
                seq,
                title: p.title.clone(),
                due_at: p.due_at,
                status: PhaseStatus::Open,
            })
            .collect();
        let event = AuditEvent::new(
            now,
            Some(actor),
            "task.created",
            "task",
            task.id.0,
            serde_json::json!({ "title": task.title, "site_id": task.site_id, "phases": phases.len() }),
        );
        in_tx!(self, tx => {
            sqlx::query(
                "INSERT INTO tasks (id, title, description, site_id, due_at, status, created_by, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(task.id)
            .bind(&task.title)
            .bind(&task.description)
            .bind(task.site_id)
            .bind(task.due_at)
            .bind(task.status.as_str())
            .bind(actor)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            for phase in &phases {
                sqlx::query(
                    "INSERT INTO phases (id, task_id, seq, title, due_at, status) VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(phase.id)
                .bind(phase.task_id)
                .bind(phase.seq)
                .bind(&phase.title)
                .bind(phase.due_at)
                .bind(phase.status.as_str())
                .execute(&mut *tx)
                .await?;
            }
            audit::insert(&event).execute(&mut *tx).await?;
        });
        Ok((task, phases))
    }

    /// One task.
    pub async fn find_task(&self, id: TaskId) -> StoreResult<Option<Task>> {
        let sql = format!("SELECT {TASK_COLUMNS} FROM tasks t WHERE t.id = $1");
        let row: Option<TaskRow> = on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(id).fetch_optional(pool).await?
        });
        row.map(TaskRow::into_task).transpose()
    }

    /// A task's phases in order.
    pub async fn list_phases(&self, task: TaskId) -> StoreResult<Vec<Phase>> {
        let sql = format!("SELECT {PHASE_COLUMNS} FROM phases WHERE task_id = $1 ORDER BY seq");
        let rows: Vec<PhaseRow> = on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(task).fetch_all(pool).await?
        });
        rows.into_iter().map(PhaseRow::into_phase).collect()
    }

    /// One phase.
    pub async fn find_phase(&self, id: PhaseId) -> StoreResult<Option<Phase>> {
        let sql = format!("SELECT {PHASE_COLUMNS} FROM phases WHERE id = $1");
        let row: Option<PhaseRow> = on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(id).fetch_optional(pool).await?
        });
        row.map(PhaseRow::into_phase).transpose()
    }

    /// Tasks oldest first, with phase counts, optionally only (not) overdue ones.
    pub async fn list_tasks(&self, filter: TaskFilter, now: DateTime<Utc>) -> StoreResult<Vec<TaskSummary>> {
        let overdue_clause = match filter.overdue {
            None => "",
            Some(true) => " AND overdue_phase_count > 0",
            Some(false) => " AND overdue_phase_count = 0",
        };
        let sql = format!(
            "SELECT * FROM (SELECT {TASK_COLUMNS}, \
               (SELECT COUNT(*) FROM phases p WHERE p.task_id = t.id) AS phase_count, \
               (SELECT COUNT(*) FROM phases p WHERE p.task_id = t.id AND p.status <> 'accepted' \
                  AND p.due_at < $1) AS overdue_phase_count \
             FROM tasks t WHERE ($2 IS NULL OR t.id > $2)) AS listed \
             WHERE TRUE{overdue_clause} ORDER BY id LIMIT $3"
        );
        let rows: Vec<TaskListRow> = on_pool!(self, pool => {
            sqlx::query_as(&sql)
                .bind(now)
                .bind(filter.after)
                .bind(filter.limit)
                .fetch_all(pool)
                .await?
        });
        rows.into_iter()
            .map(|r| {
                Ok(TaskSummary {
                    task: r.task.into_task()?,
                    phase_count: r.phase_count,
                    overdue_phase_count: r.overdue_phase_count,
                })
            })
            .collect()
    }
}
