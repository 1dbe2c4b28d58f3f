//! Circulars (通报): a supervision group's notice about task outcomes, published to chosen
//! organisations, read in their console and on their phones.

use chrono::{DateTime, Utc};

use super::task::MAX_TEXT_CHARS;
use super::validation::{ValidationError, check_line, check_text};
use crate::ids::{CircularId, OrgId, TaskId, UserId};

/// Longest circular title.
pub const MAX_TITLE_CHARS: usize = 100;
/// Most organisations one circular goes to.
pub const MAX_RECIPIENTS: usize = 200;

/// A published circular.
#[derive(Debug, Clone, PartialEq)]
pub struct Circular {
    /// Its id.
    pub id: CircularId,
    /// The group that published it.
    pub group_id: Option<OrgId>,
    /// Who published it.
    pub author_id: UserId,
    /// Its title, one line.
    pub title: String,
    /// Its text.
    pub body: String,
    /// The task it is about, if one.
    pub task_id: Option<TaskId>,
    /// The organisations it was sent to.
    pub recipients: Vec<OrgId>,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// Checks a circular's words and recipients.
pub fn check(title: &str, body: &str, recipients: &[OrgId]) -> Result<(), ValidationError> {
    let mut e = ValidationError::default();
    check_line(&mut e, "title", title, MAX_TITLE_CHARS);
    check_text(&mut e, "body", body, MAX_TEXT_CHARS);
    if recipients.is_empty() {
        e.add("recipients", "choose at least one organisation");
    } else if recipients.len() > MAX_RECIPIENTS {
        e.add("recipients", format!("at most {MAX_RECIPIENTS} organisations"));
    }
    e.into_result()
}
