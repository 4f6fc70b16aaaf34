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
    client: reqwest::Client,
    url: String,
    max_bytes: usize,
}

impl Source {
    /// The configured source, or None when it is off.
    pub fn new(settings: &RatesSettings) -> Result<Option<Source>, String> {
        let Some(base) = settings.source() else {
            return Ok(None);
        };
        let client = reqwest::Client::builder()
            .timeout(settings.timeout())
            .connect_timeout(settings.timeout())
            .redirect(reqwest::redirect::Policy::limited(3))
            .build()
            .map_err(|e| format!("rates source client: {e}"))?;
        Ok(Some(Source {
            client,
            url: format!("{base}/latest"),
            max_bytes: settings.max_response_bytes,
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
        let mut response = self
            .client
            .get(&self.url)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| format!("{}: {e}", self.url))?;
        if !response.status().is_success() {
            return Err(format!("{} answered {}", self.url, response.status()));
        }
        if response
            .content_length()
            .is_some_and(|n| n > self.max_bytes as u64)
        {
            return Err(format!(
                "{} answered more than {} bytes",
                self.url, self.max_bytes
            ));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| e.to_string())? {
            if body.len() + chunk.len() > self.max_bytes {
                return Err(format!(
                    "{} answered more than {} bytes",
                    self.url, self.max_bytes
                ));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
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
