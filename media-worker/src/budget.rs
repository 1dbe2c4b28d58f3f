//! The memory the photos in flight in one worker process may need together. Each photo
//! reserves its estimate (from the headers) before decoding and gives it back when its pixels
//! are gone, so the number of photos at once follows their size, not only a count.

use std::sync::Arc;

use tokio::sync::{AcquireError, OwnedSemaphorePermit, Semaphore};

/// A budget in MiB, shared by clones.
#[derive(Debug, Clone)]
pub struct MemoryBudget {
    permits: Arc<Semaphore>,
    total_mib: u32,
}

/// Held while a photo's pixels are in memory; dropping it returns the reservation.
#[derive(Debug)]
pub struct Reservation {
    _permit: OwnedSemaphorePermit,
    /// MiB reserved.
    pub mib: u32,
}

impl MemoryBudget {
    /// A budget of `mib` MiB (at least 1).
    pub fn new(mib: u64) -> Self {
        let total_mib = u32::try_from(mib)
            .unwrap_or(u32::MAX)
            .clamp(1, u32::try_from(Semaphore::MAX_PERMITS).unwrap_or(u32::MAX));
        Self {
            permits: Arc::new(Semaphore::new(total_mib as usize)),
            total_mib,
        }
    }

    /// Waits until `bytes` fit beside what others hold. A photo that needs more than the whole
    /// budget waits until it has the budget to itself, rather than never running.
    pub async fn reserve(&self, bytes: u64) -> Result<Reservation, AcquireError> {
        let mib = u32::try_from(bytes.div_ceil(1 << 20))
            .unwrap_or(u32::MAX)
            .clamp(1, self.total_mib);
        let permit = self.permits.clone().acquire_many_owned(mib).await?;
        Ok(Reservation { _permit: permit, mib })
    }

    /// MiB not reserved now (a metric and a test aid).
    pub fn available_mib(&self) -> usize {
        self.permits.available_permits()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn a_photo_waits_until_the_memory_it_needs_is_free() {
        let budget = MemoryBudget::new(10);
        let first = budget.reserve(6 << 20).await.unwrap();
        assert_eq!(budget.available_mib(), 4);
        let small = budget.reserve(3 << 20).await.unwrap();
        let waiting = tokio::time::timeout(Duration::from_millis(50), budget.reserve(6 << 20)).await;
        assert!(waiting.is_err(), "a second large photo must wait");
        drop(first);
        let second = tokio::time::timeout(Duration::from_secs(1), budget.reserve(6 << 20))
            .await
            .expect("runs once the first is done")
            .unwrap();
        assert_eq!((second.mib, small.mib), (6, 3));
    }

    #[tokio::test]
    async fn a_photo_larger_than_the_budget_runs_alone() {
        let budget = MemoryBudget::new(8);
        let huge = budget.reserve(500 << 20).await.unwrap();
        assert_eq!((huge.mib, budget.available_mib()), (8, 0));
        drop(huge);
        assert_eq!(budget.available_mib(), 8);
    }
}
