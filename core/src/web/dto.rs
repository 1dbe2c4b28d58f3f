//! Wire types shared by the console and mobile APIs: a record with its photos' state.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::{DeviceFix, Reason, Record, Verdict};
use crate::ids::{PhaseId, PhotoId, RecordId, TaskId, UserId};
use crate::store::PhotoRow;

/// Links to a photo's thumbnails.
#[derive(Debug, Clone, Serialize)]
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
#[derive(Debug, Clone, Serialize)]
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
#[derive(Debug, Clone, Serialize)]
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
    /// Its photos.
    pub photos: Vec<PhotoBriefDto>,
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
            photos: photos.iter().map(PhotoBriefDto::from).collect(),
        }
    }
}
