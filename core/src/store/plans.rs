//! Rectification plans: versions submitted by the agency, approved or rejected by supervisors.

use chrono::{DateTime, Utc};

use super::tasks::{REFRESH_NEXT_DUE, insert_phase, new_phases};
use super::{Store, StoreError, StoreResult, audit, in_tx, on_pool};
use crate::audit::{Actor, AuditEvent};
use crate::domain::{Decision, NewPlan, Phase, Plan, PlanStatus};
use crate::ids::{DocumentId, PlanId, TaskId, UserId};

const PLAN_COLUMNS: &str = "id, task_id, version, background, phases, status, submitted_by, submitted_at, \
     decided_by, decided_at, decision_comment";

#[derive(sqlx::FromRow)]
struct PlanRow {
    id: PlanId,
    task_id: TaskId,
    version: i32,
    background: String,
    phases: String,
    status: String,
    submitted_by: UserId,
    submitted_at: DateTime<Utc>,
    decided_by: Option<UserId>,
    decided_at: Option<DateTime<Utc>>,
    decision_comment: Option<String>,
}

/// What is stored in a plan's `phases` column: the phases and the attached documents.
#[derive(serde::Serialize, serde::Deserialize)]
struct PlanBody {
    phases: Vec<crate::domain::NewPhase>,
    document_ids: Vec<DocumentId>,
}

impl PlanRow {
    fn into_plan(self) -> StoreResult<Plan> {
        let body: PlanBody = serde_json::from_str(&self.phases)
            .map_err(|e| StoreError::Corrupt(format!("plan phases: {e}")))?;
        Ok(Plan {
            id: self.id,
            task_id: self.task_id,
            version: self.version,
            background: self.background,
            phases: body.phases,
            document_ids: body.document_ids,
            status: PlanStatus::parse(&self.status)
                .ok_or_else(|| StoreError::Corrupt(format!("plan status `{}`", self.status)))?,
            submitted_by: self.submitted_by,
            submitted_at: self.submitted_at,
            decision: self.decided_at.zip(self.decided_by).map(|(at, by)| Decision {
                by,
                at,
                comment: self.decision_comment,
            }),
        })
    }
}

/// Records the decision on a submitted plan and moves its task out of `plan_submitted` to
/// `$task_to`; `false` (and the caller rolls back) when either had moved on.
macro_rules! decide {
    ($tx:ident, $plan:expr, $status:literal, $by:expr, $now:expr, $comment:expr, $task_to:literal) => {{
        let decided = sqlx::query(
            "UPDATE plans SET status = $1, decided_by = $2, decided_at = $3, decision_comment = $4 \
             WHERE id = $5 AND status = 'submitted'",
        )
        .bind($status)
        .bind($by)
        .bind($now)
        .bind($comment)
        .bind($plan.id)
        .execute(&mut *$tx)
        .await?
        .rows_affected()
            == 1;
        decided
            && sqlx::query("UPDATE tasks SET status = $1 WHERE id = $2 AND status = 'plan_submitted'")
                .bind($task_to)
                .bind($plan.task_id)
                .execute(&mut *$tx)
                .await?
                .rows_affected()
                == 1
    }};
}

impl Store {
    /// Stores the next plan version and moves the task to `plan_submitted`; `None` when the
    /// task was no longer `acknowledged`.
    pub async fn submit_plan(
        &self,
        task: TaskId,
        new: &NewPlan,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Plan>> {
        let by = actor
            .user_id
            .ok_or_else(|| StoreError::Corrupt("a plan needs a submitter".into()))?;
        let body = serde_json::to_string(&PlanBody {
            phases: new.phases.clone(),
            document_ids: new.document_ids.clone(),
        })
        .map_err(|e| StoreError::Corrupt(format!("plan phases: {e}")))?;
        let id = PlanId::new();
        Ok(in_tx!(self, tx => {
            let moved = sqlx::query("UPDATE tasks SET status = 'plan_submitted' WHERE id = $1 AND status = 'acknowledged'")
                .bind(task)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                == 1;
            if !moved {
                return Ok(None);
            }
            let version: i32 = sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) + 1 FROM plans WHERE task_id = $1")
                .bind(task)
                .fetch_one(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO plans (id, task_id, version, background, phases, status, submitted_by, submitted_at) \
                 VALUES ($1, $2, $3, $4, $5, 'submitted', $6, $7)",
            )
            .bind(id)
            .bind(task)
            .bind(version)
            .bind(&new.background)
            .bind(&body)
            .bind(by)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            for doc in &new.document_ids {
                sqlx::query("INSERT INTO attachments (document_id, task_id, owner_kind, owner_id) VALUES ($1, $2, 'plan', $3)")
                    .bind(doc)
                    .bind(task)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
            let event = AuditEvent::new(
                now,
                actor,
                "plan.submitted",
                "plan",
                id.0,
                &serde_json::json!({ "version": version, "phases": new.phases.len(), "documents": new.document_ids }),
            )
            .on_task(task);
            audit::insert(&event).execute(&mut *tx).await?;
            Some(Plan {
                id,
                task_id: task,
                version,
                background: new.background.clone(),
                phases: new.phases.clone(),
                document_ids: new.document_ids.clone(),
                status: PlanStatus::Submitted,
                submitted_by: by,
                submitted_at: now,
                decision: None,
            })
        }))
    }

    /// Every version of a task's plan, oldest first.
    pub async fn list_plans(&self, task: TaskId) -> StoreResult<Vec<Plan>> {
        let sql = format!("SELECT {PLAN_COLUMNS} FROM plans WHERE task_id = $1 ORDER BY version");
        let rows: Vec<PlanRow> = on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(task).fetch_all(pool).await?
        });
        rows.into_iter().map(PlanRow::into_plan).collect()
    }

    /// One version of a task's plan.
    pub async fn find_plan(&self, task: TaskId, version: i32) -> StoreResult<Option<Plan>> {
        let sql = format!("SELECT {PLAN_COLUMNS} FROM plans WHERE task_id = $1 AND version = $2");
        let row: Option<PlanRow> = on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(task).bind(version).fetch_optional(pool).await?
        });
        row.map(PlanRow::into_plan).transpose()
    }

    /// Approves a submitted plan: the task goes `in_progress` and the plan's phases become
    /// live. `None` when the plan or the task had moved on.
    pub async fn approve_plan(
        &self,
        plan: &Plan,
        comment: Option<&str>,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Vec<Phase>>> {
        let by = actor.user_id;
        let task = plan.task_id;
        Ok(in_tx!(self, tx => {
            let moved = decide!(tx, plan, "approved", by, now, comment, "in_progress");
            if !moved {
                return Ok(None);
            }
            let last_seq: i32 = sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM phases WHERE task_id = $1")
                .bind(task)
                .fetch_one(&mut *tx)
                .await?;
            let phases = new_phases(task, last_seq, &plan.phases, now);
            for phase in &phases {
                insert_phase!(tx, phase);
            }
            sqlx::query(REFRESH_NEXT_DUE).bind(task).execute(&mut *tx).await?;
            let event = AuditEvent::new(
                now,
                actor,
                "plan.approved",
                "plan",
                plan.id.0,
                &serde_json::json!({ "version": plan.version, "comment": comment, "phases": phases.len() }),
            )
            .on_task(task);
            audit::insert(&event).execute(&mut *tx).await?;
            Some(phases)
        }))
    }

    /// Rejects a submitted plan with a comment: the task goes back to the agency
    /// (`acknowledged`) for a new version. `false` when the plan or task had moved on.
    pub async fn reject_plan(
        &self,
        plan: &Plan,
        comment: &str,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let task = plan.task_id;
        Ok(in_tx!(self, tx => {
            let moved = decide!(tx, plan, "rejected", actor.user_id, now, Some(comment), "acknowledged");
            if !moved {
                return Ok(false);
            }
            let event = AuditEvent::new(
                now,
                actor,
                "plan.rejected",
                "plan",
                plan.id.0,
                &serde_json::json!({ "version": plan.version, "comment": comment }),
            )
            .on_task(task);
            audit::insert(&event).execute(&mut *tx).await?;
            true
        }))
    }
}
