//! Idempotency keys: the first request with a key claims it (a unique key, so two replicas
//! cannot both run it), and its answer is kept for the retries.

use chrono::{DateTime, Utc};

use super::{Store, StoreResult, on_pool};
use crate::ids::UserId;

/// What a request with an idempotency key finds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The key is this request's: run it and keep its answer.
    Claimed,
    /// Another request with the key is still running (or died less than a minute ago).
    InFlight {
        /// Its request fingerprint.
        fingerprint: String,
    },
    /// The key's first request has its answer.
    Done {
        /// Its request fingerprint.
        fingerprint: String,
        /// The answer's status.
        status: u16,
        /// The answer's content type.
        content_type: Option<String>,
        /// The answer's body.
        body: Vec<u8>,
    },
}

#[derive(sqlx::FromRow)]
struct KeyRow {
    fingerprint: String,
    status: Option<i32>,
    content_type: Option<String>,
    body: Option<Vec<u8>>,
    created_at: DateTime<Utc>,
}

impl Store {
    /// Claims `key` for `user`'s request with `fingerprint`; a claim whose request has not
    /// answered since `abandoned_before` (its server died) is taken over.
    pub async fn claim_idempotency_key(
        &self,
        user: UserId,
        key: &str,
        fingerprint: &str,
        now: DateTime<Utc>,
        abandoned_before: DateTime<Utc>,
    ) -> StoreResult<Claim> {
        let inserted = on_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO idempotency_keys (user_id, key, fingerprint, created_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (user_id, key) DO NOTHING",
            )
            .bind(user)
            .bind(key)
            .bind(fingerprint)
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected()
        });
        if inserted == 1 {
            return Ok(Claim::Claimed);
        }
        let row: Option<KeyRow> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT fingerprint, status, content_type, body, created_at FROM idempotency_keys \
                 WHERE user_id = $1 AND key = $2",
            )
            .bind(user)
            .bind(key)
            .fetch_optional(pool)
            .await?
        });
        let Some(row) = row else {
            // Removed by the clean-up in between: claim it afresh.
            return Box::pin(self.claim_idempotency_key(user, key, fingerprint, now, abandoned_before)).await;
        };
        match row.status {
            Some(status) => Ok(Claim::Done {
                fingerprint: row.fingerprint,
                status: u16::try_from(status).unwrap_or(500),
                content_type: row.content_type,
                body: row.body.unwrap_or_default(),
            }),
            None if row.created_at < abandoned_before && row.fingerprint == fingerprint => {
                let taken = on_pool!(self, pool => {
                    sqlx::query(
                        "UPDATE idempotency_keys SET created_at = $3 \
                         WHERE user_id = $1 AND key = $2 AND status IS NULL AND created_at = $4",
                    )
                    .bind(user)
                    .bind(key)
                    .bind(now)
                    .bind(row.created_at)
                    .execute(pool)
                    .await?
                    .rows_affected()
                });
                Ok(if taken == 1 {
                    Claim::Claimed
                } else {
                    Claim::InFlight {
                        fingerprint: row.fingerprint,
                    }
                })
            }
            None => Ok(Claim::InFlight {
                fingerprint: row.fingerprint,
            }),
        }
    }

    /// Keeps the answer of the request that holds `key`.
    pub async fn finish_idempotency_key(
        &self,
        user: UserId,
        key: &str,
        status: u16,
        content_type: Option<&str>,
        body: &[u8],
    ) -> StoreResult<()> {
        on_pool!(self, pool => {
            sqlx::query(
                "UPDATE idempotency_keys SET status = $3, content_type = $4, body = $5 \
                 WHERE user_id = $1 AND key = $2",
            )
            .bind(user)
            .bind(key)
            .bind(i32::from(status))
            .bind(content_type)
            .bind(body)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Gives `key` up (its request failed on our side, so a retry should run again).
    pub async fn release_idempotency_key(&self, user: UserId, key: &str) -> StoreResult<()> {
        on_pool!(self, pool => {
            sqlx::query("DELETE FROM idempotency_keys WHERE user_id = $1 AND key = $2")
                .bind(user)
                .bind(key)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Forgets keys claimed before `before`; returns how many.
    pub async fn remove_old_idempotency_keys(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        Ok(on_pool!(self, pool => {
            sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
                .bind(before)
                .execute(pool)
                .await?
                .rows_affected()
        }))
    }
}
