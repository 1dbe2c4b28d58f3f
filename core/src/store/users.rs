//! Users: creation, listing, deactivation and lookup by name for login.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::rows::UserRow;
use super::{Store, StoreResult, audit, in_tx, on_pool, unique_as};
use crate::audit::{Actor, AuditEvent};
use crate::domain::{Role, User};
use crate::ids::{OrgId, UserId};

const USER_COLUMNS: &str =
    "u.id, u.username, u.display_name, u.role, u.password_hash, u.org_id, u.created_at";

/// Users who may act: active, in an active organisation (or none, for admins).
pub(crate) const ACTIVE_USER: &str = "u.active = TRUE AND (u.org_id IS NULL OR EXISTS (SELECT 1 FROM orgs o WHERE o.id = u.org_id AND o.active = TRUE))";

/// A user as the admin list shows it.
#[derive(Debug, Clone)]
pub struct ListedUser {
    /// The user.
    pub user: User,
    /// Whether they may sign in.
    pub active: bool,
}

impl Store {
    /// Creates a user with an already-hashed password.
    #[allow(clippy::too_many_arguments)]
    pub async fn create_user(
        &self,
        username: &str,
        display_name: &str,
        role: Role,
        org_id: Option<OrgId>,
        mobile: Option<&str>,
        password_hash: &str,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> StoreResult<User> {
        let id = UserId::new();
        let event = AuditEvent::new(
            now,
            actor,
            "user.created",
            "user",
            id.0,
            &serde_json::json!({ "username": username, "role": role.as_str(), "org_id": org_id }),
        );
        in_tx!(self, tx => {
            sqlx::query(
                "INSERT INTO users (id, username, display_name, role, org_id, password_hash, active, created_at, mobile) \
                 VALUES ($1, $2, $3, $4, $5, $6, TRUE, $7, $8)",
            )
            .bind(id)
            .bind(username)
            .bind(display_name)
            .bind(role.as_str())
            .bind(org_id)
            .bind(password_hash)
            .bind(now)
            .bind(mobile)
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
            org_id,
            created_at: now,
        })
    }

    /// A user who may sign in, and their password hash.
    pub async fn find_login(&self, username: &str) -> StoreResult<Option<(User, String)>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.username = $1 AND {ACTIVE_USER}");
        let row: Option<UserRow> = on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(username).fetch_optional(pool).await?
        });
        row.map(|r| {
            let hash = r.password_hash.clone();
            r.into_user().map(|u| (u, hash))
        })
        .transpose()
    }

    /// One user, active or not.
    pub async fn find_user(&self, id: UserId) -> StoreResult<Option<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.id = $1");
        let row: Option<UserRow> = on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(id).fetch_optional(pool).await?
        });
        row.map(UserRow::into_user).transpose()
    }

    /// The display names of `ids` (unknown ids are left out), for pages that name who did what.
    pub async fn display_names(&self, ids: &[UserId]) -> StoreResult<HashMap<UserId, String>> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let rows: Vec<(UserId, String)> = on_pool!(self, pool => {
            let mut q = sqlx::QueryBuilder::new("SELECT id, display_name FROM users WHERE id IN (");
            let mut list = q.separated(", ");
            for id in ids {
                list.push_bind(*id);
            }
            q.push(")");
            q.build_query_as().fetch_all(pool).await?
        });
        Ok(rows.into_iter().collect())
    }

    /// Every user, optionally of one organisation, by username.
    pub async fn list_users(&self, org: Option<OrgId>) -> StoreResult<Vec<ListedUser>> {
        let sql = format!(
            "SELECT {USER_COLUMNS}, u.active FROM users u WHERE ($1 IS NULL OR u.org_id = $1) ORDER BY u.username"
        );
        #[derive(sqlx::FromRow)]
        struct Row {
            #[sqlx(flatten)]
            user: UserRow,
            active: bool,
        }
        let rows: Vec<Row> = on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(org).fetch_all(pool).await?
        });
        rows.into_iter()
            .map(|r| {
                Ok(ListedUser {
                    user: r.user.into_user()?,
                    active: r.active,
                })
            })
            .collect()
    }

    /// Deactivates a user: no more sign-ins, and their open sessions are revoked. `false`
    /// when they were already inactive or are the last active admin.
    pub async fn deactivate_user(&self, id: UserId, actor: &Actor, now: DateTime<Utc>) -> StoreResult<bool> {
        let event = AuditEvent::new(
            now,
            actor,
            "user.deactivated",
            "user",
            id.0,
            &serde_json::json!({}),
        );
        Ok(in_tx!(self, tx => {
            // Touching every active admin takes their row locks first, so two admins
            // deactivating each other at once are serialised and one always remains.
            sqlx::query("UPDATE users SET active = active WHERE role = 'admin' AND active = TRUE")
                .execute(&mut *tx)
                .await?;
            let done = sqlx::query(
                "UPDATE users SET active = FALSE WHERE id = $1 AND active = TRUE AND (role <> 'admin' OR EXISTS \
                 (SELECT 1 FROM users o WHERE o.role = 'admin' AND o.active = TRUE AND o.id <> $1))",
            )
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if done {
                sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL")
                    .bind(now)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                audit::insert(&event).execute(&mut *tx).await?;
            }
            done
        }))
    }

    /// Whether any user exists yet (first start).
    pub async fn has_users(&self) -> StoreResult<bool> {
        let n: i64 = on_pool!(self, pool => {
            sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(pool).await?
        });
        Ok(n > 0)
    }
}
