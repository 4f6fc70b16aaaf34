//! `[images]`: limits and storage of profile photos and receipts.

use std::time::Duration;

use serde::Deserialize;

/// Pictures: profile photos and receipts (see `crate::images`).
#[derive(Debug, Clone, Deserialize)]
pub struct ImageSettings {
    /// Largest upload, decoded (a data URI's base64 is a third larger).
    pub max_upload_bytes: usize,
    /// Largest image accepted, in pixels (width × height), checked from the
    /// header before anything is decoded.
    pub max_pixels: u64,
    /// Memory that decoding may use at once, all uploads together; an upload
    /// waits for its share, and one that alone needs more is refused.
    pub decode_memory_mib: u32,
    /// Decodes running at once (on blocking threads, never the API's workers).
    pub decode_concurrency: usize,
    /// Longest side of a stored avatar and of a stored receipt, in pixels.
    pub avatar_max_side: u32,
    pub receipt_max_side: u32,
    /// Bytes of stored pictures a user may own (avatar and receipts).
    pub quota_bytes_per_user: u64,
    /// Per user, on top of the general limit: a burst, then one upload
    /// every `upload_period_ms`.
    pub upload_burst: u32,
    pub upload_period_ms: u64,
    /// `https://api.example.com`: picture URLs in responses become absolute.
    /// Empty: they are paths (`/v1/images/<id>`).
    pub public_base_url: String,
    /// How often stored bytes no picture refers to are looked for and removed
    /// (also once at startup).
    pub sweep_interval_seconds: u64,
}

impl ImageSettings {
    pub fn upload_period(&self) -> Duration {
        Duration::from_millis(self.upload_period_ms)
    }

    pub fn sweep_interval(&self) -> Duration {
        Duration::from_secs(self.sweep_interval_seconds)
    }

    pub(super) fn validate(&self) -> Result<(), String> {
        const MIB: usize = 1 << 20;
        if !(1024..=64 * MIB).contains(&self.max_upload_bytes) {
            return Err("images.max_upload_bytes must be between 1024 and 67108864".into());
        }
        if !(16..=4096).contains(&self.decode_memory_mib) {
            return Err("images.decode_memory_mib must be between 16 and 4096".into());
        }
        if !(1..=64).contains(&self.decode_concurrency) {
            return Err("images.decode_concurrency must be between 1 and 64".into());
        }
        if self.max_pixels == 0 {
            return Err("images.max_pixels must be positive".into());
        }
        for (name, side) in [
            ("avatar_max_side", self.avatar_max_side),
            ("receipt_max_side", self.receipt_max_side),
        ] {
            if !(16..=8192).contains(&side) {
                return Err(format!("images.{name} must be between 16 and 8192"));
            }
        }
        if self.upload_burst == 0 || self.upload_period_ms == 0 {
            return Err("images.upload_burst and upload_period_ms must be positive".into());
        }
        if self.sweep_interval_seconds == 0 {
            return Err("images.sweep_interval_seconds must be positive".into());
        }
        let base = self.public_base_url.trim();
        let scheme = base.starts_with("https://") || base.starts_with("http://");
        if !base.is_empty() && (!scheme || base.ends_with('/')) {
            return Err(
                "images.public_base_url must be empty or an http(s):// URL without a trailing /"
                    .into(),
            );
        }
        Ok(())
    }
}
