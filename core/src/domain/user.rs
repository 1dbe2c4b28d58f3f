//! Users and their roles.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::validation::{ValidationError, check_text};
use crate::ids::{OrgId, UserId};

/// What a user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Administers users, sites and configuration.
    Admin,
    /// Opens tasks, reviews evidence, chases overdue phases.
    Supervisor,
    /// Files on-site inspection records from a phone.
    Inspector,
    /// Handling-agency staff who submit rectification reports.
    Agency,
}

impl Role {
    /// The stable name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Supervisor => "supervisor",
            Role::Inspector => "inspector",
            Role::Agency => "agency",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "admin" => Some(Role::Admin),
            "supervisor" => Some(Role::Supervisor),
            "inspector" => Some(Role::Inspector),
            "agency" => Some(Role::Agency),
            _ => None,
        }
    }

    /// Whether this role may open sites and tasks.
    pub fn manages_tasks(self) -> bool {
        matches!(self, Role::Admin | Role::Supervisor)
    }

    /// The kind of organisation this role belongs to; `None` for admins, who may have none.
    pub fn org_kind(self) -> Option<super::OrgKind> {
        match self {
            Role::Admin => None,
            Role::Supervisor | Role::Inspector => Some(super::OrgKind::Supervision),
            Role::Agency => Some(super::OrgKind::Agency),
        }
    }
}

/// A user as the rest of the system sees it (never with the password hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Its id.
    pub id: UserId,
    /// Login name, unique.
    pub username: String,
    /// Name shown to others.
    pub display_name: String,
    /// What the user may do.
    pub role: Role,
    /// The organisation they belong to (`None` only for admins).
    pub org_id: Option<OrgId>,
    /// When the account was made.
    pub created_at: DateTime<Utc>,
}

/// Longest password accepted; longer ones are refused before hashing (B42).
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// A validated request to create a user.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Login name: 3–64 of `a-z 0-9 . _ -`.
    pub username: String,
    /// Plain password, 8 characters to 1 KiB.
    pub password: String,
    /// What the user may do.
    pub role: Role,
    /// Name shown to others.
    pub display_name: String,
    /// The organisation they belong to; required for every role but admin.
    pub org_id: Option<OrgId>,
    /// A mainland mobile number for reminders (the supervisor in charge of a task gets them).
    pub mobile: Option<String>,
}

impl NewUser {
    /// Checks every field.
    pub fn validate(&self) -> Result<(), ValidationError> {
        let mut e = ValidationError::default();
        let name_ok = (3..=64).contains(&self.username.len())
            && self
                .username
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
        if !name_ok {
            e.add(
                "username",
                "must be 3 to 64 characters of a-z, 0-9, `.`, `_` and `-`",
            );
        }
        if self.password.chars().count() < 8 {
            e.add("password", "must be at least 8 characters");
        }
        if self.password.len() > MAX_PASSWORD_BYTES {
            e.add("password", "must be at most 1024 bytes");
        }
        check_text(&mut e, "display_name", &self.display_name, 100);
        if let Some(m) = &self.mobile
            && super::org::normalise_mobile(m).is_none()
        {
            e.add(
                "mobile",
                "must be a mainland mobile number: 11 digits starting with 1",
            );
        }
        e.into_result()
    }
}
