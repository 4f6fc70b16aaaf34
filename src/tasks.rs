//! The process's background tasks (database preparation, the picture sweep,
//! limiter pruning), owned: each is spawned with a name and a handle, and
//! the graceful shutdown stops them all and waits for them, after the
//! servers have drained. A task is stopped at its next await point; each
//! is written so that is safe (the preparation resumes under its lease, a
//! sweep or a pruning is redone next time).

use std::future::Future;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

pub struct BackgroundTasks {
    stop: watch::Sender<bool>,
    running: Vec<(&'static str, JoinHandle<()>)>,
}

impl Default for BackgroundTasks {
    fn default() -> Self {
        Self {
            stop: watch::channel(false).0,
            running: Vec::new(),
        }
    }
}

impl BackgroundTasks {
    /// Runs `task` until it ends or the tasks are stopped.
    pub fn spawn(&mut self, name: &'static str, task: impl Future<Output = ()> + Send + 'static) {
        let mut stop = self.stop.subscribe();
        let handle = tokio::spawn(async move {
            tokio::select! {
                _ = stop.wait_for(|stopped| *stopped) => {}
                _ = task => {}
            }
        });
        self.running.push((name, handle));
    }

    /// How many tasks are still running.
    pub fn running(&self) -> usize {
        self.running
            .iter()
            .filter(|(_, h)| !h.is_finished())
            .count()
    }

    /// Stops every task and waits up to `limit` for them to end; names the
    /// ones that did not (they end with the process).
    pub async fn stop(self, limit: Duration) {
        let _ = self.stop.send(true);
        let deadline = tokio::time::Instant::now() + limit;
        for (name, handle) in self.running {
            match tokio::time::timeout_at(deadline, handle).await {
                Ok(Ok(())) => tracing::debug!(task = name, "background task stopped"),
                Ok(Err(e)) => tracing::warn!(task = name, error = %e, "background task failed"),
                Err(_) => tracing::warn!(task = name, "background task did not stop in time"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    #[tokio::test]
    async fn stopping_ends_endless_loops_and_waits_for_them() {
        let mut tasks = BackgroundTasks::default();
        let ticking = Arc::new(AtomicBool::new(false));
        let seen = ticking.clone();
        tasks.spawn("endless", async move {
            loop {
                seen.store(true, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        });
        tasks.spawn("finishes", async {});
        tokio::time::sleep(Duration::from_millis(30)).await;
        assert!(ticking.load(Ordering::SeqCst));
        assert_eq!(tasks.running(), 1, "the finished one is not running");
        let started = std::time::Instant::now();
        tasks.stop(Duration::from_secs(5)).await;
        assert!(started.elapsed() < Duration::from_secs(1));
    }
}
