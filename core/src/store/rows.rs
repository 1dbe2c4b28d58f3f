//! Database rows and their conversion to domain types; a row never leaves the store.

use chrono::{DateTime, Utc};
use sqlx::types::Json;

use super::{StoreError, StoreResult};
use crate::domain::{
    Decision, DeviceFix, Ending, ExifSummary, Finding, Phase, PhaseStatus, PhotoStatus, Record, RecordKind,
    Review, ReviewStatus, Role, Site, Task, TaskStatus, User, Verification,
};
use crate::geodesy::{Datum, GeoPoint};
use crate::ids::{DocumentId, OrgId, PhaseId, PhotoId, RecordId, SiteId, TaskId, UserId};

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("{what} `{value}`"))
}

#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    pub id: UserId,
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub password_hash: String,
    pub org_id: Option<OrgId>,
    pub created_at: DateTime<Utc>,
}

impl UserRow {
    pub fn into_user(self) -> StoreResult<User> {
        Ok(User {
            id: self.id,
            role: Role::parse(&self.role).ok_or_else(|| corrupt("role", &self.role))?,
            username: self.username,
            display_name: self.display_name,
            org_id: self.org_id,
            created_at: self.created_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct SiteRow {
    pub id: SiteId,
    pub name: String,
    pub address: Option<String>,
    pub input_lat: f64,
    pub input_lon: f64,
    pub datum: String,
    pub lat: f64,
    pub lon: f64,
    pub radius_m: f64,
    pub timezone: String,
    pub created_at: DateTime<Utc>,
}

impl SiteRow {
    pub fn into_site(self) -> StoreResult<Site> {
        Ok(Site {
            id: self.id,
            datum: Datum::parse(&self.datum).ok_or_else(|| corrupt("datum", &self.datum))?,
            location: GeoPoint::new(self.lat, self.lon)
                .map_err(|e| StoreError::Corrupt(format!("site location: {e}")))?,
            timezone: self
                .timezone
                .parse()
                .map_err(|_| corrupt("time zone", &self.timezone))?,
            name: self.name,
            address: self.address,
            input_lat: self.input_lat,
            input_lon: self.input_lon,
            radius_m: self.radius_m,
            created_at: self.created_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct TaskRow {
    pub id: TaskId,
    pub title: String,
    pub description: Option<String>,
    pub site_id: SiteId,
    pub due_at: DateTime<Utc>,
    pub status: String,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
    pub group_id: Option<OrgId>,
    pub agency_id: Option<OrgId>,
    pub region_code: Option<String>,
    pub next_due_at: Option<DateTime<Utc>>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub acknowledged_by: Option<UserId>,
    pub ended_at: Option<DateTime<Utc>>,
    pub ended_by: Option<UserId>,
    pub end_reason: Option<String>,
}

impl TaskRow {
    pub fn into_task(self) -> StoreResult<Task> {
        Ok(Task {
            id: self.id,
            status: TaskStatus::parse(&self.status).ok_or_else(|| corrupt("task status", &self.status))?,
            title: self.title,
            description: self.description,
            site_id: self.site_id,
            due_at: self.due_at,
            created_by: self.created_by,
            created_at: self.created_at,
            group_id: self.group_id,
            agency_id: self.agency_id,
            region_code: self.region_code,
            next_due_at: self.next_due_at,
            acknowledged: self.acknowledged_at.zip(self.acknowledged_by),
            ended: match (self.ended_at, self.ended_by) {
                (Some(at), Some(by)) => Some(Ending {
                    at,
                    by,
                    reason: self.end_reason.unwrap_or_default(),
                }),
                _ => None,
            },
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct PhaseRow {
    pub id: PhaseId,
    pub task_id: TaskId,
    pub seq: i32,
    pub title: String,
    pub due_at: DateTime<Utc>,
    pub starts_at: Option<DateTime<Utc>>,
    pub status: String,
}

impl PhaseRow {
    pub fn into_phase(self) -> StoreResult<Phase> {
        Ok(Phase {
            id: self.id,
            status: PhaseStatus::parse(&self.status).ok_or_else(|| corrupt("phase status", &self.status))?,
            task_id: self.task_id,
            seq: self.seq,
            title: self.title,
            due_at: self.due_at,
            starts_at: self.starts_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct RecordRow {
    pub id: RecordId,
    pub task_id: TaskId,
    pub phase_id: Option<PhaseId>,
    pub kind: String,
    pub note: String,
    pub device_time: DateTime<Utc>,
    pub device_lat: Option<f64>,
    pub device_lon: Option<f64>,
    pub device_accuracy_m: Option<f64>,
    pub created_by: UserId,
    pub received_at: DateTime<Utc>,
    pub findings: Option<String>,
    pub document_ids: String,
    pub review_status: Option<String>,
    pub reviewed_by: Option<UserId>,
    pub reviewed_at: Option<DateTime<Utc>>,
    pub review_comment: Option<String>,
    pub review_new_due_at: Option<DateTime<Utc>>,
}

impl RecordRow {
    pub fn into_record(self) -> StoreResult<Record> {
        let device_location = match (self.device_lat, self.device_lon) {
            (Some(lat), Some(lon)) => Some(DeviceFix {
                point: GeoPoint::new(lat, lon)
                    .map_err(|e| StoreError::Corrupt(format!("device location: {e}")))?,
                accuracy_m: self.device_accuracy_m,
            }),
            _ => None,
        };
        let findings: Vec<Finding> = match &self.findings {
            Some(text) => serde_json::from_str(text).map_err(|_| corrupt("findings", text))?,
            None => Vec::new(),
        };
        let document_ids: Vec<DocumentId> = serde_json::from_str(&self.document_ids)
            .map_err(|_| corrupt("document ids", &self.document_ids))?;
        let review = match &self.review_status {
            Some(status) => Some(Review {
                status: ReviewStatus::parse(status).ok_or_else(|| corrupt("review status", status))?,
                decision: self.reviewed_at.zip(self.reviewed_by).map(|(at, by)| Decision {
                    by,
                    at,
                    comment: self.review_comment.clone(),
                }),
                new_due_at: self.review_new_due_at,
            }),
            None => None,
        };
        Ok(Record {
            id: self.id,
            kind: RecordKind::parse(&self.kind).ok_or_else(|| corrupt("record kind", &self.kind))?,
            findings,
            document_ids,
            review,
            task_id: self.task_id,
            phase_id: self.phase_id,
            note: self.note,
            device_time: self.device_time,
            device_location,
            created_by: self.created_by,
            received_at: self.received_at,
        })
    }
}

/// Columns of a photo row, selected the same way everywhere.
pub(crate) const PHOTO_COLUMNS: &str = "id, record_id, sha256, size_bytes, content_type, original_key, \
     status, attempts, last_error, width, height, exif, verification, thumb_small_key, \
     thumb_large_key, received_at, processed_at, device_clock_offset_ms, file_name";

#[derive(sqlx::FromRow)]
pub(crate) struct PhotoDbRow {
    pub id: PhotoId,
    pub record_id: RecordId,
    pub sha256: String,
    pub size_bytes: i64,
    pub content_type: String,
    pub original_key: String,
    pub status: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub width: Option<i32>,
    pub height: Option<i32>,
    pub exif: Option<Json<ExifSummary>>,
    pub verification: Option<Json<Verification>>,
    pub thumb_small_key: Option<String>,
    pub thumb_large_key: Option<String>,
    pub received_at: DateTime<Utc>,
    pub processed_at: Option<DateTime<Utc>>,
    pub device_clock_offset_ms: Option<i64>,
    pub file_name: Option<String>,
}

impl PhotoDbRow {
    pub fn into_photo(self) -> StoreResult<super::PhotoRow> {
        Ok(super::PhotoRow {
            id: self.id,
            record_id: self.record_id,
            status: PhotoStatus::parse(&self.status).ok_or_else(|| corrupt("photo status", &self.status))?,
            sha256: self.sha256,
            size_bytes: self.size_bytes,
            content_type: self.content_type,
            original_key: self.original_key,
            attempts: self.attempts,
            last_error: self.last_error,
            width: self.width,
            height: self.height,
            exif: self.exif.map(|j| j.0),
            verification: self.verification.map(|j| j.0),
            thumb_small_key: self.thumb_small_key,
            thumb_large_key: self.thumb_large_key,
            received_at: self.received_at,
            processed_at: self.processed_at,
            device_clock_offset_ms: self.device_clock_offset_ms,
            file_name: self.file_name,
        })
    }
}
