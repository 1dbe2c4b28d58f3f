//! Records: what an inspector or agency files from a phone, usually created offline.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::validation::{ValidationError, check_len};
use crate::geodesy::GeoPoint;
use crate::ids::{PhaseId, RecordId, TaskId, UserId};

/// Why the record was filed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RecordKind {
    /// An on-site inspection by a supervisor or inspector.
    Inspection,
    /// Proof of rectification for a phase, from the agency.
    Rectification,
}

impl RecordKind {
    /// The stable name stored and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::Inspection => "inspection",
            RecordKind::Rectification => "rectification",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "inspection" => Some(RecordKind::Inspection),
            "rectification" => Some(RecordKind::Rectification),
            _ => None,
        }
    }
}

/// The phone's own location fix when the record was made: a second witness for photo GPS.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DeviceFix {
    /// WGS-84 position from the phone's location service.
    #[serde(flatten)]
    pub point: GeoPoint,
    /// Reported horizontal accuracy in metres.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accuracy_m: Option<f64>,
}

/// Largest location accuracy a phone may report, in metres; beyond that a fix says nothing.
pub const MAX_ACCURACY_M: f64 = 10_000.0;

/// Longest note accepted, in characters.
pub const MAX_NOTE_CHARS: usize = 10_000;

/// What a phone sends for a record; also what a repeated PUT is compared against.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRecord {
    /// The id the phone chose offline.
    pub id: RecordId,
    /// The task it belongs to.
    pub task_id: TaskId,
    /// The phase it reports on (rectification) or refers to.
    pub phase_id: Option<PhaseId>,
    /// Why it was filed.
    pub kind: RecordKind,
    /// Findings or report text.
    pub note: String,
    /// The phone's clock when the record was made.
    pub device_time: DateTime<Utc>,
    /// The phone's location fix when the record was made.
    pub device_location: Option<DeviceFix>,
}

impl NewRecord {
    /// Checks the fields that do not need the database.
    pub fn validate(&self) -> Result<(), ValidationError> {
        let mut e = ValidationError::default();
        check_len(&mut e, "note", &self.note, MAX_NOTE_CHARS);
        if let Some(fix) = &self.device_location
            && let Some(acc) = fix.accuracy_m
            && (!acc.is_finite() || !(0.0..=MAX_ACCURACY_M).contains(&acc))
        {
            e.add(
                "device_location.accuracy_m",
                format!("must be between 0 and {MAX_ACCURACY_M}"),
            );
        }
        if self.kind == RecordKind::Rectification && self.phase_id.is_none() {
            e.add("phase_id", "is required for a rectification record");
        }
        e.into_result()
    }

    /// Whether a stored record holds exactly this content (an idempotent repeat).
    pub fn same_content_as(&self, stored: &Record) -> bool {
        self.task_id == stored.task_id
            && self.phase_id == stored.phase_id
            && self.kind == stored.kind
            && self.note == stored.note
            && self.device_time == stored.device_time
            && self.device_location == stored.device_location
    }
}

/// A stored record.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// The id the phone chose.
    pub id: RecordId,
    /// The task it belongs to.
    pub task_id: TaskId,
    /// The phase it reports on.
    pub phase_id: Option<PhaseId>,
    /// Why it was filed.
    pub kind: RecordKind,
    /// Findings or report text.
    pub note: String,
    /// The phone's clock when the record was made.
    pub device_time: DateTime<Utc>,
    /// The phone's location fix when the record was made.
    pub device_location: Option<DeviceFix>,
    /// Who filed it.
    pub created_by: UserId,
    /// When the server received it; a rectification window ends here.
    pub received_at: DateTime<Utc>,
}
