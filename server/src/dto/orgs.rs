//! Organisations and the admin's user list.

use chrono::{DateTime, Utc};
use fieldproof_core::domain::{Contact, NewOrg, Org, OrgKind};
use fieldproof_core::ids::OrgId;
use fieldproof_core::store::ListedUser;
use serde::{Deserialize, Serialize};

use super::UserDto;

/// `POST /orgs`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrgBody {
    pub name: String,
    /// `supervision` or `agency`.
    pub kind: OrgKind,
    /// Six-digit GB/T 2260 code, e.g. `130200`.
    pub region_code: String,
    #[serde(default)]
    pub contacts: Vec<Contact>,
}

impl From<OrgBody> for NewOrg {
    fn from(b: OrgBody) -> Self {
        NewOrg {
            name: b.name,
            kind: b.kind,
            region_code: b.region_code,
            contacts: b.contacts,
        }
    }
}

/// An organisation.
#[derive(Debug, Serialize)]
pub struct OrgDto {
    pub id: OrgId,
    pub name: String,
    pub kind: OrgKind,
    pub region_code: String,
    pub region_name: &'static str,
    pub contacts: Vec<Contact>,
    /// People reminders cannot reach by SMS, and why.
    pub unreachable: Vec<Unreachable>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
}

/// Someone of an organisation whom reminders cannot reach by SMS.
#[derive(Debug, Serialize)]
pub struct Unreachable {
    pub name: String,
    pub reason: &'static str,
}

impl OrgDto {
    /// An organisation; with `reach` (the names of its supervisors without a mobile number)
    /// also whom reminders cannot reach, else an empty list (for callers who do not see
    /// contacts).
    pub fn new(o: &Org, reach: Option<Vec<String>>) -> Self {
        let Some(supervisors_without_mobile) = reach else {
            return Self::with_unreachable(o, Vec::new());
        };
        let mut unreachable: Vec<Unreachable> = o
            .contacts
            .iter()
            .filter_map(|c| {
                c.unreachable().map(|reason| Unreachable {
                    name: c.name.clone(),
                    reason,
                })
            })
            .collect();
        if o.kind == OrgKind::Agency && o.contacts.is_empty() {
            unreachable.push(Unreachable {
                name: o.name.clone(),
                reason: "no contacts: reminders for this agency reach nobody",
            });
        }
        unreachable.extend(supervisors_without_mobile.into_iter().map(|name| Unreachable {
            name,
            reason: "supervisor without a mobile number: reminders of their tasks do not reach them",
        }));
        Self::with_unreachable(o, unreachable)
    }

    fn with_unreachable(o: &Org, unreachable: Vec<Unreachable>) -> Self {
        Self {
            unreachable,
            id: o.id,
            name: o.name.clone(),
            kind: o.kind,
            region_code: o.region.as_str(),
            region_name: o.region.name(),
            contacts: o.contacts.clone(),
            active: o.active,
            created_at: o.created_at,
        }
    }
}

/// `GET /users` query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserListQuery {
    pub org_id: Option<OrgId>,
}

/// A user in the admin's list.
#[derive(Debug, Serialize)]
pub struct UserListItem {
    #[serde(flatten)]
    pub user: UserDto,
    pub active: bool,
}

impl From<&ListedUser> for UserListItem {
    fn from(u: &ListedUser) -> Self {
        Self {
            user: UserDto::from(&u.user),
            active: u.active,
        }
    }
}
