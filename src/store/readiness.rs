//! Where the database preparation of this process stands: indexes, the
//! schema upgrade and the ledger must be in place before the API serves.
//! Written by the preparation task, read on every API request.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
#[cfg(test)]
use std::time::Instant;

/// The phase of the database preparation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Phase {
    /// Not started yet, or waiting for the database to answer.
    Preparing,
    /// This process is upgrading the documents or rebuilding the ledger.
    Upgrading,
    /// Another process holds the upgrade lease; this one waits for it.
    WaitingForUpgrade,
    /// Serving.
    Ready,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Preparing => "preparing",
            Phase::Upgrading => "upgrading",
            Phase::WaitingForUpgrade => "waiting-for-upgrade",
            Phase::Ready => "ready",
        }
    }

    /// The inverse of `phase as u8`.
    fn from_u8(v: u8) -> Self {
        [Phase::Upgrading, Phase::WaitingForUpgrade, Phase::Ready]
            .into_iter()
            .find(|p| *p as u8 == v)
            .unwrap_or(Phase::Preparing)
    }
}

/// Shared readiness of the database: read on every API request (one atomic
/// load), written by the preparation task, which also wakes the requests
/// waiting for it. Index conflicts found at startup are kept for
/// `/v1/healthz` to report.
#[derive(Clone, Default)]
pub struct Readiness {
    phase: Arc<AtomicU8>,
    became_ready: Arc<tokio::sync::Notify>,
    index_conflicts: Arc<Mutex<Vec<String>>>,
}

impl Readiness {
    pub fn phase(&self) -> Phase {
        Phase::from_u8(self.phase.load(Ordering::Acquire))
    }

    pub fn set(&self, phase: Phase) {
        self.phase.store(phase as u8, Ordering::Release);
        if phase == Phase::Ready {
            self.became_ready.notify_waiters();
        }
    }

    pub fn is_ready(&self) -> bool {
        self.phase() == Phase::Ready
    }

    /// Waits up to `limit` for the database to be ready; true when it is.
    pub async fn wait_ready(&self, limit: Duration) -> bool {
        let woken = self.became_ready.notified();
        tokio::pin!(woken);
        // Registered before the check, so a `set` in between still wakes it.
        woken.as_mut().enable();
        if self.is_ready() {
            return true;
        }
        let _ = tokio::time::timeout(limit, woken).await;
        self.is_ready()
    }

    pub fn set_index_conflicts(&self, conflicts: Vec<String>) {
        if let Ok(mut held) = self.index_conflicts.lock() {
            *held = conflicts;
        }
    }

    pub fn index_conflicts(&self) -> Vec<String> {
        self.index_conflicts
            .lock()
            .map(|held| held.clone())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_waiting_request_goes_on_when_the_database_is_ready() {
        let readiness = Readiness::default();
        assert!(!readiness.wait_ready(Duration::from_millis(20)).await);
        let preparation = readiness.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(30)).await;
            preparation.set(Phase::Upgrading);
            tokio::time::sleep(Duration::from_millis(30)).await;
            preparation.set(Phase::Ready);
        });
        let started = Instant::now();
        assert!(readiness.wait_ready(Duration::from_secs(5)).await);
        assert!(started.elapsed() < Duration::from_secs(1));
        // Ready: no wait at all.
        assert!(readiness.wait_ready(Duration::ZERO).await);
    }
}
