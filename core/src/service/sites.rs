//! Sites.

use chrono::Utc;

use crate::app::App;
use crate::domain::{NewSite, Site, User};
use crate::error::ApiError;
use crate::ids::SiteId;

/// Creates a site, converting its location to WGS-84 (supervisors and admins).
pub async fn create_site(app: &App, actor: &User, new: NewSite) -> Result<Site, ApiError> {
    super::require_manager(actor)?;
    let default_tz = app
        .settings
        .default_timezone()
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let (location, tz) = new.validate(default_tz)?;
    Ok(app
        .store
        .create_site(&new, location, tz, actor.id, Utc::now())
        .await?)
}

/// One site (every signed-in user may see sites).
pub async fn find_site(app: &App, id: SiteId) -> Result<Site, ApiError> {
    app.store.find_site(id).await?.ok_or(ApiError::NotFound("site"))
}
