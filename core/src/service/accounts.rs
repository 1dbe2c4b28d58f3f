//! Sign-in with throttling, sign-out, user administration and the first-start admin.

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use super::Caller;
use crate::app::App;
use crate::audit::{Actor, AuditEvent, ClientInfo};
use crate::auth::{new_token, token_hash};
use crate::domain::org::normalise_mobile;
use crate::domain::{NewUser, Role, User, ValidationError, user::MAX_PASSWORD_BYTES};
use crate::error::ApiError;
use crate::ids::{OrgId, UserId};
use crate::store::{ListedUser, StoreError};

/// Failures are counted within this window since the last one.
const FAILURE_WINDOW_MINUTES: i64 = 15;
/// Failed sign-ins of one username before it is slowed down.
const FREE_FAILURES_PER_USER: i32 = 5;
/// Failed sign-ins from one address before it is slowed down (an office shares one address).
const FREE_FAILURES_PER_IP: i32 = 20;
/// The longest wait imposed, in seconds.
const MAX_BLOCK_SECS: i64 = 15 * 60;

/// How long a key is blocked after its `failures`-th failure: nothing while under `free`,
/// then 1 s, 2 s, 4 s … up to [`MAX_BLOCK_SECS`].
fn block_after(failures: i32, free: i32) -> Option<Duration> {
    let over = failures - free;
    (over >= 0).then(|| Duration::seconds((1_i64 << over.min(20)).min(MAX_BLOCK_SECS)))
}

fn user_key(username: &str) -> String {
    format!("user:{}", username.to_lowercase())
}

fn ip_key(ip: &str) -> String {
    format!("ip:{ip}")
}

/// Checks a username and password and opens a session; returns the bearer token. Repeated
/// failures for a username or from an address are answered 429 for a growing time, before
/// any password is hashed.
pub async fn login(
    app: &App,
    username: &str,
    password: &str,
    client: &ClientInfo,
) -> Result<(String, User), ApiError> {
    if password.len() > MAX_PASSWORD_BYTES || username.len() > 64 {
        return Err(ApiError::Malformed("username or password is too long".into()));
    }
    let now = Utc::now();
    let mut keys = vec![(user_key(username), FREE_FAILURES_PER_USER)];
    if let Some(ip) = &client.ip {
        keys.push((ip_key(ip), FREE_FAILURES_PER_IP));
    }
    let mut blocked: Option<DateTime<Utc>> = None;
    for (key, _) in &keys {
        if let Some(until) = app.store.login_blocked_until(key, now).await? {
            blocked = blocked.max(Some(until));
        }
    }
    let found = if blocked.is_some() {
        None
    } else {
        app.store.find_login(username).await?
    };
    let ok = match blocked {
        Some(_) => false,
        None => {
            app.passwords
                .verify(password, found.as_ref().map(|(_, h)| h.as_str()))
                .await?
        }
    };
    let Some((user, _)) = found.filter(|_| ok) else {
        let reason = if blocked.is_some() {
            "throttled"
        } else {
            "bad_credentials"
        };
        let event = AuditEvent::new(
            now,
            &Actor::anonymous(client),
            "auth.login_failed",
            "user",
            Uuid::nil(),
            &serde_json::json!({ "username": username.chars().take(64).collect::<String>(), "reason": reason }),
        );
        app.store.append_audit(&event).await?;
        if let Some(until) = blocked {
            return Err(ApiError::TooManyAttempts {
                retry_after_secs: (until - now).num_seconds() + 1,
            });
        }
        let window_start = now - Duration::minutes(FAILURE_WINDOW_MINUTES);
        for (key, free) in &keys {
            let free = *free;
            app.store
                .record_login_failure(key, now, window_start, |n| block_after(n, free))
                .await?;
        }
        tracing::info!("login refused");
        return Err(ApiError::BadCredentials);
    };
    app.store.clear_login_failures(&user_key(username)).await?;
    let token = new_token();
    let ttl = Duration::hours(app.settings.token_ttl_hours);
    app.store
        .create_session(&Actor::user(&user, client), &token_hash(&token), now, now + ttl)
        .await?;
    Ok((token, user))
}

/// Revokes the caller's token.
pub async fn logout(app: &App, caller: &Caller, token_hash: &str) -> Result<(), ApiError> {
    app.store
        .revoke_session(token_hash, &caller.actor(), Utc::now())
        .await?;
    Ok(())
}

/// Creates a user in an active organisation of the kind their role needs (admins only).
pub async fn create_user(app: &App, caller: &Caller, new: NewUser) -> Result<User, ApiError> {
    super::require_admin(&caller.user)?;
    new.validate()?;
    check_membership(app, new.role, new.org_id).await?;
    let hash = app.passwords.hash(&new.password).await?;
    let user = app
        .store
        .create_user(
            &new.username,
            &new.display_name,
            new.role,
            new.org_id,
            new.mobile.as_deref().and_then(normalise_mobile).as_deref(),
            &hash,
            &caller.actor(),
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

/// Supervisors and inspectors belong to a supervision group, agency staff to an agency,
/// admins to none.
async fn check_membership(app: &App, role: Role, org_id: Option<OrgId>) -> Result<(), ApiError> {
    let field = |m: &str| ApiError::from(ValidationError::single("org_id", m));
    match (role.org_kind(), org_id) {
        (None, None) => Ok(()),
        (None, Some(_)) => Err(field("an admin belongs to no organisation")),
        (Some(_), None) => Err(field("is required for this role")),
        (Some(kind), Some(id)) => match app.store.find_org(id).await? {
            None => Err(field("no such organisation")),
            Some(org) if !org.active => Err(field("the organisation is deactivated")),
            Some(org) if org.kind != kind => Err(field(&format!(
                "a {} belongs to a {} organisation, not a {} one",
                role.as_str(),
                kind.as_str(),
                org.kind.as_str()
            ))),
            Some(_) => Ok(()),
        },
    }
}

/// Every user, optionally of one organisation (admins only).
pub async fn list_users(app: &App, caller: &Caller, org: Option<OrgId>) -> Result<Vec<ListedUser>, ApiError> {
    super::require_admin(&caller.user)?;
    Ok(app.store.list_users(org).await?)
}

/// Deactivates a user and revokes their sessions (admins only; not oneself).
pub async fn deactivate_user(app: &App, caller: &Caller, id: UserId) -> Result<(), ApiError> {
    super::require_admin(&caller.user)?;
    if id == caller.user.id {
        return Err(ApiError::Conflict {
            code: "cannot_deactivate_self",
            detail: "an admin cannot deactivate their own account".into(),
        });
    }
    let user = app.store.find_user(id).await?.ok_or(ApiError::NotFound("user"))?;
    let done = app.store.deactivate_user(id, &caller.actor(), Utc::now()).await?;
    if !done && user.role == Role::Admin && app.store.find_login(&user.username).await?.is_some() {
        return Err(ApiError::Conflict {
            code: "last_admin",
            detail: "this is the last active admin; create another admin first".into(),
        });
    }
    Ok(())
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
        .create_user(
            "admin",
            "Administrator",
            Role::Admin,
            None,
            None,
            &hash,
            &Actor::system(),
            Utc::now(),
        )
        .await
    {
        Ok(_) => Ok(Some((password, generated))),
        // Another replica created it at the same moment.
        Err(StoreError::Duplicate(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::block_after;

    #[test]
    fn blocks_grow_after_the_free_failures_and_are_capped() {
        assert_eq!(block_after(4, 5), None);
        assert_eq!(block_after(5, 5).map(|d| d.num_seconds()), Some(1));
        assert_eq!(block_after(7, 5).map(|d| d.num_seconds()), Some(4));
        assert_eq!(block_after(60, 5).map(|d| d.num_seconds()), Some(900));
    }
}
