//! Wire types of the console API; built from domain types, never from database rows directly.

mod orgs;
mod reminders;
mod workflow;

pub use orgs::{OrgBody, OrgDto, UserListItem, UserListQuery};
pub use reminders::ReminderDto;
pub use workflow::{
    CommentBody, DocumentDto, DocumentQuery, EventDto, ExtensionBody, ExtensionDto, PhaseHistoryDto,
    PlanBody, PlanDto, ReasonBody, ReviewBody, UrgeBody,
};

use chrono::{DateTime, Utc};
use fieldproof_core::domain::{
    ExifSummary, Light, LightRule, NewPhase, NewSite, NewTask, Phase, Role, Site, Task, User, Verification,
};
use fieldproof_core::geodesy::Datum;
use fieldproof_core::ids::{OrgId, PhotoId, RecordId, SiteId, TaskId, UserId};
use fieldproof_core::service::tasks::TaskView;
use fieldproof_core::store::{PhotoRow, TaskSummary};
use fieldproof_core::web::dto::{DecisionDto, RecordDto, ThumbnailLinks};
pub use fieldproof_core::web::dto::{PhaseDto, SiteDto, UrgeDto};
use serde::{Deserialize, Serialize};

/// `POST /auth/login`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    pub username: String,
    pub password: String,
}

/// A user as others see them.
#[derive(Debug, Serialize)]
pub struct UserDto {
    pub id: UserId,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub org_id: Option<OrgId>,
    pub created_at: DateTime<Utc>,
}

impl From<&User> for UserDto {
    fn from(u: &User) -> Self {
        Self {
            id: u.id,
            username: u.username.clone(),
            display_name: u.display_name.clone(),
            role: u.role,
            org_id: u.org_id,
            created_at: u.created_at,
        }
    }
}

/// Answer to a login.
#[derive(Debug, Serialize)]
pub struct LoginDto {
    pub token: String,
    pub token_type: &'static str,
    pub user: UserDto,
}

/// `POST /users`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserBody {
    pub username: String,
    pub password: String,
    pub role: Role,
    pub display_name: String,
    /// Required for every role but `admin`.
    #[serde(default)]
    pub org_id: Option<OrgId>,
    /// A mainland mobile number for reminders.
    #[serde(default)]
    pub mobile: Option<String>,
}

/// `POST /sites`; coordinates are checked by the domain so that every bad field is reported.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteBody {
    pub name: String,
    #[serde(default)]
    pub address: Option<String>,
    pub lat: f64,
    pub lon: f64,
    pub datum: Datum,
    pub radius_m: f64,
    #[serde(default)]
    pub timezone: Option<String>,
}

impl From<SiteBody> for NewSite {
    fn from(b: SiteBody) -> Self {
        NewSite {
            name: b.name,
            address: b.address,
            lat: b.lat,
            lon: b.lon,
            datum: b.datum,
            radius_m: b.radius_m,
            timezone: b.timezone,
        }
    }
}

/// One phase in `POST /tasks`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhaseBody {
    pub title: String,
    pub due_at: DateTime<Utc>,
}

impl From<PhaseBody> for NewPhase {
    fn from(p: PhaseBody) -> Self {
        NewPhase {
            title: p.title,
            due_at: p.due_at,
        }
    }
}

/// `POST /tasks`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskBody {
    pub title: String,
    #[serde(default)]
    pub description: Option<String>,
    pub site_id: SiteId,
    /// The handling agency the task is issued to.
    pub agency_id: OrgId,
    pub due_at: DateTime<Utc>,
    /// Phases set by the group (the task starts `in_progress`); leave out to let the agency
    /// plan them (the task starts `issued`).
    #[serde(default)]
    pub phases: Vec<PhaseBody>,
}

impl From<TaskBody> for NewTask {
    fn from(b: TaskBody) -> Self {
        NewTask {
            title: b.title,
            description: b.description,
            site_id: b.site_id,
            agency_id: b.agency_id,
            due_at: b.due_at,
            phases: b.phases.into_iter().map(NewPhase::from).collect(),
        }
    }
}

/// How a task ended.
#[derive(Debug, Serialize)]
pub struct EndingDto {
    pub at: DateTime<Utc>,
    pub by: UserId,
    pub reason: String,
}

/// The task page.
#[derive(Debug, Serialize)]
pub struct TaskDto {
    pub id: TaskId,
    pub title: String,
    pub description: Option<String>,
    pub site: SiteDto,
    pub due_at: DateTime<Utc>,
    pub status: &'static str,
    pub group_id: Option<OrgId>,
    pub agency_id: Option<OrgId>,
    pub region_code: Option<String>,
    pub overdue: bool,
    pub overdue_days: i64,
    /// Green, yellow, red or done: that of the most urgent open phase.
    pub light: Light,
    /// SMS reminders that went out.
    pub reminders_sent: i64,
    pub next_due_at: Option<DateTime<Utc>>,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
    pub acknowledged: Option<DecisionDto>,
    pub ended: Option<EndingDto>,
    pub phases: Vec<PhaseDto>,
    pub plans: Vec<PlanDto>,
    pub extensions: Vec<ExtensionDto>,
    pub urges: Vec<UrgeDto>,
    pub records: Vec<RecordDto>,
}

impl TaskDto {
    /// The task page as of the rule's moment.
    pub fn new(v: &TaskView, rule: &LightRule) -> Self {
        let now = rule.now;
        let tz = v.site.timezone;
        let phases = PhaseDto::of_task(&v.task, &v.phases, rule, tz);
        Self {
            id: v.task.id,
            title: v.task.title.clone(),
            description: v.task.description.clone(),
            site: SiteDto::from(&v.site),
            due_at: v.task.due_at,
            status: v.task.status.as_str(),
            group_id: v.task.group_id,
            agency_id: v.task.agency_id,
            region_code: v.task.region_code.clone(),
            overdue: phases.iter().any(|p| p.overdue),
            overdue_days: v.task.overdue_days(now),
            light: rule.of_task(&v.task, tz),
            reminders_sent: v.reminders_sent,
            next_due_at: v.task.next_due_at,
            created_by: v.task.created_by,
            created_at: v.task.created_at,
            acknowledged: v.task.acknowledged.map(|(at, by)| DecisionDto {
                by,
                at,
                comment: None,
            }),
            ended: v.task.ended.as_ref().map(|e| EndingDto {
                at: e.at,
                by: e.by,
                reason: e.reason.clone(),
            }),
            phases,
            plans: v.plans.iter().map(PlanDto::from).collect(),
            extensions: v.extensions.iter().map(ExtensionDto::from).collect(),
            urges: v.urges.iter().map(UrgeDto::from).collect(),
            records: v
                .records
                .iter()
                .map(|(r, photos)| RecordDto::new(r, photos))
                .collect(),
        }
    }

    /// A freshly created task, which has no records yet.
    pub fn created(task: &Task, site: &Site, phases: &[Phase], rule: &LightRule) -> Self {
        Self::new(
            &TaskView {
                task: task.clone(),
                site: site.clone(),
                phases: phases.to_vec(),
                records: vec![],
                plans: vec![],
                extensions: vec![],
                urges: vec![],
                reminders_sent: 0,
            },
            rule,
        )
    }
}

/// The query of a route that takes no parameters: any is refused (400).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoQuery {}

/// `GET /tasks` query; unknown parameters are refused.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskListQuery {
    /// A workflow state, e.g. `in_progress`.
    pub status: Option<String>,
    /// Only this agency's tasks.
    pub agency_id: Option<OrgId>,
    /// A GB/T 2260 code; tasks anywhere inside it (a province includes its cities).
    pub region: Option<String>,
    /// Only tasks with (`true`) or without (`false`) an overdue phase.
    pub overdue: Option<bool>,
    /// Only tasks with this traffic light: `red`, `yellow`, `green` or `done`.
    pub light: Option<String>,
    /// Text in the title or description.
    pub q: Option<String>,
    /// `created` (default), `-created` or `next_due`.
    pub sort: Option<String>,
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// One task in the list.
#[derive(Debug, Serialize)]
pub struct TaskListItem {
    pub id: TaskId,
    pub title: String,
    pub site_id: SiteId,
    pub due_at: DateTime<Utc>,
    pub status: &'static str,
    pub agency_id: Option<OrgId>,
    pub region_code: Option<String>,
    pub overdue: bool,
    pub overdue_days: i64,
    pub next_due_at: Option<DateTime<Utc>>,
    pub phase_count: i64,
    pub accepted_phase_count: i64,
    pub overdue_phase_count: i64,
    /// Green, yellow, red or done.
    pub light: Light,
    /// SMS reminders that went out.
    pub reminders_sent: i64,
    pub created_at: DateTime<Utc>,
}

impl TaskListItem {
    /// A list row as of the rule's moment.
    pub fn new(s: &TaskSummary, rule: &LightRule) -> Self {
        let now = rule.now;
        let tz = s.timezone.parse().unwrap_or(chrono_tz::Tz::Asia__Shanghai);
        Self {
            id: s.task.id,
            title: s.task.title.clone(),
            site_id: s.task.site_id,
            due_at: s.task.due_at,
            status: s.task.status.as_str(),
            agency_id: s.task.agency_id,
            region_code: s.task.region_code.clone(),
            overdue: s.overdue_phase_count > 0,
            overdue_days: s.task.overdue_days(now),
            next_due_at: s.task.next_due_at,
            phase_count: s.phase_count,
            accepted_phase_count: s.accepted_phase_count,
            overdue_phase_count: s.overdue_phase_count,
            light: rule.of_task(&s.task, tz),
            reminders_sent: s.reminders_sent,
            created_at: s.task.created_at,
        }
    }
}

/// A page of tasks.
#[derive(Debug, Serialize)]
pub struct TaskPage {
    pub items: Vec<TaskListItem>,
    /// Pass as `cursor` for the next page; absent on the last one.
    pub next_cursor: Option<String>,
}

/// Everything known about one photo.
#[derive(Debug, Serialize)]
pub struct PhotoDto {
    pub id: PhotoId,
    pub record_id: RecordId,
    pub task_id: TaskId,
    pub status: &'static str,
    pub sha256: String,
    pub bytes: i64,
    pub content_type: String,
    pub width: Option<i32>,
    pub height: Option<i32>,
    pub exif: Option<ExifSummary>,
    pub verification: Option<Verification>,
    pub error: Option<String>,
    pub attempts: i32,
    pub original: String,
    pub thumbnails: Option<ThumbnailLinks>,
    pub received_at: DateTime<Utc>,
    pub processed_at: Option<DateTime<Utc>>,
}

impl PhotoDto {
    /// Builds the photo page.
    pub fn new(p: &PhotoRow, task_id: TaskId) -> Self {
        Self {
            id: p.id,
            record_id: p.record_id,
            task_id,
            status: p.status.as_str(),
            sha256: p.sha256.clone(),
            bytes: p.size_bytes,
            content_type: p.content_type.clone(),
            width: p.width,
            height: p.height,
            exif: p.exif.clone(),
            verification: p.verification.clone(),
            error: p.last_error.clone(),
            attempts: p.attempts,
            original: format!("/api/v1/photos/{}/original", p.id),
            thumbnails: p
                .thumb_small_key
                .as_ref()
                .map(|_| ThumbnailLinks::for_photo(p.id)),
            received_at: p.received_at,
            processed_at: p.processed_at,
        }
    }
}
