//! Periodic clean-up every replica runs: expired resumable uploads, staging files a killed
//! process left behind, and idempotency keys past their day. Each deletion is conditional
//! or harmless to repeat, so replicas running it at once do no harm.

use std::time::Duration;

use chrono::Utc;
use tokio_util::sync::CancellationToken;

use super::{exports, resumable, upload};
use crate::app::App;

/// A staging file this old belongs to no running request (a day of trickling bytes at most).
const STALE_STAGING: Duration = Duration::from_secs(24 * 3600);
/// How long the answer to an idempotent POST is kept for its retries.
const IDEMPOTENCY_KEY_LIFE: chrono::Duration = chrono::Duration::hours(24);

/// Cleans up periodically until `shutdown`.
pub async fn run(app: App, shutdown: CancellationToken) {
    let every = Duration::from_secs((app.settings.upload_expiry_secs / 4).clamp(1, 300));
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(every) => {}
        }
        let now = Utc::now();
        match resumable::remove_expired(&app, now).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(removed = n, "removed expired uploads"),
            Err(e) => tracing::warn!(error = %e, "removing expired uploads failed; will retry"),
        }
        match exports::remove_expired(&app, now).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(removed = n, "removed expired export files"),
            Err(e) => tracing::warn!(error = %e, "removing expired export files failed; will retry"),
        }
        if let Err(e) = upload::remove_stale_staging(&app, STALE_STAGING).await {
            tracing::warn!(error = %e, "removing stale staging files failed; will retry");
        }
        if let Err(e) = app
            .store
            .remove_old_idempotency_keys(now - IDEMPOTENCY_KEY_LIFE)
            .await
        {
            tracing::warn!(error = %e, "removing old idempotency keys failed; will retry");
        }
    }
}
