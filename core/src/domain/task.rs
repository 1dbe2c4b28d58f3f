//! Tasks, their rectification phases, the workflow state machine and the overdue rule.

use chrono::{DateTime, Utc};

use super::validation::{ValidationError, check_len, check_text};
use crate::ids::{OrgId, PhaseId, SiteId, TaskId, UserId};

/// Generates a stored-name enum: `as_str`, `parse` and the list of all values.
macro_rules! named_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($(#[$vdoc])* $variant),+ }

        impl $name {
            /// Every value, in workflow order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stable name stored and sent.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// Parses the stored name.
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use named_enum;

named_enum!(
    /// Where a task stands in the supervision workflow.
    TaskStatus {
        /// A supervisor issued it to an agency.
        Issued = "issued",
        /// The agency confirmed receipt.
        Acknowledged = "acknowledged",
        /// A rectification plan waits for review.
        PlanSubmitted = "plan_submitted",
        /// Phases are live and the agency is rectifying.
        InProgress = "in_progress",
        /// Every phase has an accepted report.
        Completed = "completed",
        /// A supervisor closed it after completion.
        Closed = "closed",
        /// A supervisor called it off.
        Cancelled = "cancelled",
    }
);

named_enum!(
    /// Where one phase stands.
    PhaseStatus {
        /// Waiting for a report.
        Open = "open",
        /// A report waits for review.
        Submitted = "submitted",
        /// The last report was returned for rework.
        Returned = "returned",
        /// A supervisor accepted its report.
        Accepted = "accepted",
    }
);

named_enum!(
    /// Everything that can be done to a task, for the state machine and its errors.
    TaskAction {
        /// The agency confirms receipt.
        Acknowledge = "acknowledge",
        /// The agency submits a plan version.
        SubmitPlan = "submit_plan",
        /// A supervisor approves the pending plan.
        ApprovePlan = "approve_plan",
        /// A supervisor rejects the pending plan.
        RejectPlan = "reject_plan",
        /// The last phase was accepted.
        Complete = "complete",
        /// An inspection finding adds a phase.
        AddPhase = "add_phase",
        /// A supervisor closes a completed task.
        Close = "close",
        /// A supervisor calls the task off.
        Cancel = "cancel",
        /// The agency reports on a phase.
        SubmitReport = "submit_report",
        /// A supervisor reviews a report.
        ReviewReport = "review_report",
        /// The agency asks for more time.
        RequestExtension = "request_extension",
        /// A supervisor grants or refuses more time.
        DecideExtension = "decide_extension",
        /// A supervisor chases the agency.
        Urge = "urge",
        /// Someone files an inspection record on site.
        FileInspection = "file_inspection",
    }
);

/// An action the current state does not allow (409, naming both).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot {action} a {entity} that is {state}{hint}")]
pub struct InvalidTransition {
    /// What was attempted, e.g. `approve_plan`.
    pub action: &'static str,
    /// What it was attempted on: `task`, `phase`, `plan`, `report` or `extension`.
    pub entity: &'static str,
    /// The state it is in.
    pub state: &'static str,
    /// A short hint of what would be allowed, starting with "; " or empty.
    pub hint: &'static str,
}

impl InvalidTransition {
    /// An action refused on an entity in `state`.
    pub fn new(entity: &'static str, action: &'static str, state: &'static str) -> Self {
        Self {
            action,
            entity,
            state,
            hint: "",
        }
    }
}

impl TaskStatus {
    /// Whether nothing more can happen to the task.
    pub fn is_final(self) -> bool {
        matches!(self, TaskStatus::Closed | TaskStatus::Cancelled)
    }

    /// The state after `action`, or why it is not allowed now. Actions that leave the state
    /// as it is (reports, urges…) still need the task in a state where they make sense.
    pub fn apply(self, action: TaskAction) -> Result<TaskStatus, InvalidTransition> {
        use TaskAction as A;
        use TaskStatus as S;
        let next = match (self, action) {
            (S::Issued, A::Acknowledge) => S::Acknowledged,
            (S::Acknowledged, A::SubmitPlan) => S::PlanSubmitted,
            (S::PlanSubmitted, A::ApprovePlan) => S::InProgress,
            (S::PlanSubmitted, A::RejectPlan) => S::Acknowledged,
            (S::InProgress, A::Complete) => S::Completed,
            (S::InProgress | S::Completed, A::AddPhase) => S::InProgress,
            (S::Completed, A::Close) => S::Closed,
            (S::Issued | S::Acknowledged | S::PlanSubmitted | S::InProgress, A::Cancel) => S::Cancelled,
            (S::InProgress, A::SubmitReport | A::ReviewReport | A::RequestExtension | A::DecideExtension) => {
                S::InProgress
            }
            (s, A::Urge) if !s.is_final() && s != S::Completed => s,
            (s, A::FileInspection) if !s.is_final() => s,
            (from, action) => {
                return Err(InvalidTransition {
                    action: action.as_str(),
                    entity: "task",
                    state: from.as_str(),
                    hint: hint(from, action),
                });
            }
        };
        Ok(next)
    }
}

fn hint(from: TaskStatus, action: TaskAction) -> &'static str {
    use TaskAction as A;
    use TaskStatus as S;
    match (from, action) {
        (S::Issued, A::SubmitPlan) => "; acknowledge the task first",
        (S::InProgress, A::Close) => "; every phase must be accepted first, or cancel the task",
        (S::Acknowledged | S::Issued, A::ApprovePlan | A::RejectPlan) => "; no plan is waiting for review",
        (S::PlanSubmitted | S::Acknowledged | S::Issued, A::SubmitReport | A::RequestExtension) => {
            "; phases are live only once a plan is approved"
        }
        (s, _) if s.is_final() => "; the task is over",
        _ => "",
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
    /// The supervision group that issued it (`None` only for tasks from before organisations).
    pub group_id: Option<OrgId>,
    /// The handling agency it is issued to (`None` only for tasks from before organisations).
    pub agency_id: Option<OrgId>,
    /// The agency's GB/T 2260 region, for filters and statistics.
    pub region_code: Option<String>,
    /// The earliest due date among phases not yet accepted; past it the task is overdue.
    pub next_due_at: Option<DateTime<Utc>>,
    /// Who opened it.
    pub created_by: UserId,
    /// When it was opened.
    pub created_at: DateTime<Utc>,
    /// When and by whom the agency confirmed receipt.
    pub acknowledged: Option<(DateTime<Utc>, UserId)>,
    /// When, by whom and why it was closed or cancelled.
    pub ended: Option<Ending>,
}

/// How a task ended: closed or cancelled, by whom, why.
#[derive(Debug, Clone, PartialEq)]
pub struct Ending {
    /// When.
    pub at: DateTime<Utc>,
    /// Who.
    pub by: UserId,
    /// Why, in the supervisor's words.
    pub reason: String,
}

impl Task {
    /// Whole days the task is past its earliest open due date (0 when not overdue).
    pub fn overdue_days(&self, now: DateTime<Utc>) -> i64 {
        overdue_days(self.next_due_at, now)
    }
}

/// Days since `due` when it has passed, counting a started day as one, else 0.
pub fn overdue_days(due: Option<DateTime<Utc>>, now: DateTime<Utc>) -> i64 {
    match due {
        Some(due) if now > due => ((now - due).num_milliseconds() + 86_399_999) / 86_400_000,
        _ => 0,
    }
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
    /// When it became live (plan approval, task creation or the finding that added it).
    pub starts_at: Option<DateTime<Utc>>,
    /// Workflow state.
    pub status: PhaseStatus,
}

impl Phase {
    /// A phase past its due date without an accepted report is overdue.
    pub fn is_overdue(&self, now: DateTime<Utc>) -> bool {
        self.status != PhaseStatus::Accepted && now > self.due_at
    }

    /// The phase status after a report is submitted.
    pub fn submit_report(&self) -> Result<PhaseStatus, InvalidTransition> {
        match self.status {
            PhaseStatus::Accepted => Err(InvalidTransition {
                hint: "; its report was already accepted",
                ..InvalidTransition::new("phase", "submit_report", self.status.as_str())
            }),
            _ => Ok(PhaseStatus::Submitted),
        }
    }

    /// Whether an extension may be asked for now: before the due date, not yet accepted.
    pub fn may_extend(&self, now: DateTime<Utc>) -> Result<(), InvalidTransition> {
        if self.status == PhaseStatus::Accepted {
            return Err(InvalidTransition::new("phase", "request_extension", "accepted"));
        }
        if now >= self.due_at {
            return Err(InvalidTransition {
                hint: "; extensions must be asked for before the due date",
                ..InvalidTransition::new("phase", "request_extension", "overdue")
            });
        }
        Ok(())
    }
}

/// The earliest due date among phases not yet accepted.
pub fn next_due(phases: &[Phase]) -> Option<DateTime<Utc>> {
    phases
        .iter()
        .filter(|p| p.status != PhaseStatus::Accepted)
        .map(|p| p.due_at)
        .min()
}

/// A phase as requested with a new task, a plan or a finding.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
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
    /// The agency it is issued to.
    pub agency_id: OrgId,
    /// The deadline of the whole task.
    pub due_at: DateTime<Utc>,
    /// Its phases, in order; empty to let the agency plan them (the task starts `issued`).
    pub phases: Vec<NewPhase>,
}

/// Most phases one task may have.
pub const MAX_PHASES: usize = 50;

/// Longest free text (descriptions, backgrounds, comments, reasons) in characters.
pub const MAX_TEXT_CHARS: usize = 10_000;

impl NewTask {
    /// Checks every field: phases in date order, none after the task's own deadline.
    pub fn validate(&self, now: DateTime<Utc>) -> Result<(), ValidationError> {
        let mut e = ValidationError::default();
        check_text(&mut e, "title", &self.title, 200);
        if let Some(d) = &self.description {
            check_len(&mut e, "description", d, MAX_TEXT_CHARS);
        }
        if self.due_at <= now {
            e.add("due_at", "must be in the future");
        }
        if !self.phases.is_empty() {
            check_phases(&mut e, "phases", &self.phases, now, Some(self.due_at));
        }
        e.into_result()
    }

    /// The state a new task starts in: with its phases set it is already in progress.
    pub fn initial_status(&self) -> TaskStatus {
        if self.phases.is_empty() {
            TaskStatus::Issued
        } else {
            TaskStatus::InProgress
        }
    }
}

/// Checks a list of phases: at least one, at most [`MAX_PHASES`], titled, each due after
/// `not_before` and the previous one, and none after `not_after`.
pub fn check_phases(
    e: &mut ValidationError,
    field: &str,
    phases: &[NewPhase],
    not_before: DateTime<Utc>,
    not_after: Option<DateTime<Utc>>,
) {
    if phases.is_empty() {
        e.add(field, "must hold at least one phase");
    }
    if phases.len() > MAX_PHASES {
        e.add(field, format!("must hold at most {MAX_PHASES} phases"));
        return;
    }
    let mut previous: Option<DateTime<Utc>> = None;
    for (i, phase) in phases.iter().enumerate() {
        check_text(e, &format!("{field}[{i}].title"), &phase.title, 200);
        let due = format!("{field}[{i}].due_at");
        if phase.due_at <= not_before {
            e.add(due.clone(), "must be in the future and after the task was issued");
        }
        if not_after.is_some_and(|limit| phase.due_at > limit) {
            e.add(due.clone(), "must not be after the task's due_at");
        }
        if previous.is_some_and(|p| phase.due_at < p) {
            e.add(due, "must not be before the previous phase");
        }
        previous = Some(phase.due_at);
    }
}

#[cfg(test)]
mod tests;
