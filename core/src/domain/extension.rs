//! Extensions (延期): an agency asks for more time on a phase before it is due.

use chrono::{DateTime, Utc};

use super::plan::Decision;
use super::task::{MAX_TEXT_CHARS, named_enum};
use super::validation::{ValidationError, check_text};
use crate::ids::{ExtensionId, PhaseId, TaskId, UserId};

named_enum!(
    /// Where an extension request stands.
    ExtensionStatus {
        /// Waiting for a supervisor.
        Requested = "requested",
        /// The due date moved.
        Granted = "granted",
        /// The due date stays.
        Refused = "refused",
    }
);

/// An extension request as the agency sends it.
#[derive(Debug, Clone)]
pub struct NewExtension {
    /// Why more time is needed.
    pub reason: String,
    /// The due date asked for.
    pub proposed_due_at: DateTime<Utc>,
}

impl NewExtension {
    /// Checks the reason and that the proposed date is later than the current one.
    pub fn validate(&self, current_due: DateTime<Utc>) -> Result<(), ValidationError> {
        let mut e = ValidationError::default();
        check_text(&mut e, "reason", &self.reason, MAX_TEXT_CHARS);
        if self.proposed_due_at <= current_due {
            e.add(
                "proposed_due_at",
                "must be later than the phase's current due date",
            );
        }
        e.into_result()
    }
}

/// A stored extension request with its decision.
#[derive(Debug, Clone, PartialEq)]
pub struct Extension {
    /// Its id.
    pub id: ExtensionId,
    /// The task.
    pub task_id: TaskId,
    /// The phase.
    pub phase_id: PhaseId,
    /// Why.
    pub reason: String,
    /// The date asked for.
    pub proposed_due_at: DateTime<Utc>,
    /// The due date when it was asked for (kept as history once granted).
    pub previous_due_at: DateTime<Utc>,
    /// Where it stands.
    pub status: ExtensionStatus,
    /// Who asked.
    pub requested_by: UserId,
    /// When.
    pub requested_at: DateTime<Utc>,
    /// The supervisor's decision.
    pub decision: Option<Decision>,
}
