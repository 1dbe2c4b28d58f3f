//! Domain types and rules: who may do what, tasks and their phases, records and photo evidence.

pub mod circular;
pub mod document;
pub mod evidence;
pub mod extension;
pub mod light;
pub mod org;
pub mod plan;
pub mod record;
pub mod region;
pub mod reminder;
pub mod site;
pub mod task;
pub mod urge;
pub mod user;
pub mod validation;

pub use document::Document;
pub use evidence::{ExifSummary, GpsFix, PhotoAnalysis, PhotoStatus, Reason, Verdict, Verification};
pub use extension::{Extension, ExtensionStatus, NewExtension};
pub use light::{Light, LightRule};
pub use org::{Contact, NewOrg, Org, OrgKind};
pub use plan::{Decision, NewPlan, Plan, PlanStatus};
pub use record::{DeviceFix, Finding, NewRecord, Record, RecordKind, Review, ReviewDecision, ReviewStatus};
pub use region::RegionCode;
pub use site::{NewSite, Site};
pub use task::{
    Ending, InvalidTransition, NewPhase, NewTask, Phase, PhaseStatus, Task, TaskAction, TaskStatus,
};
pub use urge::Urge;
pub use user::{NewUser, Role, User};
pub use validation::{FieldError, ValidationError};
