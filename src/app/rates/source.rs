//! The optional HTTP source of rates: a Frankfurter-compatible service asked
//! for `GET {base}/latest` (euro base) once at startup and then every
//! `rates.refresh_interval_seconds`, its table stored like an imported day.
//! Off unless `rates.source_url` is set. Each request is bounded in time
//! (`rates.timeout_ms`, body included) and size (`rates.max_response_bytes`,
//! counted as the body arrives), and its numbers are read from their JSON
//! text as exact decimals (`domain::exchange_sources::parse_latest_json`).

use std::time::Duration;

use crate::configuration::RatesSettings;
use crate::domain::exchange_sources::parse_latest_json;
use crate::store::Store;

/// A client for the source.
pub struct Source {
    url: String,
    max_bytes: usize,
    timeout: Duration,
}

impl Source {
    /// The configured source, or None when it is off.
    pub fn new(settings: &RatesSettings) -> Result<Option<Source>, String> {
        let Some(base) = settings.source() else {
            return Ok(None);
        };
        let url = format!("{base}/latest");
        super::fetch::parse_url(&url).map_err(|e| format!("rates.source_url: {e}"))?;
        Ok(Some(Source {
            url,
            max_bytes: settings.max_response_bytes,
            timeout: settings.timeout(),
        }))
    }

    /// Asks the source once and stores its table; the table's day.
    pub async fn refresh(&self, store: &Store) -> Result<String, String> {
        let body = self.fetch().await?;
        let parsed = parse_latest_json(&body)?;
        store
            .put_rate_tables(&parsed.tables, "http")
            .await
            .map_err(|e| e.to_string())?;
        Ok(parsed.tables.first().map(|t| t.day()).unwrap_or_default())
    }

    /// The answer's body, at most `max_bytes` of it (else an error).
    async fn fetch(&self) -> Result<Vec<u8>, String> {
        super::fetch::get(&self.url, self.max_bytes, self.timeout)
            .await
            .map_err(|e| format!("{}: {e}", self.url))
    }
}

/// Refreshes the table from `source` now and then every `interval`; a
/// failure is logged and tried again at the next tick (or after a minute,
/// whichever is sooner).
pub async fn refresh_daily(source: Source, store: Store, interval: Duration) {
    let retry = interval.min(Duration::from_secs(60));
    loop {
        let wait = match source.refresh(&store).await {
            Ok(day) => {
                tracing::info!(day = %day, "exchange rates refreshed");
                interval
            }
            Err(e) => {
                tracing::warn!(error = %e, "refreshing exchange rates failed; will retry");
                retry
            }
        };
        tokio::time::sleep(wait).await;
    }
}
