//! What the server makes of the photo, with its own code and limits.

use splitlyr::configuration::get_configuration;
use splitlyr::images::process::{probe, reencode, Bounds, Picture};

use crate::Result;

/// What the server applies to an avatar (from its configuration when it
/// loads, else the defaults of config/default.toml).
pub(super) struct ServerLimits {
    bounds: Bounds,
    avatar_max_side: u32,
}

pub(super) fn server_limits() -> ServerLimits {
    match get_configuration() {
        Ok(s) => ServerLimits {
            bounds: Bounds {
                max_pixels: s.images.max_pixels,
                max_alloc: u64::from(s.images.decode_memory_mib) << 20,
            },
            avatar_max_side: s.images.avatar_max_side,
        },
        Err(_) => ServerLimits {
            bounds: Bounds {
                max_pixels: 40_000_000,
                max_alloc: 128 << 20,
            },
            avatar_max_side: 512,
        },
    }
}

pub(super) fn server_copy(jpeg: &[u8], limits: &ServerLimits) -> Result<Picture> {
    let probe = probe(jpeg, &limits.bounds).map_err(|e| format!("the server refuses it: {e}"))?;
    Ok(
        reencode(jpeg, &probe, limits.avatar_max_side, &limits.bounds)
            .map_err(|e| format!("the server cannot re-encode it: {e}"))?,
    )
}
