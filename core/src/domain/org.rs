//! Organisations: the supervision groups that issue tasks and the agencies that rectify.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::region::RegionCode;
use super::validation::{ValidationError, check_line};
use crate::ids::OrgId;

/// Which side of the workflow an organisation is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrgKind {
    /// A supervision group (督查组): issues tasks, reviews, urges.
    Supervision,
    /// A handling agency (办理机构): plans and rectifies.
    Agency,
}

impl OrgKind {
    /// The stable name stored and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            OrgKind::Supervision => "supervision",
            OrgKind::Agency => "agency",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "supervision" => Some(OrgKind::Supervision),
            "agency" => Some(OrgKind::Agency),
            _ => None,
        }
    }
}

/// A person to reach at an organisation (reminders go to these numbers).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    /// Who it is.
    pub name: String,
    /// Their number: a mainland mobile (eleven digits starting with 1, an optional `+86`
    /// dropped) receives reminders; a landline is kept but reported as unreachable by SMS.
    pub mobile: String,
    /// A leader (领导): escalations of long-overdue phases go to the group's leaders.
    #[serde(default)]
    pub leader: bool,
}

impl Contact {
    /// Why reminders cannot reach this contact by SMS, if they cannot.
    pub fn unreachable(&self) -> Option<&'static str> {
        normalise_mobile(&self.mobile)
            .is_none()
            .then_some("not a mainland mobile number; reminders cannot reach it by SMS")
    }
}

/// A stored organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Org {
    /// Its id.
    pub id: OrgId,
    /// Its name, unique.
    pub name: String,
    /// Which side it is on.
    pub kind: OrgKind,
    /// Where it works.
    pub region: RegionCode,
    /// Whom to reach.
    pub contacts: Vec<Contact>,
    /// Deactivated organisations' users cannot sign in.
    pub active: bool,
    /// When it was entered.
    pub created_at: DateTime<Utc>,
}

/// Most contacts one organisation keeps.
pub const MAX_CONTACTS: usize = 20;

/// A request to create an organisation, with the region code still unchecked.
#[derive(Debug, Clone)]
pub struct NewOrg {
    /// Its name.
    pub name: String,
    /// Which side it is on.
    pub kind: OrgKind,
    /// The six-digit GB/T 2260 code as sent.
    pub region_code: String,
    /// Whom to reach.
    pub contacts: Vec<Contact>,
}

impl NewOrg {
    /// Checks every field and returns the parsed region and normalised contacts.
    pub fn validate(&self) -> Result<(RegionCode, Vec<Contact>), ValidationError> {
        let mut e = ValidationError::default();
        check_line(&mut e, "name", &self.name, 100);
        let region = RegionCode::parse(&self.region_code)
            .map_err(|why| e.add("region_code", why))
            .ok();
        if self.contacts.len() > MAX_CONTACTS {
            e.add("contacts", format!("must hold at most {MAX_CONTACTS} contacts"));
        }
        let mut contacts = Vec::with_capacity(self.contacts.len());
        for (i, c) in self.contacts.iter().enumerate() {
            check_line(&mut e, &format!("contacts[{i}].name"), &c.name, 50);
            match normalise_mobile(&c.mobile).or_else(|| phone_like(&c.mobile)) {
                Some(mobile) => contacts.push(Contact {
                    name: c.name.trim().to_owned(),
                    mobile,
                    leader: c.leader,
                }),
                None => e.add(
                    format!("contacts[{i}].mobile"),
                    "must be a phone number: a mainland mobile (11 digits starting with 1) or a landline",
                ),
            }
        }
        e.into_result()?;
        match region {
            Some(region) => Ok((region, contacts)),
            None => Err(ValidationError::single("region_code", "no such region code")),
        }
    }
}

/// The digits of a number as entered, without a `+86` or `0086` country code, spaces and
/// dashes; `None` if anything else is in it.
fn national_digits(raw: &str) -> Option<String> {
    let t = raw.trim();
    let t = t
        .strip_prefix("+86")
        .or_else(|| t.strip_prefix("0086"))
        .unwrap_or(t);
    let digits: String = t.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    digits.bytes().all(|b| b.is_ascii_digit()).then_some(digits)
}

/// A landline as entered (`0315-2345678`, `+86 10 6552 9988`): an area code starting with 0
/// and the number, 10 to 12 digits, or a local number of 7 or 8 digits. A number starting
/// with 1 is a mobile or a mistake, never a landline.
fn phone_like(raw: &str) -> Option<String> {
    let digits = national_digits(raw)?;
    let with_area = digits.starts_with('0') && (10..=12).contains(&digits.len());
    let local = !digits.starts_with(['0', '1']) && (7..=8).contains(&digits.len());
    (with_area || local).then(|| raw.trim().to_owned())
}

/// `+86 138-0013-8000` → `13800138000`; `None` unless eleven digits starting with 1[3-9].
pub fn normalise_mobile(raw: &str) -> Option<String> {
    let digits = national_digits(raw)?;
    let bytes = digits.as_bytes();
    let ok = bytes.len() == 11
        && bytes.iter().all(u8::is_ascii_digit)
        && bytes[0] == b'1'
        && (b'3'..=b'9').contains(&bytes[1]);
    ok.then_some(digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn org(region: &str, mobile: &str) -> NewOrg {
        NewOrg {
            name: "唐山市生态环境局".into(),
            kind: OrgKind::Agency,
            region_code: region.into(),
            contacts: vec![Contact {
                name: "王工".into(),
                mobile: mobile.into(),
                leader: false,
            }],
        }
    }

    #[test]
    fn mobiles_are_normalised_and_landlines_refused() {
        assert_eq!(
            normalise_mobile("+86 138-0013-8000").as_deref(),
            Some("13800138000")
        );
        assert_eq!(normalise_mobile("12800138000"), None);
        assert_eq!(normalise_mobile("0315-2345678"), None);
        assert_eq!(normalise_mobile("1380013800０"), None);
    }

    #[test]
    fn region_codes_are_checked_against_the_list() {
        assert!(org("130200", "13800138000").validate().is_ok());
        let err = org("999999", "13800138000").validate().unwrap_err();
        assert_eq!(err.errors[0].field, "region_code");
        let err = org("130200", "110").validate().unwrap_err();
        assert_eq!(err.errors[0].field, "contacts[0].mobile");
        let (_, contacts) = org("130200", "0315-2345678").validate().unwrap();
        assert!(contacts[0].unreachable().is_some());
        let mut two_lines = org("130200", "13800138000");
        two_lines.name = "机构\nX".into();
        assert_eq!(two_lines.validate().unwrap_err().errors[0].field, "name");
        for typo in ["139001390001", "12900139000", "1380013800"] {
            let err = org("130200", typo).validate().unwrap_err();
            assert_eq!(err.errors[0].field, "contacts[0].mobile", "{typo}");
        }
        let (_, contacts) = org("130200", "0086 138 0013 8000").validate().unwrap();
        assert_eq!(contacts[0].mobile, "13800138000");
        let (_, contacts) = org("130200", "+86 138 0013 8000").validate().unwrap();
        assert_eq!(contacts[0].mobile, "13800138000");
        assert!(contacts[0].unreachable().is_none());
    }
}
