//! Login, logout, user creation and the first-start admin.

use chrono::{Duration, Utc};

use crate::app::App;
use crate::auth::{new_token, token_hash};
use crate::domain::{NewUser, Role, User, user::MAX_PASSWORD_BYTES};
use crate::error::ApiError;
use crate::store::StoreError;

/// Checks a username and password and opens a session; returns the bearer token.
pub async fn login(app: &App, username: &str, password: &str) -> Result<(String, User), ApiError> {
    if password.len() > MAX_PASSWORD_BYTES || username.len() > 64 {
        return Err(ApiError::Malformed("username or password is too long".into()));
    }
    let found = app.store.find_login(username).await?;
    let ok = app
        .passwords
        .verify(password, found.as_ref().map(|(_, h)| h.as_str()))
        .await?;
    let Some((user, _)) = found.filter(|_| ok) else {
        tracing::info!("login refused");
        return Err(ApiError::BadCredentials);
    };
    let token = new_token();
    let now = Utc::now();
    let ttl = Duration::hours(app.settings.token_ttl_hours);
    app.store
        .create_session(user.id, &token_hash(&token), now, now + ttl)
        .await?;
    Ok((token, user))
}

/// Revokes the caller's token.
pub async fn logout(app: &App, user: &User, token_hash: &str) -> Result<(), ApiError> {
    app.store.revoke_session(token_hash, user.id, Utc::now()).await?;
    Ok(())
}

/// Creates a user (admins only).
pub async fn create_user(app: &App, actor: &User, new: NewUser) -> Result<User, ApiError> {
    super::require_admin(actor)?;
    new.validate()?;
    let hash = app.passwords.hash(&new.password).await?;
    let user = app
        .store
        .create_user(
            &new.username,
            &new.display_name,
            new.role,
            &hash,
            Some(actor.id),
            Utc::now(),
        )
        .await
        .map_err(|e| match e {
            StoreError::Duplicate(_) => ApiError::Conflict {
                code: "username_taken",
                detail: format!("username `{}` is taken", new.username),
            },
            other => other.into(),
        })?;
    Ok(user)
}

/// On first start, creates `admin` with the configured password or a generated one, which is
/// returned so the caller can print it once. `None` when users already exist.
pub async fn ensure_admin(app: &App) -> Result<Option<(String, bool)>, ApiError> {
    if app.store.has_users().await? {
        if app.settings.admin_password.is_some() {
            tracing::warn!(
                "users already exist, so FIELDPROOF_ADMIN_PASSWORD is ignored; it only sets the password of \
                 the first admin in an empty data directory"
            );
        }
        return Ok(None);
    }
    let (password, generated) = match &app.settings.admin_password {
        Some(p) => (p.expose().to_owned(), false),
        None => (new_token(), true),
    };
    let hash = app.passwords.hash(&password).await?;
    match app
        .store
        .create_user("admin", "Administrator", Role::Admin, &hash, None, Utc::now())
        .await
    {
        Ok(_) => Ok(Some((password, generated))),
        // Another replica created it at the same moment.
        Err(StoreError::Duplicate(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}
