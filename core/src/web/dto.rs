//! Wire types shared by the console and mobile APIs: sites, phases with their overdue state,
//! urges, and a record with its photos' state.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use crate::domain::{
    Decision, DeviceFix, Finding, Light, LightRule, Phase, Reason, Record, Review, Site, Task, TaskStatus,
    Urge, Verdict,
};
use crate::geodesy::Datum;
use crate::ids::{DocumentId, PhaseId, PhotoId, RecordId, SiteId, TaskId, UrgeId, UserId};
use crate::store::PhotoRow;

/// Links to a photo's thumbnails.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ThumbnailLinks {
    /// 256 px long edge.
    pub small: String,
    /// 1280 px long edge.
    pub large: String,
}

impl ThumbnailLinks {
    /// The console API paths of a photo's thumbnails.
    pub fn for_photo(id: PhotoId) -> Self {
        Self {
            small: format!("/api/v1/photos/{id}/thumbnails/small"),
            large: format!("/api/v1/photos/{id}/thumbnails/large"),
        }
    }
}

/// A photo in a list: its state and verdict, without the EXIF details.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PhotoBriefDto {
    /// The photo's id.
    pub id: PhotoId,
    /// `received`, `processing`, `done` or `failed`.
    pub status: &'static str,
    /// The verdict once processed.
    pub verdict: Option<Verdict>,
    /// The reasons behind the verdict.
    pub reasons: Vec<Reason>,
    /// Why processing failed, when it did.
    pub error: Option<String>,
    /// SHA-256 of the original.
    pub sha256: String,
    /// Thumbnail links, once they exist.
    pub thumbnails: Option<ThumbnailLinks>,
    /// When the server received it.
    pub received_at: DateTime<Utc>,
}

impl From<&PhotoRow> for PhotoBriefDto {
    fn from(p: &PhotoRow) -> Self {
        Self {
            id: p.id,
            status: p.status.as_str(),
            verdict: p.verification.as_ref().map(|v| v.verdict),
            reasons: p
                .verification
                .as_ref()
                .map(|v| v.reasons.clone())
                .unwrap_or_default(),
            error: p.last_error.clone(),
            sha256: p.sha256.clone(),
            thumbnails: p
                .thumb_small_key
                .as_ref()
                .map(|_| ThumbnailLinks::for_photo(p.id)),
            received_at: p.received_at,
        }
    }
}

/// A record with its photos.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RecordDto {
    /// The id the phone chose.
    pub id: RecordId,
    /// Its task.
    pub task_id: TaskId,
    /// Its phase.
    pub phase_id: Option<PhaseId>,
    /// `inspection` or `rectification`.
    pub kind: &'static str,
    /// Findings or report text.
    pub note: String,
    /// The phone's clock when it was made.
    pub device_time: DateTime<Utc>,
    /// The phone's location fix.
    pub device_location: Option<DeviceFix>,
    /// Who filed it.
    pub created_by: UserId,
    /// When the server received it.
    pub received_at: DateTime<Utc>,
    /// An inspection's findings.
    pub findings: Vec<Finding>,
    /// Attached documents.
    pub document_ids: Vec<DocumentId>,
    /// A phase report's review.
    pub review: Option<ReviewDto>,
    /// Its photos.
    pub photos: Vec<PhotoBriefDto>,
}

/// A supervisor's decision as sent: who, when, why.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DecisionDto {
    /// Who decided.
    pub by: UserId,
    /// When.
    pub at: DateTime<Utc>,
    /// Their comment.
    pub comment: Option<String>,
}

impl From<&Decision> for DecisionDto {
    fn from(d: &Decision) -> Self {
        Self {
            by: d.by,
            at: d.at,
            comment: d.comment.clone(),
        }
    }
}

/// A phase report's review state.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReviewDto {
    /// `pending`, `accepted` or `returned`.
    pub status: &'static str,
    /// The decision, once made.
    pub decision: Option<DecisionDto>,
    /// The phase's new due date set when returning it.
    pub new_due_at: Option<DateTime<Utc>>,
}

impl From<&Review> for ReviewDto {
    fn from(r: &Review) -> Self {
        Self {
            status: r.status.as_str(),
            decision: r.decision.as_ref().map(DecisionDto::from),
            new_due_at: r.new_due_at,
        }
    }
}

impl RecordDto {
    /// Builds the wire form of a record and its photos.
    pub fn new(r: &Record, photos: &[PhotoRow]) -> Self {
        Self {
            id: r.id,
            task_id: r.task_id,
            phase_id: r.phase_id,
            kind: r.kind.as_str(),
            note: r.note.clone(),
            device_time: r.device_time,
            device_location: r.device_location,
            created_by: r.created_by,
            received_at: r.received_at,
            findings: r.findings.clone(),
            document_ids: r.document_ids.clone(),
            review: r.review.as_ref().map(ReviewDto::from),
            photos: photos.iter().map(PhotoBriefDto::from).collect(),
        }
    }
}

/// A point in some datum.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PointDto {
    /// Latitude in degrees.
    pub lat: f64,
    /// Longitude in degrees.
    pub lon: f64,
    /// The datum, when it is not obvious from the field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub datum: Option<Datum>,
}

/// A site.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SiteDto {
    /// Its id.
    pub id: SiteId,
    /// Name of the factory or place.
    pub name: String,
    /// Postal address.
    pub address: Option<String>,
    /// The coordinates as entered.
    pub input: PointDto,
    /// The location in WGS-84, which every distance uses.
    pub location: PointDto,
    /// Geofence radius in metres.
    pub radius_m: f64,
    /// IANA time zone deciding what a day is there.
    pub timezone: String,
    /// When it was entered.
    pub created_at: DateTime<Utc>,
}

impl From<&Site> for SiteDto {
    fn from(s: &Site) -> Self {
        Self {
            id: s.id,
            name: s.name.clone(),
            address: s.address.clone(),
            input: PointDto {
                lat: s.input_lat,
                lon: s.input_lon,
                datum: Some(s.datum),
            },
            location: PointDto {
                lat: s.location.lat(),
                lon: s.location.lon(),
                datum: Some(Datum::Wgs84),
            },
            radius_m: s.radius_m,
            timezone: s.timezone.name().to_owned(),
            created_at: s.created_at,
        }
    }
}

/// A phase with its overdue state.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PhaseDto {
    /// Its id.
    pub id: PhaseId,
    /// 1-based position in the task.
    pub seq: i32,
    /// Short title.
    pub title: String,
    /// When an accepted report is due.
    pub due_at: DateTime<Utc>,
    /// When it became live.
    pub starts_at: Option<DateTime<Utc>>,
    /// Workflow state.
    pub status: &'static str,
    /// Past its due date without an accepted report.
    pub overdue: bool,
    /// Green, yellow (due within the warning window), red (overdue) or done.
    pub light: Light,
}

impl PhaseDto {
    /// A task's phases as of the rule's moment, for a site in `tz`.
    pub fn of_task(task: &Task, phases: &[Phase], rule: &LightRule, tz: Tz) -> Vec<Self> {
        phases
            .iter()
            .map(|p| PhaseDto::new(p, task.status, rule, tz))
            .collect()
    }

    /// A phase of a task in state `task`: overdue only while the task is in progress.
    pub fn new(p: &Phase, task: TaskStatus, rule: &LightRule, tz: Tz) -> Self {
        Self {
            id: p.id,
            seq: p.seq,
            title: p.title.clone(),
            due_at: p.due_at,
            starts_at: p.starts_at,
            status: p.status.as_str(),
            overdue: task == TaskStatus::InProgress && p.is_overdue(rule.now),
            light: rule.of_phase(task, p, tz),
        }
    }
}

/// An urge.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UrgeDto {
    /// Its id.
    pub id: UrgeId,
    /// The task urged.
    pub task_id: TaskId,
    /// The phase, when one was named.
    pub phase_id: Option<PhaseId>,
    /// What the supervisor wrote.
    pub message: String,
    /// The supervisor.
    pub created_by: UserId,
    /// When.
    pub created_at: DateTime<Utc>,
}

impl From<&Urge> for UrgeDto {
    fn from(u: &Urge) -> Self {
        Self {
            id: u.id,
            task_id: u.task_id,
            phase_id: u.phase_id,
            message: u.message.clone(),
            created_by: u.created_by,
            created_at: u.created_at,
        }
    }
}
