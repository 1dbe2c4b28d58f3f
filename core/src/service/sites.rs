//! Sites.

use chrono::Utc;

use super::{Caller, SUPERVISING};
use crate::app::App;
use crate::domain::{NewSite, Role, Site};
use crate::error::ApiError;
use crate::ids::SiteId;

/// Creates a site, converting its location to WGS-84 (supervisors and admins).
pub async fn create_site(app: &App, caller: &Caller, new: NewSite) -> Result<Site, ApiError> {
    super::require_role(
        &caller.user,
        SUPERVISING,
        "only supervisors and admins enter sites",
    )?;
    let default_tz = app
        .settings
        .default_timezone()
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let (location, tz) = new.validate(default_tz)?;
    Ok(app
        .store
        .create_site(&new, location, tz, &caller.actor(), Utc::now())
        .await?)
}

/// One site: supervision staff see every site; agency staff only the sites of their tasks.
pub async fn find_site(app: &App, caller: &Caller, id: SiteId) -> Result<Site, ApiError> {
    let site = app.store.find_site(id).await?.ok_or(ApiError::NotFound("site"))?;
    match (caller.user.role, caller.user.org_id) {
        (Role::Agency, Some(agency)) if app.store.agency_has_site(agency, id).await? => Ok(site),
        (Role::Agency, _) => Err(ApiError::NotFound("site")),
        _ => Ok(site),
    }
}
