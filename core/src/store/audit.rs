//! Audit events, appended in the same transaction as the change they record.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;
use sqlx::{Database, Encode, Type};
use uuid::Uuid;

use crate::ids::{AuditEventId, UserId};

/// One thing that happened: who, what, to which entity, and a summary of the change.
#[derive(Debug, Clone)]
pub struct AuditEvent {
    /// Its id.
    pub id: AuditEventId,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// Who did it; `None` for the system itself (the worker, a scheduler).
    pub actor: Option<UserId>,
    /// What was done, e.g. `photo.received`.
    pub action: &'static str,
    /// The kind of entity acted on, e.g. `photo`.
    pub entity_kind: &'static str,
    /// The entity's id.
    pub entity_id: Uuid,
    /// What changed, as small JSON.
    pub summary: Value,
}

impl AuditEvent {
    /// An event happening now-ish at `at`.
    pub fn new(
        at: DateTime<Utc>,
        actor: Option<UserId>,
        action: &'static str,
        entity_kind: &'static str,
        entity_id: Uuid,
        summary: Value,
    ) -> Self {
        Self {
            id: AuditEventId::new(),
            at,
            actor,
            action,
            entity_kind,
            entity_id,
            summary,
        }
    }
}

/// The insert statement for one event, for whichever backend the caller's transaction uses.
pub(crate) fn insert<'q, DB>(event: &'q AuditEvent) -> sqlx::query::Query<'q, DB, DB::Arguments<'q>>
where
    DB: Database,
    Uuid: Encode<'q, DB> + Type<DB>,
    Option<Uuid>: Encode<'q, DB> + Type<DB>,
    DateTime<Utc>: Encode<'q, DB> + Type<DB>,
    &'q str: Encode<'q, DB> + Type<DB>,
    Json<&'q Value>: Encode<'q, DB> + Type<DB>,
{
    sqlx::query(
        "INSERT INTO audit_events (id, at, actor_id, action, entity_kind, entity_id, summary) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(event.id.0)
    .bind(event.at)
    .bind(event.actor.map(|a| a.0))
    .bind(event.action)
    .bind(event.entity_kind)
    .bind(event.entity_id)
    .bind(Json(&event.summary))
}
