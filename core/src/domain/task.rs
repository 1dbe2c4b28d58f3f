//! Tasks, their rectification phases, and the overdue rule.

use chrono::{DateTime, Utc};

use super::validation::{ValidationError, check_len, check_text};
use crate::ids::{PhaseId, SiteId, TaskId, UserId};

/// Where a task stands in the supervision workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskStatus {
    /// Phases are live and the agency is rectifying.
    InProgress,
    /// Every phase has an accepted report.
    Completed,
}

impl TaskStatus {
    /// The stable name stored and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::InProgress => "in_progress",
            TaskStatus::Completed => "completed",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "in_progress" => Some(TaskStatus::InProgress),
            "completed" => Some(TaskStatus::Completed),
            _ => None,
        }
    }
}

/// Where one phase stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhaseStatus {
    /// Waiting for an accepted report.
    Open,
    /// A supervisor accepted its report.
    Accepted,
}

impl PhaseStatus {
    /// The stable name stored and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            PhaseStatus::Open => "open",
            PhaseStatus::Accepted => "accepted",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "open" => Some(PhaseStatus::Open),
            "accepted" => Some(PhaseStatus::Accepted),
            _ => None,
        }
    }
}

/// A supervision task about one site.
#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    /// Its id.
    pub id: TaskId,
    /// Short title.
    pub title: String,
    /// Longer description.
    pub description: Option<String>,
    /// The site it is about.
    pub site_id: SiteId,
    /// The deadline of the whole task.
    pub due_at: DateTime<Utc>,
    /// Workflow state.
    pub status: TaskStatus,
    /// Who opened it.
    pub created_by: UserId,
    /// When it was opened; rectification windows start here.
    pub created_at: DateTime<Utc>,
}

/// One rectification phase.
#[derive(Debug, Clone, PartialEq)]
pub struct Phase {
    /// Its id.
    pub id: PhaseId,
    /// The task it belongs to.
    pub task_id: TaskId,
    /// 1-based position in the task.
    pub seq: i32,
    /// Short title.
    pub title: String,
    /// When an accepted report is due.
    pub due_at: DateTime<Utc>,
    /// Workflow state.
    pub status: PhaseStatus,
}

impl Phase {
    /// A phase past its due date without an accepted report is overdue.
    pub fn is_overdue(&self, now: DateTime<Utc>) -> bool {
        self.status != PhaseStatus::Accepted && now > self.due_at
    }
}

/// A phase as requested with a new task.
#[derive(Debug, Clone)]
pub struct NewPhase {
    /// Short title.
    pub title: String,
    /// When an accepted report is due.
    pub due_at: DateTime<Utc>,
}

/// A request to open a task.
#[derive(Debug, Clone)]
pub struct NewTask {
    /// Short title.
    pub title: String,
    /// Longer description.
    pub description: Option<String>,
    /// The site it is about.
    pub site_id: SiteId,
    /// The deadline of the whole task.
    pub due_at: DateTime<Utc>,
    /// Its phases, in order.
    pub phases: Vec<NewPhase>,
}

/// Most phases one task may have.
pub const MAX_PHASES: usize = 50;

impl NewTask {
    /// Checks every field: phases in date order, none after the task's own deadline.
    pub fn validate(&self, now: DateTime<Utc>) -> Result<(), ValidationError> {
        let mut e = ValidationError::default();
        check_text(&mut e, "title", &self.title, 200);
        if let Some(d) = &self.description {
            check_len(&mut e, "description", d, 10_000);
        }
        if self.due_at <= now {
            e.add("due_at", "must be in the future");
        }
        if self.phases.is_empty() {
            e.add("phases", "must hold at least one phase");
        }
        if self.phases.len() > MAX_PHASES {
            e.add("phases", format!("must hold at most {MAX_PHASES} phases"));
        }
        let mut previous: Option<DateTime<Utc>> = None;
        for (i, phase) in self.phases.iter().enumerate() {
            check_text(&mut e, &format!("phases[{i}].title"), &phase.title, 200);
            if phase.due_at <= now {
                e.add(format!("phases[{i}].due_at"), "must be in the future");
            }
            if phase.due_at > self.due_at {
                e.add(
                    format!("phases[{i}].due_at"),
                    "must not be after the task's due_at",
                );
            }
            if previous.is_some_and(|p| phase.due_at < p) {
                e.add(
                    format!("phases[{i}].due_at"),
                    "must not be before the previous phase",
                );
            }
            previous = Some(phase.due_at);
        }
        e.into_result()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn phase(due_at: DateTime<Utc>, status: PhaseStatus) -> Phase {
        Phase {
            id: PhaseId::new(),
            task_id: TaskId::new(),
            seq: 1,
            title: "p".into(),
            due_at,
            status,
        }
    }

    #[test]
    fn open_phase_past_due_is_overdue_and_accepted_one_is_not() {
        let now = Utc::now();
        assert!(phase(now - Duration::seconds(1), PhaseStatus::Open).is_overdue(now));
        assert!(!phase(now + Duration::seconds(1), PhaseStatus::Open).is_overdue(now));
        assert!(!phase(now - Duration::days(3), PhaseStatus::Accepted).is_overdue(now));
    }

    #[test]
    fn phases_out_of_order_or_after_the_task_are_refused() {
        let now = Utc::now();
        let task = NewTask {
            title: "t".into(),
            description: None,
            site_id: SiteId::new(),
            due_at: now + Duration::days(10),
            phases: vec![
                NewPhase {
                    title: "a".into(),
                    due_at: now + Duration::days(5),
                },
                NewPhase {
                    title: "b".into(),
                    due_at: now + Duration::days(4),
                },
                NewPhase {
                    title: "c".into(),
                    due_at: now + Duration::days(11),
                },
            ],
        };
        let err = task.validate(now).unwrap_err();
        let fields: Vec<_> = err.errors.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["phases[1].due_at", "phases[2].due_at"]);
    }
}
