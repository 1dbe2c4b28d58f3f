//! Rectification plans: the agency's answer to a task, versioned until one is approved.

use chrono::{DateTime, Utc};

use super::task::{MAX_TEXT_CHARS, NewPhase, check_phases, named_enum};
use super::validation::{ValidationError, check_text};
use crate::ids::{DocumentId, PlanId, TaskId, UserId};

named_enum!(
    /// Where one plan version stands.
    PlanStatus {
        /// Waiting for a supervisor.
        Submitted = "submitted",
        /// Its phases are live.
        Approved = "approved",
        /// Sent back with a comment; the agency submits a new version.
        Rejected = "rejected",
    }
);

/// Most documents one plan or report may carry.
pub const MAX_DOCUMENTS: usize = 20;

/// A plan version as the agency submits it.
#[derive(Debug, Clone)]
pub struct NewPlan {
    /// Background: what was found and how it will be rectified.
    pub background: String,
    /// The phases with their due dates, in order.
    pub phases: Vec<NewPhase>,
    /// Attached documents, uploaded beforehand.
    pub document_ids: Vec<DocumentId>,
}

impl NewPlan {
    /// Checks every field; phases must fall after the task was issued and by its deadline.
    pub fn validate(
        &self,
        now: DateTime<Utc>,
        issued_at: DateTime<Utc>,
        task_due: DateTime<Utc>,
    ) -> Result<(), ValidationError> {
        let mut e = ValidationError::default();
        check_text(&mut e, "background", &self.background, MAX_TEXT_CHARS);
        check_phases(&mut e, "phases", &self.phases, now.max(issued_at), Some(task_due));
        check_document_list(&mut e, &self.document_ids);
        e.into_result()
    }
}

/// Checks a list of attached document ids: not too many, no repeats.
pub fn check_document_list(e: &mut ValidationError, ids: &[DocumentId]) {
    if ids.len() > MAX_DOCUMENTS {
        e.add(
            "document_ids",
            format!("must hold at most {MAX_DOCUMENTS} documents"),
        );
    }
    let mut seen = std::collections::HashSet::new();
    if !ids.iter().all(|id| seen.insert(id)) {
        e.add("document_ids", "must not repeat a document");
    }
}

/// A stored plan version.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Its id.
    pub id: PlanId,
    /// The task it answers.
    pub task_id: TaskId,
    /// 1, 2, … in the order submitted.
    pub version: i32,
    /// Background text.
    pub background: String,
    /// The proposed phases.
    pub phases: Vec<NewPhase>,
    /// Attached documents.
    pub document_ids: Vec<DocumentId>,
    /// Where it stands.
    pub status: PlanStatus,
    /// Who submitted it.
    pub submitted_by: UserId,
    /// When.
    pub submitted_at: DateTime<Utc>,
    /// The supervisor's decision, when made.
    pub decision: Option<Decision>,
}

/// A supervisor's decision on a plan, report or extension.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// Who decided.
    pub by: UserId,
    /// When.
    pub at: DateTime<Utc>,
    /// Why, in their words.
    pub comment: Option<String>,
}

/// A comment or reason: required, at most [`MAX_TEXT_CHARS`].
pub fn check_comment(field: &str, text: &str) -> Result<(), ValidationError> {
    let mut e = ValidationError::default();
    check_text(&mut e, field, text, MAX_TEXT_CHARS);
    e.into_result()
}
