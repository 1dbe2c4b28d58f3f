//! Organisation administration (admins only; anyone signed in may list them).

use chrono::Utc;

use super::Caller;
use crate::app::App;
use crate::domain::{NewOrg, Org};
use crate::error::ApiError;
use crate::ids::OrgId;
use crate::store::StoreError;

/// Creates an organisation after checking its region code and contacts.
pub async fn create_org(app: &App, caller: &Caller, new: NewOrg) -> Result<Org, ApiError> {
    super::require_admin(&caller.user)?;
    let (region, contacts) = new.validate()?;
    app.store
        .create_org(
            &new.name,
            new.kind,
            region,
            &contacts,
            &caller.actor(),
            Utc::now(),
        )
        .await
        .map_err(|e| match e {
            StoreError::Duplicate(_) => ApiError::Conflict {
                code: "already_exists",
                detail: format!("an organisation named `{}` exists", new.name.trim()),
            },
            other => other.into(),
        })
}

/// Every organisation (names and regions fill in forms); contacts' mobile numbers only for
/// admins and supervisors, who send reminders to them.
pub async fn list_orgs(app: &App, caller: &Caller) -> Result<Vec<Org>, ApiError> {
    let mut orgs = app.store.list_orgs().await?;
    if !super::SUPERVISING.contains(&caller.user.role) {
        for org in &mut orgs {
            org.contacts.clear();
        }
    }
    Ok(orgs)
}

/// Deactivates an organisation: its users can no longer sign in and their tokens stop working.
pub async fn deactivate_org(app: &App, caller: &Caller, id: OrgId) -> Result<(), ApiError> {
    super::require_admin(&caller.user)?;
    app.store
        .find_org(id)
        .await?
        .ok_or(ApiError::NotFound("organisation"))?;
    app.store.deactivate_org(id, &caller.actor(), Utc::now()).await?;
    Ok(())
}
