//! Waking workers: PostgreSQL `LISTEN/NOTIFY` carries "a photo was queued" to every process;
//! on SQLite everything runs in one process and the in-process notify suffices. Polling stays
//! as the fallback either way, so a lost notification only delays work.

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::PgListener;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::{Store, StoreResult};

const PHOTO_QUEUED: &str = "fieldproof_photo_queued";

impl Store {
    /// Tells other processes that a photo is waiting.
    pub(crate) async fn announce_photo_queued(&self) -> StoreResult<()> {
        if let Store::Postgres(pool) = self {
            sqlx::query("SELECT pg_notify($1, '')")
                .bind(PHOTO_QUEUED)
                .execute(pool)
                .await?;
        }
        Ok(())
    }

    /// Wakes `notify` whenever any process queues a photo, until `shutdown`; does nothing on
    /// SQLite.
    pub fn spawn_photo_listener(&self, notify: Arc<Notify>, shutdown: CancellationToken) {
        let Store::Postgres(pool) = self else { return };
        let pool = pool.clone();
        tokio::spawn(async move {
            while !shutdown.is_cancelled() {
                let mut listener = match PgListener::connect_with(&pool).await {
                    Ok(l) => l,
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot listen for queued photos; polling only");
                        tokio::time::sleep(Duration::from_secs(5)).await;
                        continue;
                    }
                };
                if let Err(e) = listener.listen(PHOTO_QUEUED).await {
                    tracing::warn!(error = %e, "cannot listen for queued photos; polling only");
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    continue;
                }
                loop {
                    tokio::select! {
                        () = shutdown.cancelled() => return,
                        received = listener.recv() => match received {
                            Ok(_) => notify.notify_waiters(),
                            Err(e) => {
                                tracing::warn!(error = %e, "lost the photo queue listener; reconnecting");
                                break;
                            }
                        },
                    }
                }
            }
        });
    }
}
