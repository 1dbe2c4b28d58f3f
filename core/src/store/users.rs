//! Users: creation, lookup by name for login, and the first-start admin.

use chrono::{DateTime, Utc};

use super::rows::UserRow;
use super::{AuditEvent, Store, StoreResult, audit, in_tx, on_pool, unique_as};
use crate::domain::{Role, User};
use crate::ids::UserId;

const USER_COLUMNS: &str = "id, username, display_name, role, password_hash, created_at";

impl Store {
    /// Creates a user with an already-hashed password, audited as done by `actor`.
    pub async fn create_user(
        &self,
        username: &str,
        display_name: &str,
        role: Role,
        password_hash: &str,
        actor: Option<UserId>,
        now: DateTime<Utc>,
    ) -> StoreResult<User> {
        let id = UserId::new();
        let event = AuditEvent::new(
            now,
            actor,
            "user.created",
            "user",
            id.0,
            serde_json::json!({ "username": username, "role": role.as_str() }),
        );
        in_tx!(self, tx => {
            sqlx::query(
                "INSERT INTO users (id, username, display_name, role, password_hash, active, created_at) \
                 VALUES ($1, $2, $3, $4, $5, TRUE, $6)",
            )
            .bind(id)
            .bind(username)
            .bind(display_name)
            .bind(role.as_str())
            .bind(password_hash)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(|e| unique_as(e, "username"))?;
            audit::insert(&event).execute(&mut *tx).await?;
        });
        Ok(User {
            id,
            username: username.to_owned(),
            display_name: display_name.to_owned(),
            role,
            created_at: now,
        })
    }

    /// An active user and their password hash, for login.
    pub async fn find_login(&self, username: &str) -> StoreResult<Option<(User, String)>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE username = $1 AND active = TRUE");
        let row: Option<UserRow> = on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(username).fetch_optional(pool).await?
        });
        row.map(|r| {
            let hash = r.password_hash.clone();
            r.into_user().map(|u| (u, hash))
        })
        .transpose()
    }

    /// Whether any user exists yet (first start).
    pub async fn has_users(&self) -> StoreResult<bool> {
        let n: i64 = on_pool!(self, pool => {
            sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(pool).await?
        });
        Ok(n > 0)
    }
}
