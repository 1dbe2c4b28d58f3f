//! The processing loop: claim a photo row with a lease, keep the lease alive while working,
//! write the results back, and retry with back-off or fail for good. Any number of these
//! loops, in any number of processes, share one queue safely.

use std::time::Duration as StdDuration;

use chrono::{Duration, Utc};
use fieldproof_core::App;
use fieldproof_core::storage::thumbnail_key;
use fieldproof_core::store::{ClaimedPhoto, DuplicateUse, PhotoContext};
use tokio_util::sync::CancellationToken;

use crate::budget::MemoryBudget;
use crate::decode::DecodeLimits;
use crate::pipeline::{self, Inputs, LARGE_EDGE, Options, SMALL_EDGE, Sighting};
use crate::verify::Tolerances;

/// Why one attempt failed.
#[derive(Debug, thiserror::Error)]
enum AttemptError {
    /// The photo itself is unusable; retrying cannot help.
    #[error("{0}")]
    Permanent(String),
    /// Storage or database trouble; worth another try later.
    #[error("{0}")]
    Transient(String),
}

/// What one call of [`Worker::process_next`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The queue had nothing due.
    Idle,
    /// A photo was processed (done, retried or failed).
    Worked,
}

/// A named worker; the name is written into the lease so an operator can see who holds what.
/// Its loops share one memory budget, counted in MiB permits.
#[derive(Debug, Clone)]
pub struct Worker {
    app: App,
    id: String,
    memory: MemoryBudget,
}

impl Worker {
    /// A worker for this process, named after the host and process id.
    pub fn new(app: App) -> Self {
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "local".into());
        let id = format!("{host}:{}:{}", std::process::id(), uuid::Uuid::new_v4().simple());
        let memory = MemoryBudget::new(app.settings.worker_memory_budget_mb);
        Self { app, id, memory }
    }

    fn lease(&self) -> Duration {
        Duration::seconds(
            i64::try_from(self.app.settings.worker_lease_secs)
                .unwrap_or(60)
                .max(1),
        )
    }

    /// Runs `worker_concurrency` loops until `shutdown` is cancelled; a photo in progress at
    /// shutdown keeps its lease, which lapses so another worker takes it over.
    pub async fn run(self, shutdown: CancellationToken) {
        self.app
            .store
            .spawn_photo_listener(self.app.photo_queued.clone(), shutdown.clone());
        let loops: Vec<_> = (0..self.app.settings.worker_concurrency)
            .map(|_| tokio::spawn(self.clone().run_loop(shutdown.clone())))
            .collect();
        for handle in loops {
            if let Err(e) = handle.await {
                tracing::error!(error = %e, "worker loop ended abnormally");
            }
        }
    }

    async fn run_loop(self, shutdown: CancellationToken) {
        let poll = StdDuration::from_millis(self.app.settings.worker_poll_ms.max(10));
        while !shutdown.is_cancelled() {
            let idle = match self.process_next().await {
                Ok(Step::Worked) => false,
                Ok(Step::Idle) => true,
                Err(e) => {
                    tracing::warn!(error = %e, "claiming work failed");
                    true
                }
            };
            if idle {
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    () = self.app.photo_queued.notified() => {}
                    () = tokio::time::sleep(poll) => {}
                }
            }
        }
    }

    /// Processes photos until none is due; for tests and one-shot runs.
    pub async fn drain(&self) -> Result<usize, fieldproof_core::store::StoreError> {
        let mut n = 0;
        while self.process_next().await? == Step::Worked {
            n += 1;
        }
        Ok(n)
    }

    /// Claims one due photo and takes it to done, a scheduled retry, or failed.
    pub async fn process_next(&self) -> Result<Step, fieldproof_core::store::StoreError> {
        let Some(claimed) = self
            .app
            .store
            .claim_photo(&self.id, Utc::now(), self.lease())
            .await?
        else {
            return Ok(Step::Idle);
        };
        let photo_id = claimed.photo.id;
        let max = self.app.settings.worker_max_attempts;
        if claimed.attempt > max {
            let error = format!(
                "gave up after {max} attempts; last error: {}",
                claimed
                    .photo
                    .last_error
                    .as_deref()
                    .unwrap_or("the worker stopped while processing")
            );
            self.app
                .store
                .fail_photo(photo_id, &self.id, &error, None, Utc::now())
                .await?;
            return Ok(Step::Worked);
        }
        let heartbeat = self.spawn_heartbeat(photo_id);
        let started = std::time::Instant::now();
        let outcome = self.attempt(&claimed).await;
        heartbeat.abort();
        let now = Utc::now();
        match outcome {
            Ok(verdict) => {
                tracing::info!(photo_id = %photo_id, verdict, duration_ms = started.elapsed().as_millis() as u64, "photo processed");
            }
            Err(AttemptError::Permanent(error)) => {
                tracing::info!(photo_id = %photo_id, error = %error, "photo failed");
                self.app
                    .store
                    .fail_photo(photo_id, &self.id, &error, None, now)
                    .await?;
            }
            Err(AttemptError::Transient(error)) => {
                let retry_at = (claimed.attempt < max).then(|| now + self.backoff(claimed.attempt));
                tracing::warn!(photo_id = %photo_id, attempt = claimed.attempt, error = %error, "photo attempt failed");
                self.app
                    .store
                    .fail_photo(photo_id, &self.id, &error, retry_at, now)
                    .await?;
            }
        }
        Ok(Step::Worked)
    }

    fn backoff(&self, attempt: i32) -> Duration {
        let base = i64::try_from(self.app.settings.worker_backoff_secs).unwrap_or(5);
        let factor = 1_i64 << attempt.clamp(1, 12).saturating_sub(1);
        Duration::seconds((base * factor).min(3600))
    }

    fn spawn_heartbeat(&self, photo: fieldproof_core::ids::PhotoId) -> tokio::task::JoinHandle<()> {
        let (store, id, lease) = (self.app.store.clone(), self.id.clone(), self.lease());
        let every = (lease / 3)
            .to_std()
            .unwrap_or(StdDuration::from_secs(20))
            .max(StdDuration::from_millis(100));
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                match store.renew_lease(photo, &id, Utc::now() + lease).await {
                    Ok(true) => {}
                    Ok(false) => break,
                    Err(e) => tracing::warn!(error = %e, "renewing a lease failed"),
                }
            }
        })
    }

    async fn attempt(&self, claimed: &ClaimedPhoto) -> Result<&'static str, AttemptError> {
        let app = &self.app;
        let photo = &claimed.photo;
        let transient =
            |what: &str, e: &dyn std::fmt::Display| AttemptError::Transient(format!("{what}: {e}"));
        let bytes = app
            .objects
            .get_bytes(&photo.original_key)
            .await
            .map_err(|e| transient("reading the original", &e))?;
        let reservation = self
            .memory
            .reserve(pipeline::memory_needed(&bytes, LARGE_EDGE))
            .await
            .map_err(|e| transient("waiting for memory", &e))?;
        let settings = &app.settings;
        let options = Options {
            limits: DecodeLimits {
                max_pixels: settings.max_pixels,
                max_bytes: settings.max_decode_bytes,
            },
            edges: vec![SMALL_EDGE, LARGE_EDGE],
            format: settings.thumbnail_format,
        };
        let mut context = app
            .store
            .photo_context(photo.record_id)
            .await
            .map_err(|e| transient("loading the record", &e))?;
        context.device_clock_offset = photo.device_clock_offset_ms.map(chrono::Duration::milliseconds);
        let site_zone = context.site.timezone;
        let analysed = tokio::task::spawn_blocking(move || pipeline::analyse(&bytes, site_zone, &options))
            .await
            .map_err(|e| AttemptError::Transient(format!("the processing thread stopped: {e}")))?
            .map_err(|e| AttemptError::Permanent(e.to_string()))?;
        drop(reservation);
        if analysed.sha256 != photo.sha256 {
            return Err(AttemptError::Permanent(
                "the stored original no longer matches the SHA-256 recorded at upload".into(),
            ));
        }
        let duplicate = app
            .store
            .find_duplicate_use(&photo.sha256, photo.id)
            .await
            .map_err(|e| transient("looking for reuse", &e))?;
        let similar = app
            .store
            .find_similar_use(
                analysed.perceptual_hash,
                settings.similar_photo_max_distance,
                photo.record_id,
            )
            .await
            .map_err(|e| transient("looking for similar photos", &e))?;
        let duplicate = match duplicate {
            Some(d) => Some(sighting(app, d, &context).await?),
            None => None,
        };
        let similar = match similar {
            Some((d, distance)) => Some((sighting(app, d, &context).await?, distance)),
            None => None,
        };
        let analysis = pipeline::conclude(
            &analysed,
            &Inputs {
                context: &context,
                received_at: photo.received_at,
                duplicate,
                similar,
                tolerances: Tolerances::from_settings(settings),
            },
        );
        let format = settings.thumbnail_format;
        let mut keys = Vec::with_capacity(2);
        for (thumbnail, size) in analysed.thumbnails.into_iter().zip(["small", "large"]) {
            let key = thumbnail_key(photo.id, size, format);
            app.objects
                .put_bytes(&key, thumbnail.bytes.into(), format.mime())
                .await
                .map_err(|e| transient("storing a thumbnail", &e))?;
            keys.push(key);
        }
        let [small_key, large_key] = keys.as_slice() else {
            return Err(AttemptError::Permanent("the pipeline made no thumbnails".into()));
        };
        let verdict = analysis.verification.verdict.as_str();
        let stored = app
            .store
            .complete_photo(photo.id, &self.id, &analysis, small_key, large_key, Utc::now())
            .await
            .map_err(|e| transient("saving the results", &e))?;
        if !stored {
            tracing::info!(photo_id = %photo.id, "lease lost before saving; another worker owns the photo");
        }
        Ok(verdict)
    }
}

/// How an earlier use may be named in a photo's reasons (see [`Sighting::of`]).
async fn sighting(
    app: &App,
    earlier: DuplicateUse,
    context: &PhotoContext,
) -> Result<Sighting, AttemptError> {
    let task = app
        .store
        .find_task(earlier.task_id)
        .await
        .map_err(|e| AttemptError::Transient(format!("loading the task of an earlier use: {e}")))?;
    Ok(Sighting::of(earlier, task.as_ref(), context))
}
