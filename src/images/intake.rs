//! Large bodies (picture uploads) get room before a byte of them is read,
//! and must then arrive within a deadline.
//!
//! The room comes from one memory budget for the whole process
//! (`server.large_body_memory_mib`): each body reserves its declared length
//! (its route's maximum when it declares none), so twelve stalled 10 MiB
//! uploads cannot make the process hold twelve bodies. A body that finds no
//! room within `server.large_body_wait_ms` is refused (503, `Retry-After`)
//! unread: its bytes wait in the kernel's socket buffers meanwhile, and the
//! connection is closed after the answer. An admitted body that has not
//! arrived by its deadline (`server.body_read_timeout_ms`) is a 408, and its
//! connection is closed too.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use crate::error::ApiError;
use crate::ratelimit::retry_after_secs;

const KIB: usize = 1024;

/// The large-body budget, one permit per KiB.
pub struct BodyBudget {
    room: Arc<Semaphore>,
    total_kib: usize,
    wait: Duration,
    read_timeout: Duration,
}

/// Room held for one body, and the deadline of its arrival. Held until the
/// upload is done with its bytes (decoded and stored, or refused).
#[derive(Debug)]
pub struct Admission {
    room: OwnedSemaphorePermit,
    deadline: Instant,
}

/// Reservations from this size up give their freed memory back on release.
const TRIM_FROM_KIB: usize = 1024;

impl BodyBudget {
    pub fn new(memory_mib: u32, wait: Duration, read_timeout: Duration) -> Self {
        let total_kib = (memory_mib as usize).max(1) * 1024;
        Self {
            room: Arc::new(Semaphore::new(total_kib)),
            total_kib,
            wait,
            read_timeout,
        }
    }

    /// Room for a body of `bytes`, waiting for it up to the configured wait.
    /// A body larger than the whole budget takes all of it (it waits until
    /// it is alone).
    pub async fn admit(&self, bytes: usize) -> Result<Admission, ApiError> {
        let kib = bytes.div_ceil(KIB).clamp(1, self.total_kib);
        let permits = u32::try_from(kib).unwrap_or(u32::MAX);
        let room = self.room.clone().acquire_many_owned(permits);
        match tokio::time::timeout(self.wait, room).await {
            Ok(Ok(room)) => Ok(Admission {
                room,
                deadline: Instant::now() + self.read_timeout,
            }),
            Ok(Err(closed)) => Err(ApiError::internal(closed)),
            Err(_) => Err(ApiError::Busy {
                retry_after_secs: retry_after_secs(self.wait),
            }),
        }
    }

    /// The deadline of a body that needs no admission (a small one), read
    /// from now.
    pub fn deadline(&self) -> Instant {
        Instant::now() + self.read_timeout
    }

    /// Room left, in KiB.
    #[cfg(test)]
    fn available_kib(&self) -> usize {
        self.room.available_permits()
    }
}

impl Drop for Admission {
    /// The body's bytes are gone by now (they are dropped before their
    /// admission): after a large one, hand the freed memory back to the
    /// system, or the allocator keeps it in the arenas of the workers that
    /// read bodies, each holding about the largest it ever read.
    fn drop(&mut self) {
        if self.room.num_permits() >= TRIM_FROM_KIB {
            release_free_memory();
        }
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn release_free_memory() {
    // SAFETY: malloc_trim only returns free pages of glibc's arenas to the
    // kernel; it touches no memory in use and takes the arenas' own locks.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn release_free_memory() {}

impl Admission {
    /// Runs `reading` until the body's deadline: 408 when it passes.
    pub async fn read<T>(
        &self,
        reading: impl Future<Output = Result<T, ApiError>>,
    ) -> Result<T, ApiError> {
        within(self.deadline, reading).await
    }
}

/// `reading`, or 408 at `deadline`.
pub async fn within<T>(
    deadline: Instant,
    reading: impl Future<Output = Result<T, ApiError>>,
) -> Result<T, ApiError> {
    tokio::time::timeout_at(deadline, reading)
        .await
        .unwrap_or(Err(ApiError::BodyTimeout))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget(mib: u32, wait_ms: u64) -> BodyBudget {
        BodyBudget::new(
            mib,
            Duration::from_millis(wait_ms),
            Duration::from_millis(100),
        )
    }

    #[tokio::test]
    async fn bodies_share_the_budget_by_their_size() {
        let budget = budget(16, 50);
        let big = budget.admit(10 << 20).await.expect("room for 10 MiB");
        // 6 MiB left: a second 10 MiB body waits, then is refused.
        let refused = budget.admit(10 << 20).await.unwrap_err();
        assert!(matches!(
            refused,
            ApiError::Busy {
                retry_after_secs: 1
            }
        ));
        // Small bodies still fit beside it.
        let small: Vec<_> = futures_util::future::join_all((0..5).map(|_| budget.admit(300_000)))
            .await
            .into_iter()
            .collect::<Result<_, _>>()
            .expect("room for small bodies");
        drop(big);
        assert!(budget.admit(10 << 20).await.is_ok(), "room again");
        drop(small);
        assert_eq!(budget.available_kib(), 16 * 1024);
    }

    #[tokio::test]
    async fn a_body_larger_than_the_budget_waits_to_be_alone() {
        let budget = budget(1, 50);
        let first = budget.admit(1).await.expect("room");
        assert!(
            budget.admit(5 << 20).await.is_err(),
            "not while another is read"
        );
        drop(first);
        let alone = budget.admit(5 << 20).await.expect("alone");
        assert_eq!(budget.available_kib(), 0);
        drop(alone);
    }

    #[tokio::test]
    async fn reading_past_the_deadline_is_a_408() {
        let budget = budget(1, 50);
        let admitted = budget.admit(1).await.expect("room");
        let slow = admitted
            .read(async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                Ok(())
            })
            .await;
        assert!(matches!(slow, Err(ApiError::BodyTimeout)));
        assert_eq!(admitted.read(async { Ok(7) }).await.unwrap(), 7);
    }
}
