//! `[rates]`: the optional HTTP source of exchange rates.

use std::time::Duration;

use serde::Deserialize;

/// A Frankfurter-compatible service (`GET {source_url}/latest`, euro base)
/// that refreshes the rate table from a background task. Off (empty URL) by
/// default: the table is loaded with `splitlyr rates import` instead.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct RatesSettings {
    /// `https://rates.example.com` (no trailing `/latest`); empty: off.
    pub source_url: String,
    /// How often the source is asked (also once at startup).
    pub refresh_interval_seconds: u64,
    /// The longest one request to the source may take, body included.
    pub timeout_ms: u64,
    /// The largest answer read; a longer one is refused.
    pub max_response_bytes: usize,
}

impl Default for RatesSettings {
    fn default() -> Self {
        Self {
            source_url: String::new(),
            refresh_interval_seconds: 86_400,
            timeout_ms: 10_000,
            max_response_bytes: 1 << 20,
        }
    }
}

impl RatesSettings {
    /// The source's base URL, when one is configured.
    pub fn source(&self) -> Option<&str> {
        Some(self.source_url.trim().trim_end_matches('/')).filter(|u| !u.is_empty())
    }

    pub fn refresh_interval(&self) -> Duration {
        Duration::from_secs(self.refresh_interval_seconds)
    }

    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }

    pub(super) fn validate(&self) -> Result<(), String> {
        if let Some(url) = self.source() {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err("rates.source_url must start with http:// or https://".into());
            }
        }
        if !(1..=31 * 86_400).contains(&self.refresh_interval_seconds) {
            return Err("rates.refresh_interval_seconds must be between 1 and 2678400".into());
        }
        if !(100..=120_000).contains(&self.timeout_ms) {
            return Err("rates.timeout_ms must be between 100 and 120000".into());
        }
        if !(1024..=(16 << 20)).contains(&self.max_response_bytes) {
            return Err("rates.max_response_bytes must be between 1024 and 16777216".into());
        }
        Ok(())
    }
}
