//! Phone clocks: the offset each user's phone last reported against the server's clock.

use chrono::{DateTime, Utc};

use super::{Store, StoreResult, on_pool};
use crate::ids::UserId;

impl Store {
    /// Records that `user`'s phone clock runs `offset_ms` from the server's (device minus
    /// server), as measured at `at`.
    pub async fn record_device_clock(
        &self,
        user: UserId,
        offset_ms: i64,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        on_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO device_clocks (user_id, offset_ms, measured_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (user_id) DO UPDATE SET offset_ms = $2, measured_at = $3 \
                 WHERE device_clocks.measured_at <= $3",
            )
            .bind(user)
            .bind(offset_ms)
            .bind(at)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Forgets `user`'s phone clock (its last reading was not believable).
    pub async fn forget_device_clock(&self, user: UserId) -> StoreResult<()> {
        on_pool!(self, pool => {
            sqlx::query("DELETE FROM device_clocks WHERE user_id = $1")
                .bind(user)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// The offset of `user`'s phone clock measured since `since`, in milliseconds.
    pub async fn device_clock(&self, user: UserId, since: DateTime<Utc>) -> StoreResult<Option<i64>> {
        Ok(on_pool!(self, pool => {
            sqlx::query_scalar("SELECT offset_ms FROM device_clocks WHERE user_id = $1 AND measured_at >= $2")
                .bind(user)
                .bind(since)
                .fetch_optional(pool)
                .await?
        }))
    }
}
