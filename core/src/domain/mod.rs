//! Domain types and rules: who may do what, tasks and their phases, records and photo evidence.

pub mod evidence;
pub mod record;
pub mod site;
pub mod task;
pub mod user;
pub mod validation;

pub use evidence::{ExifSummary, GpsFix, PhotoAnalysis, PhotoStatus, Reason, Verdict, Verification};
pub use record::{DeviceFix, NewRecord, Record, RecordKind};
pub use site::{NewSite, Site};
pub use task::{NewPhase, NewTask, Phase, PhaseStatus, Task, TaskStatus};
pub use user::{NewUser, Role, User};
pub use validation::{FieldError, ValidationError};
