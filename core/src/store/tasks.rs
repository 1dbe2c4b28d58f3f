//! Tasks with their phases: opening, reading, and the state changes of the workflow.
//!
//! Every state change is a conditional update (`WHERE status = <expected>`), so that two
//! replicas acting on the same task at once cannot both win: the loser sees `false` and the
//! service answers 409 with the state it found.

use chrono::{DateTime, Utc};

use super::rows::{PhaseRow, TaskRow};
use super::{Store, StoreResult, audit, in_tx, on_pool, placeholders};
use crate::audit::AuditEvent;
use crate::domain::{NewPhase, NewTask, Phase, PhaseStatus, Task, TaskStatus};
use crate::ids::{OrgId, PhaseId, SiteId, TaskId, UserId};

pub(crate) const TASK_COLUMNS: &str = "t.id, t.title, t.description, t.site_id, t.due_at, t.status, \
     t.created_by, t.created_at, t.group_id, t.agency_id, t.region_code, t.next_due_at, t.acknowledged_at, \
     t.acknowledged_by, t.ended_at, t.ended_by, t.end_reason";
const PHASE_COLUMNS: &str = "id, task_id, seq, title, due_at, starts_at, status";

/// Recomputes a task's earliest open due date after its phases changed; bind the task id as `$1`.
pub(crate) const REFRESH_NEXT_DUE: &str = "UPDATE tasks SET next_due_at = \
     (SELECT MIN(due_at) FROM phases WHERE task_id = $1 AND status <> 'accepted') \
     WHERE id = $1 AND status = 'in_progress'";

/// Inserts one [`Phase`] in the transaction `$tx`.
macro_rules! insert_phase {
    ($tx:ident, $phase:expr) => {{
        let phase: &$crate::domain::Phase = $phase;
        sqlx::query(
            "INSERT INTO phases (id, task_id, seq, title, due_at, starts_at, status) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(phase.id)
        .bind(phase.task_id)
        .bind(phase.seq)
        .bind(&phase.title)
        .bind(phase.due_at)
        .bind(phase.starts_at)
        .bind(phase.status.as_str())
        .execute(&mut *$tx)
        .await?;
    }};
}
pub(crate) use insert_phase;

/// Who issues a new task: the supervision group and the agency's region.
#[derive(Debug, Clone)]
pub struct Issuer {
    /// The issuing supervision group.
    pub group_id: OrgId,
    /// The agency's region code, copied for filters.
    pub region_code: String,
}

/// How a task ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndKind {
    /// Closed after completion.
    Close,
    /// Called off.
    Cancel,
}

/// Lowercased title and description, for the list's text filter.
pub(crate) fn search_text(title: &str, description: Option<&str>) -> String {
    format!("{}\n{}", title, description.unwrap_or_default()).to_lowercase()
}

impl Store {
    /// Opens a task (with its phases when the group set them) in one transaction.
    pub async fn create_task(
        &self,
        new: &NewTask,
        issuer: &Issuer,
        actor: &crate::audit::Actor,
        now: DateTime<Utc>,
    ) -> StoreResult<(Task, Vec<Phase>)> {
        let status = new.initial_status();
        let created_by = actor
            .user_id
            .ok_or_else(|| super::StoreError::Corrupt("a task needs a creator".into()))?;
        let id = TaskId::new();
        let phases = new_phases(id, 0, &new.phases, now);
        let task = Task {
            id,
            title: new.title.clone(),
            description: new.description.clone(),
            site_id: new.site_id,
            due_at: new.due_at,
            status,
            group_id: Some(issuer.group_id),
            agency_id: Some(new.agency_id),
            region_code: Some(issuer.region_code.clone()),
            next_due_at: crate::domain::task::next_due(&phases),
            created_by,
            created_at: now,
            acknowledged: None,
            ended: None,
        };
        let event = AuditEvent::new(
            now,
            actor,
            "task.issued",
            "task",
            id.0,
            &serde_json::json!({
                "title": task.title, "site_id": task.site_id, "agency_id": new.agency_id,
                "due_at": task.due_at, "status": status.as_str(), "phases": phases.len(),
            }),
        )
        .on_task(id);
        let search = search_text(&task.title, task.description.as_deref());
        in_tx!(self, tx => {
            sqlx::query(
                "INSERT INTO tasks (id, title, description, site_id, due_at, status, created_by, created_at, \
                 group_id, agency_id, region_code, next_due_at, search_text) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            )
            .bind(task.id)
            .bind(&task.title)
            .bind(&task.description)
            .bind(task.site_id)
            .bind(task.due_at)
            .bind(status.as_str())
            .bind(created_by)
            .bind(now)
            .bind(issuer.group_id)
            .bind(new.agency_id)
            .bind(&issuer.region_code)
            .bind(task.next_due_at)
            .bind(&search)
            .execute(&mut *tx)
            .await?;
            for phase in &phases {
                insert_phase!(tx, phase);
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

    /// The tasks of `ids` that exist, in no particular order (phone sync reads them a page at
    /// a time).
    pub async fn find_tasks(&self, ids: &[TaskId]) -> StoreResult<Vec<Task>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT {TASK_COLUMNS} FROM tasks t WHERE t.id IN ({})",
            placeholders(1, ids.len())
        );
        let rows: Vec<TaskRow> = on_pool!(self, pool => {
            let mut query = sqlx::query_as(&sql);
            for id in ids {
                query = query.bind(id);
            }
            query.fetch_all(pool).await?
        });
        rows.into_iter().map(TaskRow::into_task).collect()
    }

    /// The phases of the tasks of `ids`, by task and in order.
    pub async fn list_phases_of(&self, ids: &[TaskId]) -> StoreResult<Vec<Phase>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT {PHASE_COLUMNS} FROM phases WHERE task_id IN ({}) ORDER BY task_id, seq",
            placeholders(1, ids.len())
        );
        let rows: Vec<PhaseRow> = on_pool!(self, pool => {
            let mut query = sqlx::query_as(&sql);
            for id in ids {
                query = query.bind(id);
            }
            query.fetch_all(pool).await?
        });
        rows.into_iter().map(PhaseRow::into_phase).collect()
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

    /// Whether any task of `agency` is about `site` (agency staff may see only those sites).
    pub async fn agency_has_site(&self, agency: OrgId, site: SiteId) -> StoreResult<bool> {
        let n: i64 = on_pool!(self, pool => {
            sqlx::query_scalar("SELECT COUNT(*) FROM tasks WHERE agency_id = $1 AND site_id = $2")
                .bind(agency)
                .bind(site)
                .fetch_one(pool)
                .await?
        });
        Ok(n > 0)
    }

    /// The agency confirms receipt; `false` if the task was no longer `issued`.
    pub async fn acknowledge_task(
        &self,
        task: TaskId,
        by: UserId,
        event: &AuditEvent,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        Ok(in_tx!(self, tx => {
            let done = sqlx::query(
                "UPDATE tasks SET status = 'acknowledged', acknowledged_at = $1, acknowledged_by = $2 \
                 WHERE id = $3 AND status = 'issued'",
            )
            .bind(now)
            .bind(by)
            .bind(task)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if done {
                audit::insert(event).execute(&mut *tx).await?;
            }
            done
        }))
    }

    /// Closes or cancels a task from `from`, by the event's actor; `false` if it had moved on.
    pub async fn end_task(
        &self,
        task: TaskId,
        from: TaskStatus,
        kind: EndKind,
        reason: &str,
        event: &AuditEvent,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let to = match kind {
            EndKind::Close => TaskStatus::Closed,
            EndKind::Cancel => TaskStatus::Cancelled,
        };
        Ok(in_tx!(self, tx => {
            let done = sqlx::query(
                "UPDATE tasks SET status = $1, ended_at = $2, ended_by = $3, end_reason = $4, next_due_at = NULL \
                 WHERE id = $5 AND status = $6",
            )
            .bind(to.as_str())
            .bind(now)
            .bind(event.actor.user_id)
            .bind(reason)
            .bind(task)
            .bind(from.as_str())
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if done {
                audit::insert(event).execute(&mut *tx).await?;
            }
            done
        }))
    }
}

/// Phases numbered after `last_seq`, live from `now`.
pub(crate) fn new_phases(task: TaskId, last_seq: i32, phases: &[NewPhase], now: DateTime<Utc>) -> Vec<Phase> {
    phases
        .iter()
        .zip(last_seq + 1..)
        .map(|(p, seq)| Phase {
            id: PhaseId::new(),
            task_id: task,
            seq,
            title: p.title.clone(),
            due_at: p.due_at,
            starts_at: Some(now),
            status: PhaseStatus::Open,
        })
        .collect()
}
