//! Records: what an inspector or agency files from a phone, usually created offline.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::plan::{Decision, check_document_list};
use super::task::{NewPhase, named_enum};
use super::validation::{ValidationError, check_len, check_text};
use crate::geodesy::GeoPoint;
use crate::ids::{DocumentId, PhaseId, RecordId, TaskId, UserId};

/// Why the record was filed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
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
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
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

/// One finding of an inspection; it may require a new rectification phase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Finding {
    /// What the inspector found.
    pub text: String,
    /// The phase the agency must now rectify it in, when the finding requires one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_phase: Option<NewPhase>,
}

/// Most findings one inspection record may hold.
pub const MAX_FINDINGS: usize = 50;

named_enum!(
    /// Where a phase report stands in review.
    ReviewStatus {
        /// Waiting for a supervisor.
        Pending = "pending",
        /// Accepted: the phase is done.
        Accepted = "accepted",
        /// Returned for rework (整改).
        Returned = "returned",
        /// Left undecided when another report of the same phase was accepted.
        Superseded = "superseded",
    }
);

/// A supervisor's decision on a phase report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReviewDecision {
    /// The phase is done.
    Accept,
    /// Rework it.
    Reject,
}

/// The review state of a phase report.
#[derive(Debug, Clone, PartialEq)]
pub struct Review {
    /// Where it stands.
    pub status: ReviewStatus,
    /// Who decided, when, with what comment.
    pub decision: Option<Decision>,
    /// The phase's new due date set when returning it, if any.
    pub new_due_at: Option<DateTime<Utc>>,
}

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
    /// An inspection's findings.
    pub findings: Vec<Finding>,
    /// Attached documents (rectification reports).
    pub document_ids: Vec<DocumentId>,
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
        if self.kind == RecordKind::Rectification && !self.findings.is_empty() {
            e.add("findings", "only an inspection record has findings");
        }
        if self.findings.len() > MAX_FINDINGS {
            e.add("findings", format!("must hold at most {MAX_FINDINGS} findings"));
        }
        for (i, f) in self.findings.iter().enumerate() {
            check_text(&mut e, &format!("findings[{i}].text"), &f.text, MAX_NOTE_CHARS);
            if let Some(p) = &f.new_phase {
                check_text(&mut e, &format!("findings[{i}].new_phase.title"), &p.title, 200);
            }
        }
        check_document_list(&mut e, &self.document_ids);
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
            && self.findings == stored.findings
            && self.document_ids == stored.document_ids
    }

    /// The phases the findings require, in order.
    pub fn required_phases(&self) -> impl Iterator<Item = &NewPhase> {
        self.findings.iter().filter_map(|f| f.new_phase.as_ref())
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
    /// An inspection's findings.
    pub findings: Vec<Finding>,
    /// Attached documents.
    pub document_ids: Vec<DocumentId>,
    /// A phase report's review; `None` for inspections.
    pub review: Option<Review>,
}
