//! `picture`: the photo the picture scenarios upload, and `rss-watch`: the
//! server's resident memory sampled while they run.
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

use std::fmt::Write as _;
use std::io::Write as _;
use std::time::{Duration, Instant};

use image::codecs::jpeg::JpegEncoder;
use image::{ExtendedColorType, ImageEncoder};
use serde_json::json;
use splitlyr::configuration::get_configuration;
use splitlyr::images::process::{probe, reencode, Bounds, Picture};

use crate::args::{PictureArgs, RssWatchArgs};
use crate::dataset::Rng;
use crate::{round3, Result};

/// What the server applies to an avatar (from its configuration when it
/// loads, else the defaults of config/default.toml).
struct ServerLimits {
    bounds: Bounds,
    avatar_max_side: u32,
}

fn server_limits() -> ServerLimits {
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

/// The scene without noise (RGB, 0-255 as f32) and the noise field (about
/// -1..1) that is added to it, scaled.
struct Scene {
    width: u32,
    height: u32,
    base: Vec<[f32; 3]>,
    noise: Vec<f32>,
    /// How much noise each pixel takes (the ground more than the sky).
    weight: Vec<f32>,
}

fn mix(a: [f32; 3], b: [f32; 3], t: f32) -> [f32; 3] {
    let t = t.clamp(0.0, 1.0);
    [
        a[0] + (b[0] - a[0]) * t,
        a[1] + (b[1] - a[1]) * t,
        a[2] + (b[2] - a[2]) * t,
    ]
}

fn scene(width: u32, height: u32, seed: u64) -> Scene {
    let (w, h) = (width as usize, height as usize);
    let mut rng = Rng::new(seed ^ 0x0050_4807_0000);
    // Value noise on an 8-pixel lattice (texture), bilinearly interpolated.
    const CELL: usize = 8;
    let (cw, ch) = (w / CELL + 2, h / CELL + 2);
    let lattice: Vec<f32> = (0..cw * ch)
        .map(|_| rng.unit() as f32 * 2.0 - 1.0)
        .collect();
    let mut base = Vec::with_capacity(w * h);
    let mut noise = Vec::with_capacity(w * h);
    let mut weight = Vec::with_capacity(w * h);
    let sky_top = [62.0, 118.0, 196.0];
    let sky_low = [196.0, 214.0, 232.0];
    let sun = [255.0, 226.0, 170.0];
    let hill_near = [58.0, 96.0, 40.0];
    let hill_far = [110.0, 136.0, 92.0];
    let field = [176.0, 150.0, 84.0];
    for y in 0..h {
        let v = y as f32 / h as f32;
        for x in 0..w {
            let u = x as f32 / w as f32;
            let horizon = 0.55 + 0.05 * (6.0 * u).sin() + 0.02 * (17.0 * u + 1.0).sin();
            let pixel = if v < horizon {
                let sky = mix(sky_top, sky_low, v / horizon);
                let d = ((u - 0.72).powi(2) + (v - 0.22).powi(2) * 1.8).sqrt();
                let glow = (1.0 - d / 0.35).max(0.0).powi(2);
                weight.push(0.35);
                mix(sky, sun, glow)
            } else {
                let depth = (v - horizon) / (1.0 - horizon).max(1e-3);
                let ground = mix(hill_far, hill_near, depth);
                // Fields: soft stripes that get wider towards the viewer.
                let stripe = (0.5 + 0.5 * (u * 40.0 / (0.3 + depth) + 3.0 * v).sin()).powi(3);
                weight.push(1.0);
                mix(ground, field, 0.45 * stripe)
            };
            base.push(pixel);
            let (cx, cy) = (x / CELL, y / CELL);
            let (fx, fy) = (
                (x % CELL) as f32 / CELL as f32,
                (y % CELL) as f32 / CELL as f32,
            );
            let at = |i: usize, j: usize| lattice[j * cw + i];
            let smooth = at(cx, cy) * (1.0 - fx) * (1.0 - fy)
                + at(cx + 1, cy) * fx * (1.0 - fy)
                + at(cx, cy + 1) * (1.0 - fx) * fy
                + at(cx + 1, cy + 1) * fx * fy;
            let grain = rng.unit() as f32 * 2.0 - 1.0;
            noise.push(0.6 * smooth + 0.4 * grain);
        }
    }
    Scene {
        width,
        height,
        base,
        noise,
        weight,
    }
}

fn encode(scene: &Scene, amplitude: f32, quality: u8) -> Result<Vec<u8>> {
    let mut rgb = Vec::with_capacity(scene.base.len() * 3);
    for ((p, n), k) in scene.base.iter().zip(&scene.noise).zip(&scene.weight) {
        let d = n * k * amplitude;
        for c in p {
            rgb.push((c + d).round().clamp(0.0, 255.0) as u8);
        }
    }
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, quality).write_image(
        &rgb,
        scene.width,
        scene.height,
        ExtendedColorType::Rgb8,
    )?;
    Ok(out)
}

/// Byte offsets (0-based) of the 64 entries of each 8-bit quantization
/// table, in zigzag order, by table id.
fn quant_tables(jpeg: &[u8]) -> Result<Vec<(u8, usize)>> {
    let mut tables = Vec::new();
    let mut at = 2;
    while at + 4 <= jpeg.len() {
        if jpeg[at] != 0xFF {
            return Err(format!("JPEG: no marker at byte {at}").into());
        }
        let marker = jpeg[at + 1];
        let len = usize::from(u16::from_be_bytes([jpeg[at + 2], jpeg[at + 3]]));
        if marker == 0xDA {
            break; // start of scan: the tables come before it
        }
        if marker == 0xDB {
            let end = at + 2 + len;
            let mut t = at + 4;
            while t < end {
                let (precision, id) = (jpeg[t] >> 4, jpeg[t] & 0x0F);
                if precision != 0 {
                    return Err("JPEG: 16-bit quantization table".into());
                }
                tables.push((id, t + 1));
                t += 65;
            }
        }
        at += 2 + len;
    }
    if tables.is_empty() {
        return Err("JPEG: no quantization table".into());
    }
    Ok(tables)
}

fn patched(jpeg: &[u8], slots: &[usize], bits: u64) -> Vec<u8> {
    let mut out = jpeg.to_vec();
    for (k, &at) in slots.iter().enumerate() {
        out[at] += ((bits >> k) & 1) as u8;
    }
    out
}

fn server_copy(jpeg: &[u8], limits: &ServerLimits) -> Result<Picture> {
    let probe = probe(jpeg, &limits.bounds).map_err(|e| format!("the server refuses it: {e}"))?;
    Ok(
        reencode(jpeg, &probe, limits.avatar_max_side, &limits.bounds)
            .map_err(|e| format!("the server cannot re-encode it: {e}"))?,
    )
}

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

/// A field of /proc/<pid>/status, in kB.
pub(crate) fn status_kb(pid: u32, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
}

/// Samples a process's VmRSS every `--interval-ms` until `--stop-file`
/// exists (or the process ends, or `--max-seconds` pass), then writes the
/// largest and the mean to `--out` as JSON; with `--series FILE`, every
/// sample too (milliseconds since the start, then kB, a line each).
pub(crate) fn rss_watch(args: &RssWatchArgs) -> Result<()> {
    let (pid, out, stop) = (args.pid, &args.out, &args.stop_file);
    let interval = Duration::from_millis(args.interval_ms);
    let max = Duration::from_secs_f64(args.max_seconds);
    let mut series = match &args.series {
        Some(path) => Some(std::io::BufWriter::new(std::fs::File::create(path)?)),
        None => None,
    };
    let started = Instant::now();
    let first = status_kb(pid, "VmRSS").ok_or_else(|| format!("no process {pid}"))?;
    let (mut samples, mut sum, mut peak, mut last) = (0u64, 0u64, 0u64, first);
    let mut peak_at = 0.0;
    let mut ended = false;
    loop {
        match status_kb(pid, "VmRSS") {
            Some(kb) => {
                if let Some(out) = series.as_mut() {
                    writeln!(out, "{}\t{kb}", started.elapsed().as_millis())?;
                }
                samples += 1;
                sum += kb;
                last = kb;
                if kb > peak {
                    peak = kb;
                    peak_at = started.elapsed().as_secs_f64();
                }
            }
            None => {
                ended = true;
                break;
            }
        }
        if stop.exists() || started.elapsed() >= max {
            break;
        }
        std::thread::sleep(interval);
    }
    if let Some(mut out) = series {
        out.flush()?;
    }
    let mib = |kb: u64| round3(kb as f64 / 1024.0);
    let summary = json!({
        "pid": pid,
        "interval_ms": interval.as_millis() as u64,
        "seconds": round3(started.elapsed().as_secs_f64()),
        "samples": samples,
        "first_mib": mib(first),
        "last_mib": mib(last),
        "max_mib": mib(peak),
        "max_at_s": round3(peak_at),
        "mean_mib": mib(sum.checked_div(samples).unwrap_or(0)),
        // The kernel's high-water mark of the whole process so far: an upper
        // bound of what sampling could miss between two samples.
        "hwm_mib": status_kb(pid, "VmHWM").map(mib),
        "process_ended": ended,
    });
    std::fs::write(out, summary.to_string() + "\n")?;
    Ok(())
}
