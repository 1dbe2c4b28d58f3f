//! Wire types of the mobile API.

use chrono::{DateTime, Utc};
use fieldproof_core::domain::{DeviceFix, Finding, Light, LightRule, NewRecord, RecordKind, TaskStatus};
use fieldproof_core::ids::{DocumentId, PhaseId, PhotoId, RecordId, TaskId};
use fieldproof_core::service::sync::{SyncPage, TaskSnapshot};
use fieldproof_core::store::PhotoRow;
use fieldproof_core::web::dto::{PhaseDto, RecordDto, ReviewDto, SiteDto, UrgeDto};
use serde::{Deserialize, Serialize};

/// Body of `PUT /mobile/v1/records/{id}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct RecordBody {
    pub task_id: TaskId,
    #[serde(default)]
    pub phase_id: Option<PhaseId>,
    pub kind: RecordKind,
    pub note: String,
    pub device_time: DateTime<Utc>,
    #[serde(default)]
    pub device_location: Option<DeviceFix>,
    /// An inspection's findings; one with `new_phase` adds a rectification phase to the task.
    #[serde(default)]
    pub findings: Vec<Finding>,
    /// Documents uploaded beforehand through `POST /api/v1/documents`.
    #[serde(default)]
    pub document_ids: Vec<DocumentId>,
}

impl RecordBody {
    /// The record the phone filed under `id`.
    pub fn into_new(self, id: RecordId) -> NewRecord {
        NewRecord {
            id,
            task_id: self.task_id,
            phase_id: self.phase_id,
            kind: self.kind,
            note: self.note,
            device_time: self.device_time,
            device_location: self.device_location,
            findings: self.findings,
            document_ids: self.document_ids,
        }
    }
}

/// Body of `POST /mobile/v1/sync/push`: what a phone queued while offline.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PushBody {
    /// The queued items, each read on its own so that one bad item spoils nothing else.
    #[schema(value_type = Vec<PushItem>)]
    pub items: Vec<serde_json::Value>,
}

/// One queued item.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PushItem {
    /// The id the phone gave the item; retrying it is safe.
    pub client_id: RecordId,
    /// What it is: `record` (an inspection, or a rectification report on a phase).
    #[serde(rename = "type")]
    pub kind: PushKind,
    /// The record, as `PUT /mobile/v1/records/{client_id}` takes it.
    pub record: RecordBody,
}

/// Kinds of queued items.
#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PushKind {
    /// A record.
    Record,
}

/// The answer to one pushed item.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PushResult {
    /// The item's `client_id` (null when the item was too broken to have one).
    pub client_id: Option<RecordId>,
    /// `created`, `unchanged`, `conflict` or `rejected`.
    pub status: &'static str,
    /// The record as stored, when it was created or already there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<RecordDto>,
    /// Why it was refused (a problem+json object).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<crate::openapi::Problem>)]
    pub problem: Option<serde_json::Value>,
}

/// Answer to `POST /mobile/v1/sync/push`: one result per item, in order.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PushAnswer {
    /// The results.
    pub results: Vec<PushResult>,
}

/// Answer to `PUT …/photos/{id}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PhotoReceipt {
    pub id: PhotoId,
    pub record_id: RecordId,
    pub status: &'static str,
    pub sha256: String,
    pub bytes: i64,
    pub content_type: String,
}

impl From<&PhotoRow> for PhotoReceipt {
    fn from(p: &PhotoRow) -> Self {
        Self {
            id: p.id,
            record_id: p.record_id,
            status: p.status.as_str(),
            sha256: p.sha256.clone(),
            bytes: p.size_bytes,
            content_type: p.content_type.clone(),
        }
    }
}

/// `GET /mobile/v1/sync` query; unknown parameters are refused.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SyncQuery {
    /// The `next_cursor` of the last answer; none for a first, full sync.
    #[serde(default)]
    pub cursor: Option<String>,
    /// Most tasks in the answer (1–500, default 100).
    #[serde(default)]
    #[param(minimum = 1, maximum = 500, default = 100)]
    pub limit: Option<i64>,
}

/// Answer to `GET /mobile/v1/sync`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SyncPageDto {
    /// Tasks new or changed since the cursor, whole.
    pub tasks: Vec<SyncTaskDto>,
    /// What to drop from the phone.
    pub removed: Vec<RemovedDto>,
    /// Circulars (通报) to the caller's organisation published since the cursor (the latest
    /// ones on a first sync); keep them by id, one may come twice.
    pub circulars: Vec<CircularDto>,
    /// Where the next sync starts.
    pub next_cursor: String,
    /// More is waiting now: sync again at once with `next_cursor`.
    pub has_more: bool,
    /// The server's clock when this was read; overdue states are as of then.
    pub as_of: DateTime<Utc>,
}

/// A circular as a phone shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CircularDto {
    /// Its id.
    #[schema(value_type = String, format = Uuid)]
    pub id: uuid::Uuid,
    /// One-line title.
    pub title: String,
    /// The text.
    pub body: String,
    /// The task it is about, if one.
    pub task_id: Option<TaskId>,
    /// When it was published.
    pub published_at: DateTime<Utc>,
}

/// Something the phone should forget.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RemovedDto {
    /// What it is (`task`).
    pub kind: &'static str,
    /// Its id.
    pub id: TaskId,
}

/// A task as a phone holds it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SyncTaskDto {
    pub id: TaskId,
    pub title: String,
    pub description: Option<String>,
    pub status: &'static str,
    pub due_at: DateTime<Utc>,
    /// The earliest due date among phases not yet accepted.
    pub next_due_at: Option<DateTime<Utc>>,
    /// A live phase is past its due date.
    pub overdue: bool,
    /// Days past the earliest open due date (a started day counts as one).
    pub overdue_days: i64,
    /// Green, yellow, red or done: that of the most urgent open phase.
    pub light: Light,
    pub site: SiteDto,
    pub phases: Vec<PhaseDto>,
    pub urges: Vec<UrgeDto>,
    /// The caller's own records on the task, with their review decisions.
    pub my_records: Vec<OwnRecordDto>,
}

/// One of the caller's records, as far as sync tells it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OwnRecordDto {
    pub id: RecordId,
    pub phase_id: Option<PhaseId>,
    pub kind: RecordKind,
    pub received_at: DateTime<Utc>,
    /// A phase report's review (pending, accepted or returned, with the comment).
    pub review: Option<ReviewDto>,
}

impl SyncPageDto {
    /// The wire form of a sync page, with lights as of the page's moment and `yellow_days`.
    pub fn new(page: &SyncPage, yellow_days: u32) -> Self {
        let rule = LightRule {
            now: page.as_of,
            yellow_days,
        };
        Self {
            tasks: page.tasks.iter().map(|t| SyncTaskDto::new(t, &rule)).collect(),
            removed: page
                .removed
                .iter()
                .map(|&id| RemovedDto { kind: "task", id })
                .collect(),
            circulars: page
                .circulars
                .iter()
                .map(|c| CircularDto {
                    id: c.id.0,
                    title: c.title.clone(),
                    body: c.body.clone(),
                    task_id: c.task_id,
                    published_at: c.created_at,
                })
                .collect(),
            next_cursor: page.next_cursor.clone(),
            has_more: page.has_more,
            as_of: page.as_of,
        }
    }
}

impl SyncTaskDto {
    fn new(s: &TaskSnapshot, rule: &LightRule) -> Self {
        let now = rule.now;
        let live = s.task.status == TaskStatus::InProgress;
        let phases = PhaseDto::of_task(&s.task, &s.phases, rule, s.site.timezone);
        Self {
            id: s.task.id,
            title: s.task.title.clone(),
            description: s.task.description.clone(),
            status: s.task.status.as_str(),
            due_at: s.task.due_at,
            next_due_at: s.task.next_due_at,
            overdue: phases.iter().any(|p| p.overdue),
            overdue_days: if live { s.task.overdue_days(now) } else { 0 },
            light: rule.of_task(&s.task, s.site.timezone),
            site: SiteDto::from(&s.site),
            phases,
            urges: s.urges.iter().map(UrgeDto::from).collect(),
            my_records: s
                .own_records
                .iter()
                .map(|r| OwnRecordDto {
                    id: r.id,
                    phase_id: r.phase_id,
                    kind: r.kind,
                    received_at: r.received_at,
                    review: r.review.as_ref().map(ReviewDto::from),
                })
                .collect(),
        }
    }
}
