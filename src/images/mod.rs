//! Pictures: profile photos and receipts, stored once and served by URL.
//!
//! [`process`] turns untrusted bytes into a re-encoded picture; [`input`]
//! gets the bytes out of a request; [`intake`] admits a large body before it
//! is read and bounds how long it may take to arrive; [`Pictures`] is what
//! the routes hold: the limits, the large-body and decoding budgets, the
//! per-user upload limit and the metrics. Storage is `crate::store::images`.

pub mod input;
pub mod intake;
pub mod process;

use std::sync::Arc;
use std::time::Duration;

use mongodb::bson::oid::ObjectId;
use tokio::sync::Semaphore;

use self::intake::{Admission, BodyBudget};
use self::process::{Bounds, Picture, Purpose, Refusal};
use crate::configuration::{ImageSettings, ServerSettings};
use crate::error::ApiError;
use crate::metrics::ImageMetrics;
use crate::ratelimit::KeyedLimit;

const MIB: u64 = 1 << 20;

/// Where pictures are served; what `profileImage` holds for a stored photo.
pub const IMAGE_PATH: &str = "/v1/images/";

pub struct Pictures {
    settings: ImageSettings,
    bounds: Bounds,
    /// Decoding memory, one permit per MiB.
    memory: Arc<Semaphore>,
    /// Decodes at once.
    slots: Arc<Semaphore>,
    /// Per user, on top of the general limit.
    uploads: KeyedLimit<ObjectId>,
    /// Memory for the bodies of uploads being read.
    bodies: BodyBudget,
    /// The limit of bodies that need no admission (`server.body_limit_bytes`).
    small_body: usize,
    metrics: ImageMetrics,
}

impl Pictures {
    pub fn new(
        settings: &ImageSettings,
        server: &ServerSettings,
        limit_uploads: bool,
        metrics: ImageMetrics,
    ) -> Self {
        let budget = u64::from(settings.decode_memory_mib) * MIB;
        Self {
            settings: settings.clone(),
            bounds: Bounds {
                max_pixels: settings.max_pixels,
                max_alloc: budget,
            },
            memory: Arc::new(Semaphore::new(settings.decode_memory_mib as usize)),
            slots: Arc::new(Semaphore::new(settings.decode_concurrency)),
            uploads: KeyedLimit::new(
                "uploads",
                limit_uploads,
                settings.upload_burst,
                settings.upload_period(),
            ),
            bodies: BodyBudget::new(
                server.large_body_memory_mib,
                server.large_body_wait(),
                server.body_read_timeout(),
            ),
            small_body: server.body_limit_bytes,
            metrics,
        }
    }

    pub fn max_upload_bytes(&self) -> usize {
        self.settings.max_upload_bytes
    }

    pub fn quota(&self) -> u64 {
        self.settings.quota_bytes_per_user
    }

    /// The JSON body limit of the one route that takes a photo as a data URI:
    /// the base64 of the largest upload, plus room for the other fields.
    pub fn json_body_limit(&self) -> usize {
        self.settings.max_upload_bytes.div_ceil(3) * 4 + 64 * 1024
    }

    /// The largest body any route takes without an admission.
    pub fn small_body_limit(&self) -> usize {
        self.small_body
    }

    /// The per-user upload limit, checked before anything is decoded.
    pub fn admit(&self, user: ObjectId, purpose: Purpose) -> Result<(), ApiError> {
        self.uploads
            .check(&user)
            .inspect_err(|_| self.count(purpose, "rate_limited"))
    }

    /// Room in the large-body budget for `bytes` (see [`intake`]).
    pub async fn room(&self, purpose: Purpose, bytes: usize) -> Result<Admission, ApiError> {
        self.bodies
            .admit(bytes)
            .await
            .inspect_err(|e| self.count(purpose, outcome_of(e)))
    }

    /// Reads an admitted body within its deadline (408 after it).
    pub async fn read<T>(
        &self,
        purpose: Purpose,
        admission: &Admission,
        reading: impl std::future::Future<Output = Result<T, ApiError>>,
    ) -> Result<T, ApiError> {
        admission
            .read(reading)
            .await
            .inspect_err(|e| self.count(purpose, outcome_of(e)))
    }

    /// Reads a body that needs no admission (a small one) within the same
    /// read timeout, counted from now.
    pub async fn read_small<T>(
        &self,
        reading: impl std::future::Future<Output = Result<T, ApiError>>,
    ) -> Result<T, ApiError> {
        intake::within(self.bodies.deadline(), reading).await
    }

    /// Forgets users who have not uploaded lately (keeps memory bounded).
    pub fn prune(&self) {
        self.uploads.prune();
    }

    /// Checks and re-encodes an upload: the header is read here, then the
    /// upload waits for its share of the decoding memory and a slot, and is
    /// decoded on a blocking thread.
    pub async fn prepare(&self, bytes: Vec<u8>, purpose: Purpose) -> Result<Picture, ApiError> {
        let result = self.decode(bytes, purpose).await;
        if let Err(e) = &result {
            self.count(purpose, outcome_of(e));
        }
        result
    }

    async fn decode(&self, bytes: Vec<u8>, purpose: Purpose) -> Result<Picture, ApiError> {
        let probe = process::probe(&bytes, &self.bounds).map_err(refused)?;
        // At most the whole budget (the probe refuses more).
        let needed = probe.peak_bytes().div_ceil(MIB).max(1);
        let memory = self
            .memory
            .clone()
            .acquire_many_owned(u32::try_from(needed).unwrap_or(u32::MAX))
            .await
            .map_err(ApiError::internal)?;
        let slot = self
            .slots
            .clone()
            .acquire_owned()
            .await
            .map_err(ApiError::internal)?;
        let max_side = match purpose {
            Purpose::Avatar => self.settings.avatar_max_side,
            Purpose::Receipt => self.settings.receipt_max_side,
        };
        let bounds = self.bounds;
        let timer = self
            .metrics
            .decode_seconds
            .with_label_values(&[purpose.code()])
            .start_timer();
        let picture = tokio::task::spawn_blocking(move || {
            let _held = (memory, slot);
            process::reencode(&bytes, &probe, max_side, &bounds)
        })
        .await
        .map_err(ApiError::internal)?
        .map_err(refused)?;
        timer.observe_duration();
        Ok(picture)
    }

    /// Counts a picture that was stored.
    pub fn stored(&self, purpose: Purpose, size: usize) {
        self.count(purpose, "stored");
        self.metrics
            .stored_bytes
            .with_label_values(&[purpose.code()])
            .inc_by(size as u64);
    }

    /// Counts an upload refused after decoding (over quota, or an error).
    pub fn failed(&self, purpose: Purpose, error: &ApiError) {
        self.count(purpose, outcome_of(error));
    }

    pub fn swept(&self, files: u64) {
        self.metrics.swept_files.inc_by(files);
    }

    pub fn sweep_interval(&self) -> Duration {
        self.settings.sweep_interval()
    }

    fn count(&self, purpose: Purpose, outcome: &str) {
        self.metrics
            .uploads
            .with_label_values(&[purpose.code(), outcome])
            .inc();
    }
}

fn refused(r: Refusal) -> ApiError {
    match r {
        Refusal::Undecodable(_) => ApiError::bad_request(r.to_string()),
        Refusal::Unsupported(m) => ApiError::UnsupportedMedia(m),
        Refusal::TooLarge(m) => ApiError::too_large(m),
    }
}

fn outcome_of(e: &ApiError) -> &'static str {
    match e {
        ApiError::TooLarge {
            code: Some("QUOTA_EXCEEDED"),
            ..
        } => "over_quota",
        ApiError::TooLarge { .. } | ApiError::PayloadTooLarge => "too_large",
        ApiError::UnsupportedMedia(_) => "unsupported",
        ApiError::BadRequest(_) | ApiError::Validation { .. } => "refused",
        ApiError::Throttled { .. } => "rate_limited",
        ApiError::Busy { .. } => "busy",
        ApiError::BodyTimeout => "timed_out",
        _ => "error",
    }
}
