//! Typed identifiers, so a task id can never be passed where a photo id is expected.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta] $name:ident),* $(,)?) => {$(
        #[$doc]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, sqlx::Type, utoipa::ToSchema)]
        #[serde(transparent)]
        #[sqlx(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A fresh, time-ordered (v7) id made by the server.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    )*};
}

id_type!(
    /// A user account.
    UserId,
    /// A factory site with a location and a geofence.
    SiteId,
    /// A supervision task about one site.
    TaskId,
    /// One rectification phase of a task.
    PhaseId,
    /// An inspection or rectification record, usually created offline by a phone.
    RecordId,
    /// One photo of a record; the phone chooses it so retries are idempotent.
    PhotoId,
    /// A login session behind a bearer token.
    SessionId,
    /// One audit event.
    AuditEventId,
    /// A supervision group or a handling agency.
    OrgId,
    /// One version of a task's rectification plan.
    PlanId,
    /// A document attached to a plan or a report.
    DocumentId,
    /// A request to move a phase's due date.
    ExtensionId,
    /// A supervisor's urge (催办) to an agency.
    UrgeId,
    /// A resumable upload of one photo (tus or the IETF draft).
    UploadId,
    /// A circular (通报) from a supervision group to chosen organisations.
    CircularId,
);
