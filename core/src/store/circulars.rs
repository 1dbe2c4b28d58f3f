//! Circulars and the organisations they were sent to.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::{Store, StoreResult, audit, in_tx, on_pool};
use crate::audit::{Actor, AuditEvent};
use crate::domain::circular::Circular;
use crate::ids::{CircularId, OrgId, TaskId, UserId};

#[derive(sqlx::FromRow)]
struct CircularRow {
    id: CircularId,
    group_id: Option<OrgId>,
    author_id: UserId,
    title: String,
    body: String,
    task_id: Option<TaskId>,
    created_at: DateTime<Utc>,
}

impl Store {
    /// Publishes a circular to its recipients, with its audit event.
    pub async fn create_circular(&self, c: &Circular, actor: &Actor) -> StoreResult<()> {
        // Not on the task's history: the task's agency may not be among the recipients.
        let event = AuditEvent::new(
            c.created_at,
            actor,
            "circular.published",
            "circular",
            c.id.0,
            &serde_json::json!({ "title": c.title, "recipients": c.recipients, "task_id": c.task_id }),
        );
        in_tx!(self, tx => {
            sqlx::query(
                "INSERT INTO circulars (id, group_id, author_id, title, body, task_id, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(c.id)
            .bind(c.group_id)
            .bind(c.author_id)
            .bind(&c.title)
            .bind(&c.body)
            .bind(c.task_id)
            .bind(c.created_at)
            .execute(&mut *tx)
            .await?;
            let mut q = sqlx::QueryBuilder::new("INSERT INTO circular_recipients (circular_id, org_id) ");
            q.push_values(&c.recipients, |mut b, org| {
                b.push_bind(c.id).push_bind(*org);
            });
            q.build().execute(&mut *tx).await?;
            audit::insert(&event).execute(&mut *tx).await?;
        });
        Ok(())
    }

    /// The newest circulars `org` published or received (every one when `org` is `None`),
    /// created after `since` when given, newest first.
    pub async fn circulars_for(
        &self,
        org: Option<OrgId>,
        since: Option<DateTime<Utc>>,
        limit: i64,
    ) -> StoreResult<Vec<Circular>> {
        let rows: Vec<CircularRow> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT c.id, c.group_id, c.author_id, c.title, c.body, c.task_id, c.created_at FROM circulars c \
                 WHERE ($1 IS NULL OR c.group_id = $1 OR EXISTS \
                        (SELECT 1 FROM circular_recipients r WHERE r.circular_id = c.id AND r.org_id = $1)) \
                   AND ($2 IS NULL OR c.created_at > $2) \
                 ORDER BY c.created_at DESC LIMIT $3",
            )
            .bind(org)
            .bind(since)
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let pairs: Vec<(CircularId, OrgId)> = on_pool!(self, pool => {
            let mut q = sqlx::QueryBuilder::new("SELECT circular_id, org_id FROM circular_recipients WHERE circular_id IN (");
            let mut list = q.separated(", ");
            for r in &rows {
                list.push_bind(r.id);
            }
            q.push(") ORDER BY org_id");
            q.build_query_as().fetch_all(pool).await?
        });
        let mut recipients: HashMap<CircularId, Vec<OrgId>> = HashMap::new();
        for (c, org) in pairs {
            recipients.entry(c).or_default().push(org);
        }
        Ok(rows
            .into_iter()
            .map(|r| Circular {
                recipients: recipients.remove(&r.id).unwrap_or_default(),
                id: r.id,
                group_id: r.group_id,
                author_id: r.author_id,
                title: r.title,
                body: r.body,
                task_id: r.task_id,
                created_at: r.created_at,
            })
            .collect())
    }
}
