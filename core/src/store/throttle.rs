//! Failed-login counters per username and per client address, shared by every replica.

use chrono::{DateTime, Utc};

use super::{Store, StoreResult, on_pool};

impl Store {
    /// When `key` may try again, if it is blocked now.
    pub async fn login_blocked_until(
        &self,
        key: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<DateTime<Utc>>> {
        let until: Option<Option<DateTime<Utc>>> = on_pool!(self, pool => {
            sqlx::query_scalar("SELECT blocked_until FROM login_throttle WHERE key = $1")
                .bind(key)
                .fetch_optional(pool)
                .await?
        });
        Ok(until.flatten().filter(|u| *u > now))
    }

    /// Counts one failure for `key` (starting again after `window_start` passed since the last
    /// one) and blocks it until the time `block_for` computes from the new count.
    pub async fn record_login_failure(
        &self,
        key: &str,
        now: DateTime<Utc>,
        window_start: DateTime<Utc>,
        block_for: impl Fn(i32) -> Option<chrono::Duration>,
    ) -> StoreResult<i32> {
        let failures: i32 = on_pool!(self, pool => {
            sqlx::query_scalar(
                "INSERT INTO login_throttle (key, failures, last_failure_at) VALUES ($1, 1, $2) \
                 ON CONFLICT (key) DO UPDATE SET \
                   failures = CASE WHEN login_throttle.last_failure_at < $3 THEN 1 ELSE login_throttle.failures + 1 END, \
                   last_failure_at = $2 \
                 RETURNING failures",
            )
            .bind(key)
            .bind(now)
            .bind(window_start)
            .fetch_one(pool)
            .await?
        });
        if let Some(block) = block_for(failures) {
            on_pool!(self, pool => {
                sqlx::query("UPDATE login_throttle SET blocked_until = $1 WHERE key = $2")
                    .bind(now + block)
                    .bind(key)
                    .execute(pool)
                    .await?;
            });
        }
        Ok(failures)
    }

    /// Forgets the failures of `key` (after a successful login).
    pub async fn clear_login_failures(&self, key: &str) -> StoreResult<()> {
        on_pool!(self, pool => {
            sqlx::query("DELETE FROM login_throttle WHERE key = $1").bind(key).execute(pool).await?;
        });
        Ok(())
    }
}
