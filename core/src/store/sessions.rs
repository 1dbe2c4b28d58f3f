//! Login sessions behind bearer tokens; only a hash of each token is stored.

use chrono::{DateTime, Utc};

use super::rows::UserRow;
use super::users::ACTIVE_USER;
use super::{Store, StoreResult, audit, in_tx, on_pool};
use crate::audit::{Actor, AuditEvent};
use crate::domain::User;
use crate::ids::SessionId;

impl Store {
    /// Stores a new session and audits the login.
    pub async fn create_session(
        &self,
        actor: &Actor,
        token_hash: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<SessionId> {
        let user = actor
            .user_id
            .ok_or_else(|| super::StoreError::Corrupt("a session needs a user".into()))?;
        let id = SessionId::new();
        let event = AuditEvent::new(now, actor, "auth.login", "user", user.0, &serde_json::json!({}));
        in_tx!(self, tx => {
            sqlx::query(
                "INSERT INTO sessions (id, user_id, token_hash, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(id)
            .bind(user)
            .bind(token_hash)
            .bind(now)
            .bind(expires_at)
            .execute(&mut *tx)
            .await?;
            audit::insert(&event).execute(&mut *tx).await?;
        });
        Ok(id)
    }

    /// The user behind a live, unrevoked token, while they and their organisation are active.
    pub async fn find_session_user(&self, token_hash: &str, now: DateTime<Utc>) -> StoreResult<Option<User>> {
        let sql = format!(
            "SELECT u.id, u.username, u.display_name, u.role, u.password_hash, u.org_id, u.created_at \
             FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > $2 AND {ACTIVE_USER}"
        );
        let row: Option<UserRow> = on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(token_hash).bind(now).fetch_optional(pool).await?
        });
        row.map(UserRow::into_user).transpose()
    }

    /// Revokes the session behind a token (logout).
    pub async fn revoke_session(
        &self,
        token_hash: &str,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let user = actor.user_id.map(|u| u.0).unwrap_or_default();
        let event = AuditEvent::new(now, actor, "auth.logout", "user", user, &serde_json::json!({}));
        in_tx!(self, tx => {
            sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE token_hash = $2 AND revoked_at IS NULL")
                .bind(now)
                .bind(token_hash)
                .execute(&mut *tx)
                .await?;
            audit::insert(&event).execute(&mut *tx).await?;
        });
        Ok(())
    }
}
