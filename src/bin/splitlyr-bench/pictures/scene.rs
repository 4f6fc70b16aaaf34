//! The photo itself: a landscape without noise, the noise field added to it,
//! and its JPEG encoding at a given noise amplitude.

use image::codecs::jpeg::JpegEncoder;
use image::{ExtendedColorType, ImageEncoder};

use crate::rng::Rng;
use crate::Result;

/// The scene without noise (RGB, 0-255 as f32) and the noise field (about
/// -1..1) that is added to it, scaled.
pub(super) struct Scene {
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

pub(super) fn scene(width: u32, height: u32, seed: u64) -> Scene {
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

pub(super) fn encode(scene: &Scene, amplitude: f32, quality: u8) -> Result<Vec<u8>> {
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
