//! Plans, reviews, extensions, urges, documents and the audit history.

use chrono::{DateTime, Utc};
use fieldproof_core::domain::{
    Document, Extension, LightRule, NewExtension, NewPhase, NewPlan, Plan, ReviewDecision,
};
use fieldproof_core::ids::{DocumentId, ExtensionId, PhaseId, PlanId, TaskId, UserId};
use fieldproof_core::service::workflow::PhaseView;
use fieldproof_core::store::ListedEvent;
use fieldproof_core::web::dto::{DecisionDto, RecordDto};
use serde::{Deserialize, Serialize};

use super::PhaseBody;

/// `POST /tasks/{id}/plans`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanBody {
    pub background: String,
    pub phases: Vec<PhaseBody>,
    #[serde(default)]
    pub document_ids: Vec<DocumentId>,
}

impl From<PlanBody> for NewPlan {
    fn from(b: PlanBody) -> Self {
        NewPlan {
            background: b.background,
            phases: b.phases.into_iter().map(NewPhase::from).collect(),
            document_ids: b.document_ids,
        }
    }
}

/// One plan version.
#[derive(Debug, Serialize)]
pub struct PlanDto {
    pub id: PlanId,
    pub task_id: TaskId,
    pub version: i32,
    pub background: String,
    pub phases: Vec<NewPhase>,
    pub document_ids: Vec<DocumentId>,
    pub status: &'static str,
    pub submitted_by: UserId,
    pub submitted_at: DateTime<Utc>,
    pub decision: Option<DecisionDto>,
}

impl From<&Plan> for PlanDto {
    fn from(p: &Plan) -> Self {
        Self {
            id: p.id,
            task_id: p.task_id,
            version: p.version,
            background: p.background.clone(),
            phases: p.phases.clone(),
            document_ids: p.document_ids.clone(),
            status: p.status.as_str(),
            submitted_by: p.submitted_by,
            submitted_at: p.submitted_at,
            decision: p.decision.as_ref().map(DecisionDto::from),
        }
    }
}

/// A body with an optional comment (approving a plan, granting or refusing an extension).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommentBody {
    #[serde(default)]
    pub comment: Option<String>,
}

/// A body with a required reason (closing or cancelling a task).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReasonBody {
    pub reason: String,
}

/// `POST /records/{id}/review`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewBody {
    pub decision: ReviewDecision,
    #[serde(default)]
    pub comment: Option<String>,
    #[serde(default)]
    pub new_due_at: Option<DateTime<Utc>>,
}

/// `POST /phases/{id}/extensions`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtensionBody {
    pub reason: String,
    pub proposed_due_at: DateTime<Utc>,
}

impl From<ExtensionBody> for NewExtension {
    fn from(b: ExtensionBody) -> Self {
        NewExtension {
            reason: b.reason,
            proposed_due_at: b.proposed_due_at,
        }
    }
}

/// An extension request with its decision.
#[derive(Debug, Serialize)]
pub struct ExtensionDto {
    pub id: ExtensionId,
    pub task_id: TaskId,
    pub phase_id: PhaseId,
    pub reason: String,
    pub proposed_due_at: DateTime<Utc>,
    pub previous_due_at: DateTime<Utc>,
    pub status: &'static str,
    pub requested_by: UserId,
    pub requested_at: DateTime<Utc>,
    pub decision: Option<DecisionDto>,
}

impl From<&Extension> for ExtensionDto {
    fn from(e: &Extension) -> Self {
        Self {
            id: e.id,
            task_id: e.task_id,
            phase_id: e.phase_id,
            reason: e.reason.clone(),
            proposed_due_at: e.proposed_due_at,
            previous_due_at: e.previous_due_at,
            status: e.status.as_str(),
            requested_by: e.requested_by,
            requested_at: e.requested_at,
            decision: e.decision.as_ref().map(DecisionDto::from),
        }
    }
}

/// A phase with its history: reports with their reviews, and extension requests.
#[derive(Debug, Serialize)]
pub struct PhaseHistoryDto {
    #[serde(flatten)]
    pub phase: super::PhaseDto,
    pub task_id: TaskId,
    pub reports: Vec<RecordDto>,
    pub extensions: Vec<ExtensionDto>,
}

impl PhaseHistoryDto {
    /// The phase page as of the rule's moment.
    pub fn new(v: &PhaseView, rule: &LightRule) -> Self {
        Self {
            phase: super::PhaseDto::new(&v.phase, v.task_status, rule, v.timezone),
            task_id: v.phase.task_id,
            reports: v
                .reports
                .iter()
                .map(|(r, photos)| RecordDto::new(r, photos))
                .collect(),
            extensions: v.extensions.iter().map(ExtensionDto::from).collect(),
        }
    }
}

/// `POST /tasks/{id}/urges`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UrgeBody {
    #[serde(default)]
    pub phase_id: Option<PhaseId>,
    pub message: String,
}

/// `POST /documents?name=…`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentQuery {
    pub name: Option<String>,
}

/// A stored document.
#[derive(Debug, Serialize)]
pub struct DocumentDto {
    pub id: DocumentId,
    pub file_name: String,
    pub content_type: String,
    pub bytes: i64,
    pub sha256: String,
    pub uploaded_by: UserId,
    pub uploaded_at: DateTime<Utc>,
    pub content: String,
}

impl From<&Document> for DocumentDto {
    fn from(d: &Document) -> Self {
        Self {
            id: d.id,
            file_name: d.file_name.clone(),
            content_type: d.content_type.clone(),
            bytes: d.size_bytes,
            sha256: d.sha256.clone(),
            uploaded_by: d.uploaded_by,
            uploaded_at: d.uploaded_at,
            content: format!("/api/v1/documents/{}/content", d.id),
        }
    }
}

/// One audit event in a task's history.
#[derive(Debug, Serialize)]
pub struct EventDto {
    pub id: uuid::Uuid,
    /// Position in the hash chain, once sealed.
    pub seq: Option<i64>,
    pub at: DateTime<Utc>,
    pub actor_id: Option<UserId>,
    pub actor_org_id: Option<fieldproof_core::ids::OrgId>,
    pub actor_role: Option<String>,
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
    pub action: String,
    pub entity_kind: String,
    pub entity_id: uuid::Uuid,
    pub summary: serde_json::Value,
}

impl From<&ListedEvent> for EventDto {
    fn from(l: &ListedEvent) -> Self {
        let e = &l.event;
        Self {
            id: e.id.0,
            seq: l.seq,
            at: e.at,
            actor_id: e.actor.user_id,
            actor_org_id: e.actor.org_id,
            actor_role: e.actor.role.clone(),
            client_ip: e.actor.client.ip.clone(),
            user_agent: e.actor.client.user_agent.clone(),
            action: e.action.clone(),
            entity_kind: e.entity_kind.clone(),
            entity_id: e.entity_id,
            summary: serde_json::from_str(&e.summary).unwrap_or(serde_json::Value::Null),
        }
    }
}
