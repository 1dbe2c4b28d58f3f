//! Keeping the audit chain: sealing committed events, checkpointing the head to object
//! storage, and verifying the whole chain.

use std::time::Duration;

use bytes::Bytes;
use chrono::Utc;
use tokio_util::sync::CancellationToken;

use super::Caller;
use crate::app::App;
use crate::audit::{ChainCheck, ChainReport, Checkpoint};
use crate::error::ApiError;
use crate::storage::StorageError;

/// Where the latest checkpoint of the chain head is kept.
pub const CHECKPOINT_KEY: &str = "audit/checkpoint.json";

/// Events sealed per transaction.
const SEAL_BATCH: i64 = 5_000;

/// Events read per page while verifying.
const VERIFY_PAGE: i64 = 5_000;

/// Seals every committed event into the chain; returns the head when it moved.
pub async fn seal(app: &App) -> Result<Option<crate::store::ChainHead>, ApiError> {
    let mut head = None;
    while let Some(h) = app.store.seal_audit(SEAL_BATCH, Utc::now()).await? {
        head = Some(h);
    }
    Ok(head)
}

/// Writes the database's chain head to object storage.
pub async fn checkpoint(app: &App) -> Result<Checkpoint, ApiError> {
    let head = app.store.audit_head().await?;
    let cp = Checkpoint {
        seq: head.seq,
        hash: head.hash,
        at: Utc::now(),
    };
    let body = serde_json::to_vec(&cp).map_err(|e| ApiError::Internal(format!("checkpoint: {e}")))?;
    app.objects
        .put_bytes(CHECKPOINT_KEY, Bytes::from(body), "application/json")
        .await?;
    Ok(cp)
}

/// The last checkpoint written, if any.
pub async fn read_checkpoint(app: &App) -> Result<Option<Checkpoint>, ApiError> {
    match app.objects.get_bytes(CHECKPOINT_KEY).await {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| ApiError::Internal(format!("the audit checkpoint is unreadable: {e}"))),
        Err(StorageError::NotFound) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// What `audit verify` reports: the chain check and how many events wait to be sealed.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Verification {
    /// The chain check.
    #[serde(flatten)]
    pub chain: ChainReport,
    /// Committed events not yet sealed after the seal this check ran first.
    pub unsealed: i64,
}

/// Seals what is committed, then walks the whole chain against the checkpoint. Runs for the
/// CLI (no caller) and for admins through the API.
pub async fn verify(app: &App) -> Result<Verification, ApiError> {
    seal(app).await?;
    let checkpoint = read_checkpoint(app).await?;
    let mut walk = ChainCheck::new(checkpoint);
    let mut after = 0;
    'pages: loop {
        let page = app.store.sealed_events(after, VERIFY_PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for event in &page {
            if !walk.push(event) {
                break 'pages;
            }
        }
    }
    Ok(Verification {
        chain: walk.finish(),
        unsealed: app.store.unsealed_events().await?,
    })
}

/// [`verify`] for an admin, audited.
pub async fn verify_as(app: &App, caller: &Caller) -> Result<Verification, ApiError> {
    super::require_admin(&caller.user)?;
    let report = verify(app).await?;
    let event = crate::audit::AuditEvent::new(
        Utc::now(),
        &caller.actor(),
        "audit.verified",
        "audit",
        uuid::Uuid::nil(),
        &serde_json::json!({ "ok": report.chain.ok, "checked": report.chain.checked }),
    );
    app.store.append_audit(&event).await?;
    Ok(report)
}

/// Seals every `audit_seal_ms` and checkpoints the head every `audit_checkpoint_secs` when it
/// moved, until `shutdown`; seals and checkpoints once more on the way out.
pub async fn run_sealer(app: App, shutdown: CancellationToken) {
    let seal_every = Duration::from_millis(app.settings.audit_seal_ms.max(10));
    let checkpoint_every = Duration::from_secs(app.settings.audit_checkpoint_secs.max(1));
    let mut last_checkpoint = tokio::time::Instant::now();
    let mut moved = false;
    loop {
        let stopping = tokio::select! {
            () = shutdown.cancelled() => true,
            () = tokio::time::sleep(seal_every) => false,
        };
        match seal(&app).await {
            Ok(head) => moved |= head.is_some(),
            Err(e) => tracing::warn!(error = %e, "sealing audit events failed; will retry"),
        }
        if moved && (stopping || last_checkpoint.elapsed() >= checkpoint_every) {
            match checkpoint(&app).await {
                Ok(_) => {
                    moved = false;
                    last_checkpoint = tokio::time::Instant::now();
                }
                Err(e) => tracing::warn!(error = %e, "writing the audit checkpoint failed; will retry"),
            }
        }
        if stopping {
            break;
        }
    }
}
