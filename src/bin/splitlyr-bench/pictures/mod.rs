//! `picture`: the photo the picture scenarios upload (`rss-watch`, in
//! [`crate::rss`], samples the server's resident memory while they run).
//!
//! The photo is generated, not shipped: a landscape of smooth gradients with
//! texture and seeded noise, whose noise is scaled until the JPEG (at the
//! given quality) is as large as asked (300 KB by default), like a phone photo
//! a client has already shrunk. The same seed gives the same bytes.
//!
//! Every upload of the benchmark must be a new picture: the server stores
//! each distinct content once, so uploading the same bytes again would only
//! add a reference to the stored copy and skip the storage write. The wrk
//! script therefore patches the photo per request: some entries of the
//! JPEG's luminance quantization table (in its DQT segment) are raised by 0
//! or 1 according to the bits of a per-request number. Each such entry
//! changes how every block's coefficient is scaled back, so the decoded
//! pixels, and the server's re-encoding of them, differ. The entries used
//! are the ones checked here to change the server's re-encoding, each on
//! its own, with the server's own code (`splitlyr::images::process`).
//!
//! `scene` draws and encodes the photo, `variants` finds and patches the
//! quantization-table entries, `server` runs the server's own processing.

use std::fmt::Write as _;
use std::time::Instant;

use serde_json::json;

use crate::args::PictureArgs;
use crate::rng::Rng;
use crate::{round3, Result};

mod scene;
mod server;
mod variants;

use scene::{encode, scene};
use server::{server_copy, server_limits};
use variants::{patched, quant_tables};

pub(crate) fn picture(args: &PictureArgs) -> Result<()> {
    let out = &args.out;
    let (width, height, quality) = (args.width, args.height, args.quality);
    let (target_kb, seed) = (args.target_kb, args.seed);
    let (wanted_slots, copies) = (args.slots, args.copies);
    if !(1..=100).contains(&quality) || width == 0 || height == 0 || target_kb <= 0.0 {
        return Err("--quality 1-100, --width, --height and --target-kb positive".into());
    }
    if !(1..=40).contains(&wanted_slots) {
        return Err("--slots must be 1-40".into());
    }
    if copies >= 1 << wanted_slots.min(20) {
        return Err("--copies: more than the variants of --slots".into());
    }
    let started = Instant::now();
    let target = target_kb * 1000.0;
    let scene = scene(width, height, seed);

    // The noise amplitude that gives the size asked for (bisection: more
    // noise, larger JPEG), within 2%.
    let (mut lo, mut hi) = (0.0f32, 96.0f32);
    let mut best: Option<(f32, Vec<u8>)> = None;
    for _ in 0..16 {
        let amplitude = (lo + hi) / 2.0;
        let jpeg = encode(&scene, amplitude, quality)?;
        let size = jpeg.len() as f64;
        let closer = best
            .as_ref()
            .is_none_or(|(_, b)| (size - target).abs() < (b.len() as f64 - target).abs());
        if size < target {
            lo = amplitude;
        } else {
            hi = amplitude;
        }
        if closer {
            best = Some((amplitude, jpeg));
        }
        if (size - target).abs() <= target * 0.02 {
            break;
        }
    }
    let (amplitude, jpeg) = best.ok_or("no JPEG encoded")?;

    // The server must take it, and re-encode every patched variant to
    // different bytes.
    let limits = server_limits();
    let t0 = Instant::now();
    let original = server_copy(&jpeg, &limits)?;
    let reencode_ms = t0.elapsed().as_secs_f64() * 1000.0;
    let luma = quant_tables(&jpeg)?
        .into_iter()
        .find(|&(id, _)| id == 0)
        .map(|(_, at)| at)
        .ok_or("JPEG: no luminance quantization table")?;
    let mut slots = Vec::new();
    let mut rejected = 0;
    // Zigzag order: the lowest frequencies first, which nearly every block uses.
    for k in 1..64 {
        if slots.len() == wanted_slots {
            break;
        }
        let at = luma + k;
        if jpeg[at] == u8::MAX {
            continue;
        }
        let copy = server_copy(&patched(&jpeg, &[at], 1), &limits)?;
        if copy.bytes != original.bytes {
            slots.push(at);
        } else {
            rejected += 1;
        }
    }
    if slots.len() < wanted_slots {
        return Err(format!(
            "only {} quantization entries change the server's copy ({} wanted)",
            slots.len(),
            wanted_slots
        )
        .into());
    }
    // A few combinations of several bits, as the wrk script makes them.
    let mut rng = Rng::new(seed ^ 0xC0DE);
    let mut seen = std::collections::HashSet::new();
    seen.insert(original.bytes.clone());
    let combos = 6;
    for _ in 0..combos {
        let bits = rng.next_u64() & ((1u64 << slots.len()) - 1);
        let copy = server_copy(&patched(&jpeg, &slots, bits), &limits)?;
        if !seen.insert(copy.bytes) {
            return Err(
                format!("two variants re-encode to the same bytes (bits {bits:#x})").into(),
            );
        }
    }

    std::fs::create_dir_all(out)?;
    let path = out.join("photo.jpg");
    std::fs::write(&path, &jpeg)?;
    let path = std::fs::canonicalize(&path)?;
    // Distinct variants as files, for uploads outside wrk (the photos the
    // GET scenarios read): the highest variant numbers, counting down.
    let top = (1u64 << slots.len()) - 1;
    for i in 0..copies {
        std::fs::write(
            out.join(format!("photo-{:02}.jpg", i + 1)),
            patched(&jpeg, &slots, top - i as u64),
        )?;
    }
    let mut lua = String::from(
        "-- Generated by `splitlyr-bench picture`: the photo that image_upload sends,\n\
         -- and the quantization-table bytes it raises by 0 or 1 per request.\n\
         return {\n",
    );
    let _ = writeln!(lua, "path = {:?},", path.display().to_string());
    let _ = writeln!(lua, "size = {},", jpeg.len());
    lua.push_str("slots = {");
    for &at in &slots {
        // Lua strings are 1-based.
        let _ = write!(lua, "{{offset={},base={}}},", at + 1, jpeg[at]);
    }
    lua.push_str("},\n}\n");
    std::fs::write(out.join("upload.lua"), lua)?;

    let summary = json!({
        "path": path,
        "bytes": jpeg.len(),
        "kb": round3(jpeg.len() as f64 / 1000.0),
        "width": width,
        "height": height,
        "quality": quality,
        "seed": seed,
        "noise_amplitude": round3(f64::from(amplitude)),
        "server_copy": {
            "bytes": original.bytes.len(),
            "width": original.width,
            "height": original.height,
            "content_type": original.content_type,
            // One decode, shrink and encode in this process (no contention).
            "reencode_ms": round3(reencode_ms),
        },
        "variant_slots": slots.len(),
        "variant_slots_rejected": rejected,
        "variants_checked": slots.len() + combos,
        "copies": copies,
        "generate_s": round3(started.elapsed().as_secs_f64()),
    });
    if args.json {
        println!("{summary}");
    } else {
        println!(
            "{} ({} bytes, {width}×{height}, JPEG quality {quality}); the server stores it as {}×{} in {} bytes",
            path.display(),
            jpeg.len(),
            original.width,
            original.height,
            original.bytes.len()
        );
    }
    Ok(())
}
