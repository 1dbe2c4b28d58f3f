//! Wire types of the mobile API.

use chrono::{DateTime, Utc};
use fieldproof_core::domain::{DeviceFix, Finding, RecordKind};
use fieldproof_core::ids::{DocumentId, PhaseId, PhotoId, RecordId, TaskId};
use fieldproof_core::store::PhotoRow;
use serde::{Deserialize, Serialize};

/// Body of `PUT /mobile/v1/records/{id}`.
#[derive(Debug, Deserialize)]
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

/// Answer to `PUT …/photos/{id}`.
#[derive(Debug, Serialize)]
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
