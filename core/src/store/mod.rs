//! The store: one enum over PostgreSQL and SQLite with use-case methods.
//!
//! Identical SQL is written once with `$n` placeholders (SQLite accepts them too); the
//! `in_tx!` and `on_pool!` macros expand one body for each backend, so only the rare
//! statement that differs (the work-queue claim) is written twice. Every public method is one
//! unit of work with its own transaction; times are always bound from Rust, never `now()` in
//! SQL, so that both backends store the same thing and tests control the clock.

mod audit;
mod circulars;
mod devices;
mod documents;
mod exports;
mod extensions;
mod idempotency;
mod notify;
mod orgs;
mod photos;
mod plans;
mod receipts;
mod records;
mod reminders;
mod rows;
mod sessions;
mod sites;
mod stats;
mod sync;
mod task_list;
mod tasks;
mod throttle;
mod uploads;
mod urges;
mod users;

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};

pub use audit::{ChainHead, ListedEvent};
pub use exports::{ExportRow, MAX_EXPORT_ATTEMPTS};
pub use extensions::ExtensionOutcome;
pub use idempotency::Claim;
pub use photos::{ClaimedPhoto, DuplicateUse, NewPhoto, PhotoContext, PhotoRow, PutOutcome};
pub use receipts::{Receipt, ReceiptTarget};
pub use records::{RecordOutcome, ReviewOutcome};
pub use reminders::{MessageOutcome, MessageRow, NewMessage, NewReminder, ReminderCandidate, ReminderRow};
pub use stats::{StatPhase, StatPhotos, StatTask};
pub use task_list::{Cursor, LightCounts, LightFilter, Scope, TaskFilter, TaskSort, TaskSummary};
pub use tasks::{EndKind, Issuer};
pub use uploads::{UploadChunk, UploadRow};
pub use users::ListedUser;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database URL names a scheme we do not support.
    #[error("unsupported database URL scheme `{0}`; use `sqlite://` or `postgres://`")]
    UnknownScheme(String),
    /// The database answered with an error or could not be reached.
    #[error("database error")]
    Database(#[from] sqlx::Error),
    /// Migrations could not be applied.
    #[error("migration failed")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored value does not parse (a bug or a hand-edited row).
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// A unique key already holds another row (e.g. a username).
    #[error("already exists: {0}")]
    Duplicate(&'static str),
}

/// Result of a store call.
pub type StoreResult<T> = Result<T, StoreError>;

/// The database, PostgreSQL when scaled out and SQLite embedded.
#[derive(Debug, Clone)]
pub enum Store {
    /// Shared by many server and worker processes.
    Postgres(PgPool),
    /// One file in the data directory.
    Sqlite(SqlitePool),
}

/// Expands `$body` once per backend with `$pool` bound to the concrete pool.
macro_rules! on_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match $store {
            $crate::store::Store::Postgres($pool) => $body,
            $crate::store::Store::Sqlite($pool) => $body,
        }
    };
}

/// Runs `$body` in a transaction on either backend and commits it; an early `?` rolls back.
macro_rules! in_tx {
    ($store:expr, $tx:ident => $body:block) => {
        match $store {
            $crate::store::Store::Postgres(pool) => {
                let mut $tx = pool.begin().await?;
                let out = $body;
                $tx.commit().await?;
                out
            }
            $crate::store::Store::Sqlite(pool) => {
                let mut $tx = pool.begin().await?;
                let out = $body;
                $tx.commit().await?;
                out
            }
        }
    };
}

pub(crate) use {in_tx, on_pool};

impl Store {
    /// Connects to `url`; the scheme picks the backend. A SQLite file is created if missing.
    pub async fn connect(url: &str, max_connections: u32) -> StoreResult<Store> {
        let scheme = url.split(':').next().unwrap_or_default();
        match scheme {
            "postgres" | "postgresql" => {
                let pool = PgPoolOptions::new()
                    .max_connections(max_connections)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect(url)
                    .await?;
                Ok(Store::Postgres(pool))
            }
            "sqlite" => {
                let options = SqliteConnectOptions::from_str(url)?
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(10));
                let pool = SqlitePoolOptions::new()
                    .max_connections(max_connections)
                    .connect_with(options)
                    .await?;
                Ok(Store::Sqlite(pool))
            }
            other => Err(StoreError::UnknownScheme(other.to_owned())),
        }
    }

    /// Applies pending migrations for this backend; safe to run from several processes.
    pub async fn migrate(&self) -> StoreResult<()> {
        match self {
            Store::Postgres(pool) => sqlx::migrate!("../migrations/postgres").run(pool).await?,
            Store::Sqlite(pool) => sqlx::migrate!("../migrations/sqlite").run(pool).await?,
        }
        Ok(())
    }

    /// Whether the database answers; used by `/readyz`.
    pub async fn ping(&self) -> StoreResult<()> {
        on_pool!(self, pool => {
            sqlx::query("SELECT 1").execute(pool).await?;
        });
        Ok(())
    }

    /// The backend's name, for logs and `/readyz`.
    pub fn kind(&self) -> &'static str {
        match self {
            Store::Postgres(_) => "postgres",
            Store::Sqlite(_) => "sqlite",
        }
    }

    /// Closes every connection (used at shutdown and by tests before dropping a database).
    pub async fn close(&self) {
        on_pool!(self, pool => pool.close().await);
    }
}

/// `$first, $first+1, …` for an `IN (…)` list of `n` values (both backends take `$n`).
pub(crate) fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Maps a unique-key violation to [`StoreError::Duplicate`].
pub(crate) fn unique_as(err: sqlx::Error, what: &'static str) -> StoreError {
    match &err {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Duplicate(what),
        _ => StoreError::Database(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migration_lists_match_across_backends() {
        let names = |dir: &str| {
            let mut v: Vec<String> = std::fs::read_dir(dir)
                .map(|rd| {
                    rd.filter_map(|e| e.ok())
                        .map(|e| e.file_name().to_string_lossy().into_owned())
                        .collect()
                })
                .unwrap_or_default();
            v.sort();
            v
        };
        let pg = names(concat!(env!("CARGO_MANIFEST_DIR"), "/../migrations/postgres"));
        let lite = names(concat!(env!("CARGO_MANIFEST_DIR"), "/../migrations/sqlite"));
        assert!(!pg.is_empty());
        assert_eq!(pg, lite);
    }

    #[tokio::test]
    async fn unknown_scheme_names_the_accepted_ones() {
        let err = Store::connect("mysql://x", 1).await.unwrap_err();
        assert!(err.to_string().contains("sqlite://"));
    }
}
