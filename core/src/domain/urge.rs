//! Urges (催办): a supervisor chases an agency on a task or one of its phases.

use chrono::{DateTime, Utc};

use super::validation::{ValidationError, check_text};
use crate::ids::{PhaseId, TaskId, UrgeId, UserId};

/// Longest urge message; it is meant to fit an SMS.
pub const MAX_URGE_CHARS: usize = 500;

/// A recorded urge, visible to the agency.
#[derive(Debug, Clone, PartialEq)]
pub struct Urge {
    /// Its id.
    pub id: UrgeId,
    /// The task.
    pub task_id: TaskId,
    /// The phase, when the urge is about one.
    pub phase_id: Option<PhaseId>,
    /// What the supervisor says.
    pub message: String,
    /// Who urged.
    pub created_by: UserId,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// Checks an urge message.
pub fn check_message(message: &str) -> Result<(), ValidationError> {
    let mut e = ValidationError::default();
    check_text(&mut e, "message", message, MAX_URGE_CHARS);
    e.into_result()
}
