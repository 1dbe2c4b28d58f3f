//! The shared context of every request handler and worker: settings, store, objects.

use std::sync::Arc;

use tokio::sync::Notify;

use crate::auth::Passwords;
use crate::config::Settings;
use crate::storage::ObjectStore;
use crate::store::Store;

/// Cheap to clone; one per process.
#[derive(Debug, Clone)]
pub struct App {
    /// The loaded settings.
    pub settings: Arc<Settings>,
    /// The database.
    pub store: Store,
    /// Originals and thumbnails.
    pub objects: ObjectStore,
    /// Password hashing with bounded concurrency.
    pub passwords: Passwords,
    /// Wakes in-process workers when a photo is queued (polling covers other processes).
    pub photo_queued: Arc<Notify>,
    /// Wakes this process's reminder sender when an urge queues an SMS.
    pub reminder_queued: Arc<Notify>,
}

impl App {
    /// Bundles the parts.
    pub fn new(settings: Settings, store: Store, objects: ObjectStore, passwords: Passwords) -> Self {
        Self {
            settings: Arc::new(settings),
            store,
            objects,
            passwords,
            photo_queued: Arc::new(Notify::new()),
            reminder_queued: Arc::new(Notify::new()),
        }
    }
}
