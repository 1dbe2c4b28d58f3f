//! What the statistics are computed from: one row per visible task, per phase and per task's
//! judged photos. Three plain scans that read the same on both databases; the grouping (by
//! agency, region or month in the site's zone) and the date arithmetic happen in Rust.

use chrono::{DateTime, Utc};

use super::task_list::Scope;
use super::{Store, StoreResult, on_pool};
use crate::ids::{OrgId, TaskId};

/// A task as the statistics see it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StatTask {
    /// Its id.
    pub id: TaskId,
    /// The agency it was issued to.
    pub agency_id: Option<OrgId>,
    /// The agency's region code.
    pub region_code: Option<String>,
    /// When it was opened.
    pub created_at: DateTime<Utc>,
    /// Its workflow state.
    pub status: String,
    /// Its site's time zone, which decides its month.
    pub timezone: String,
}

/// A phase as the statistics see it, with when its report was accepted.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StatPhase {
    /// Its task.
    pub task_id: TaskId,
    /// Its due date.
    pub due_at: DateTime<Utc>,
    /// When it went live.
    pub starts_at: Option<DateTime<Utc>>,
    /// Its state.
    pub status: String,
    /// When its accepted report was accepted.
    pub accepted_at: Option<DateTime<Utc>>,
}

/// How many of a task's photos have a verdict, and how many of those are suspicious.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StatPhotos {
    /// The task.
    pub task_id: TaskId,
    /// Photos with a verdict.
    pub judged: i64,
    /// Of those, suspicious.
    pub suspicious: i64,
}

/// The visibility condition of `scope` on `tasks t`, with the two optional ids it binds.
fn scope_ids(scope: Scope) -> (Option<OrgId>, Option<OrgId>) {
    match scope {
        Scope::All => (None, None),
        Scope::Group(org) => (Some(org), None),
        Scope::Agency(org) => (None, Some(org)),
    }
}

const SCOPE: &str = "($1 IS NULL OR t.group_id = $1) AND ($2 IS NULL OR t.agency_id = $2)";

impl Store {
    /// Every task, phase and photo count `scope` may see, for the statistics.
    pub async fn stats_rows(
        &self,
        scope: Scope,
    ) -> StoreResult<(Vec<StatTask>, Vec<StatPhase>, Vec<StatPhotos>)> {
        let (group, agency) = scope_ids(scope);
        let tasks_sql = format!(
            "SELECT t.id, t.agency_id, t.region_code, t.created_at, t.status, \
                    COALESCE((SELECT s.timezone FROM sites s WHERE s.id = t.site_id), 'Asia/Shanghai') AS timezone \
             FROM tasks t WHERE {SCOPE}"
        );
        let phases_sql = format!(
            "SELECT p.task_id, p.due_at, p.starts_at, p.status, \
                    (SELECT MAX(r.reviewed_at) FROM records r \
                     WHERE r.phase_id = p.id AND r.review_status = 'accepted') AS accepted_at \
             FROM phases p JOIN tasks t ON t.id = p.task_id WHERE {SCOPE}"
        );
        let photos_sql = format!(
            "SELECT r.task_id, COUNT(*) AS judged, \
                    SUM(CASE WHEN ph.verdict = 'suspicious' THEN 1 ELSE 0 END) AS suspicious \
             FROM photos ph JOIN records r ON r.id = ph.record_id JOIN tasks t ON t.id = r.task_id \
             WHERE ph.verdict IS NOT NULL AND {SCOPE} GROUP BY r.task_id"
        );
        Ok(on_pool!(self, pool => {
            let tasks = sqlx::query_as(&tasks_sql).bind(group).bind(agency).fetch_all(pool).await?;
            let phases = sqlx::query_as(&phases_sql).bind(group).bind(agency).fetch_all(pool).await?;
            let photos = sqlx::query_as(&photos_sql).bind(group).bind(agency).fetch_all(pool).await?;
            (tasks, phases, photos)
        }))
    }
}
